"""Contrastive-divergence training speed: tfrbm against its peers, side by side in one process.

Measures one epoch of training on real MNIST (60,000 examples, stochastically binarized once
with a fixed seed) for

* tfrbm ``RBMModel.fit`` with CD-1, PCD-1 and CD-10 (default compile: the fast path);
* ``tfrbm-plain-cd1``: the same model compiled with ``steps_per_execution=1`` (the fast path,
  ``steps_per_execution="auto"``, off), to show what the fast path buys;
* scikit-learn ``BernoulliRBM`` (PCD-1, numpy BLAS) on float32 input, same hidden size, batch
  size and learning rate;
* learnergy 2.0.2 ``RBM`` (CD-1, PyTorch on CPU), same sizes and learning rate, no momentum;
* ``naive-tf``: a plain TF2 CD-1 step under ``tf.function`` (three matmuls + two outer products,
  ``tf.random.uniform`` sampling, data already a tensor);
* numpy's float32 sgemm peak (2048^3 product) and numpy sgemm at the B x V x H shape.

Every implementation lives in its own worker process of this session (``--same-process`` puts
them all in this one), so that no library's idle thread pool (OpenBLAS and OpenMP threads spin
for a while after each call, and so does TF's) steals the cores while another library's epoch
is timed. Each is warmed up first (tracing, first-call allocation); then each repeat runs one
full epoch of every implementation in turn (the order rotates each repeat), so the machine's
background load hits all of them alike. Figures are medians over repeats; the timing is taken
inside the worker around the epoch.

Flops per example: 10 V H for CD-1 (v W, h W^T, v1 W, and the two <v h> statistics) plus 4 V H per
extra Gibbs step; the same nominal count is used for every implementation (sklearn's PCD-1 and
tfrbm's PCD-1 do about the same work).

Usage:
    python benchmarks/bench_cd.py                       # batch 100, hidden 500 (the headline)
    python benchmarks/bench_cd.py --grid                # batch 20/100/1000 x hidden 100/500/2000
    python benchmarks/bench_cd.py --batch 1000 --hidden 500 --impls tfrbm-cd1,sklearn
    python benchmarks/bench_cd.py --examples 20000 --repeats 5 --json /tmp/cd.json
"""
import argparse
import json
import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

ALL_IMPLS = ("tfrbm-cd1", "tfrbm-pcd1", "tfrbm-cd10", "tfrbm-plain-cd1", "sklearn", "learnergy",
             "naive-tf")
DEFAULT_IMPLS = ("tfrbm-cd1", "tfrbm-pcd1", "tfrbm-cd10", "tfrbm-plain-cd1", "sklearn",
                 "learnergy", "naive-tf")
N_VISIBLE = 784


def flops_per_example(n_visible, n_hidden, k=1):
    """Nominal CD-k flops per training example: 10 V H + 4 V H (k - 1)."""
    return 10 * n_visible * n_hidden + 4 * n_visible * n_hidden * (k - 1)


def load_binarized_mnist(n_examples, data_dir=None, seed=0):
    """The MNIST training images as float32 {0, 1}, binarized once: pixel = 1 w.p. its intensity."""
    from tfrbm.data.images import load_mnist
    if data_dir is None:
        data_dir = os.path.join(os.path.dirname(REPO), "shared", "datasets", "mnist")
    x, _ = load_mnist(split="train", data_dir=data_dir)
    x = x[:n_examples]
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def median_time(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _cpu_seconds():
    """User + system CPU seconds used by this process so far (all threads)."""
    t = os.times()
    return t.user + t.system


def sgemm_gflops(m, k, n, repeats=5):
    """numpy float32 matmul speed (GFLOP/s) at shape (m x k) @ (k x n), median of repeats."""
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    t = median_time(lambda: np.matmul(a, b, out=out), repeats)
    return 2.0 * m * k * n / t / 1e9


# ---------------------------------------------------------------------------- implementations
class Runner:
    """One implementation at one (batch, hidden) size: ``warmup()`` then timed ``epoch()`` calls."""

    name = "runner"
    k = 1

    def __init__(self, x, batch, hidden, lr):
        self.x, self.batch, self.hidden, self.lr = x, batch, hidden, lr

    def warmup(self):
        pass

    def epoch(self):
        raise NotImplementedError


class TfrbmRunner(Runner):
    def __init__(self, x, batch, hidden, lr, k=1, persistent=False, fast=True, name="tfrbm"):
        super().__init__(x, batch, hidden, lr)
        import keras
        from tfrbm.layers import RBMLayer
        from tfrbm.models.rbm import RBMModel
        self.name, self.k = name, k
        self.model = RBMModel(RBMLayer(hidden), cd_k=k, persistent=persistent,
                              n_chains=batch, seed=1)
        compile_kwargs = {"optimizer": keras.optimizers.SGD(lr)}
        if not fast:
            compile_kwargs.update(_plain_compile_kwargs(self.model))
        self.model.compile(**compile_kwargs)

    def warmup(self):
        # traces the train function and touches every buffer; a few batches are enough
        self.model.fit(self.x[: 20 * self.batch], batch_size=self.batch, epochs=1, verbose=0)

    def epoch(self):
        self.model.fit(self.x, batch_size=self.batch, epochs=1, verbose=0)


def _plain_compile_kwargs(model):
    """compile() arguments that turn tfrbm's fast path off: one CD step per graph call."""
    return {"steps_per_execution": 1}


class SklearnRunner(Runner):
    name = "sklearn"

    def __init__(self, x, batch, hidden, lr):
        super().__init__(x, batch, hidden, lr)
        from sklearn.neural_network import BernoulliRBM
        self.cls = BernoulliRBM

    def _fit(self, x):
        rbm = self.cls(n_components=self.hidden, learning_rate=self.lr, batch_size=self.batch,
                       n_iter=1, random_state=0, verbose=0)
        rbm.fit(x)
        return rbm

    def warmup(self):
        self._fit(self.x[: 20 * self.batch])

    def epoch(self):
        self._fit(self.x)


class LearnergyRunner(Runner):
    name = "learnergy"

    def __init__(self, x, batch, hidden, lr):
        super().__init__(x, batch, hidden, lr)
        import torch
        from learnergy.models.bernoulli import RBM
        logging.getLogger("learnergy").setLevel(logging.ERROR)
        for name in list(logging.root.manager.loggerDict):
            if name.startswith("learnergy"):
                logging.getLogger(name).setLevel(logging.ERROR)
        torch.manual_seed(0)
        self.torch = torch
        self.rbm = RBM(n_visible=x.shape[1], n_hidden=hidden, steps=1, learning_rate=lr,
                       momentum=0.0, decay=0.0, temperature=1.0, use_gpu=False)
        xt = torch.from_numpy(x)
        self.data = torch.utils.data.TensorDataset(xt, torch.zeros(len(x)))
        n_small = min(len(x), 20 * batch)
        self.small = torch.utils.data.TensorDataset(xt[:n_small], torch.zeros(n_small))

    def warmup(self):
        self.rbm.fit(self.small, batch_size=self.batch, epochs=1)

    def epoch(self):
        self.rbm.fit(self.data, batch_size=self.batch, epochs=1)


class NaiveTfRunner(Runner):
    """The textbook TF2 CD-1 step: what a user writes without tfrbm."""

    name = "naive-tf"

    def __init__(self, x, batch, hidden, lr):
        super().__init__(x, batch, hidden, lr)
        import tensorflow as tf
        self.tf = tf
        n_visible = x.shape[1]
        self.w = tf.Variable(tf.random.normal((n_visible, hidden), stddev=0.01, seed=1))
        self.b = tf.Variable(tf.zeros(n_visible))
        self.c = tf.Variable(tf.zeros(hidden))
        self.xt = tf.constant(x)
        w, b, c = self.w, self.b, self.c

        @tf.function
        def step(v0):
            ph0 = tf.sigmoid(tf.matmul(v0, w) + c)
            h0 = tf.cast(tf.random.uniform(tf.shape(ph0)) < ph0, tf.float32)
            pv1 = tf.sigmoid(tf.matmul(h0, w, transpose_b=True) + b)
            v1 = tf.cast(tf.random.uniform(tf.shape(pv1)) < pv1, tf.float32)
            ph1 = tf.sigmoid(tf.matmul(v1, w) + c)
            n = tf.cast(tf.shape(v0)[0], tf.float32)
            dw = (tf.matmul(v0, ph0, transpose_a=True) - tf.matmul(v1, ph1, transpose_a=True)) / n
            w.assign_add(lr * dw)
            b.assign_add(lr * tf.reduce_mean(v0 - v1, 0))
            c.assign_add(lr * tf.reduce_mean(ph0 - ph1, 0))
        self.step = step

    def _run(self, n):
        for start in range(0, n, self.batch):
            self.step(self.xt[start:start + self.batch])
        self.w.read_value().numpy()  # wait for the last step

    def warmup(self):
        self._run(20 * self.batch)

    def epoch(self):
        self._run(len(self.x))


def make_runner(name, x, batch, hidden, lr):
    if name == "tfrbm-cd1":
        return TfrbmRunner(x, batch, hidden, lr, k=1, name=name)
    if name == "tfrbm-pcd1":
        return TfrbmRunner(x, batch, hidden, lr, k=1, persistent=True, name=name)
    if name == "tfrbm-cd10":
        return TfrbmRunner(x, batch, hidden, lr, k=10, name=name)
    if name == "tfrbm-plain-cd1":
        return TfrbmRunner(x, batch, hidden, lr, k=1, fast=False, name=name)
    if name == "sklearn":
        return SklearnRunner(x, batch, hidden, lr)
    if name == "learnergy":
        return LearnergyRunner(x, batch, hidden, lr)
    if name == "naive-tf":
        return NaiveTfRunner(x, batch, hidden, lr)
    raise ValueError(f"unknown implementation {name!r}; choose from {', '.join(ALL_IMPLS)}")


# ---------------------------------------------------------------------------- driver
class _InProcess:
    """An implementation run in this process (``--same-process``)."""

    def __init__(self, name, x, batch, hidden, lr):
        self.runner = make_runner(name, x, batch, hidden, lr)
        self.runner.warmup()
        self.name, self.k = self.runner.name, self.runner.k

    def epoch(self):
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        self.runner.epoch()
        return time.perf_counter() - start, _cpu_seconds() - cpu_start

    def close(self):
        self.runner = None


def _worker(conn, name, n_examples, data_dir, batch, hidden, lr):
    """Child process: build one implementation, warm it up, then time epochs on request."""
    x = load_binarized_mnist(n_examples, data_dir)
    try:
        runner = make_runner(name, x, batch, hidden, lr)
        runner.warmup()
    except ImportError as err:
        conn.send(("skip", str(err)))
        return
    conn.send(("ready", runner.k))
    while conn.recv() == "epoch":
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        runner.epoch()
        conn.send((time.perf_counter() - start, _cpu_seconds() - cpu_start))


class _Isolated:
    """An implementation in its own process (the default): no library's thread pool (OpenBLAS,
    OpenMP, Eigen) spins on the cores while another library's epoch is being timed."""

    def __init__(self, name, n_examples, data_dir, batch, hidden, lr):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, daemon=True,
                                args=(child, name, n_examples, data_dir, batch, hidden, lr))
        self.proc.start()
        status, value = self.conn.recv()
        if status == "skip":
            self.proc.join()
            raise ImportError(value)
        self.name, self.k = name, value

    def epoch(self):
        self.conn.send("epoch")
        return self.conn.recv()

    def close(self):
        self.conn.send("stop")
        self.proc.join(timeout=60)


def bench_size(x, batch, hidden, impls, repeats, lr, peak, isolate=True, data_dir=None):
    runners = []
    for name in impls:
        try:
            runners.append(_Isolated(name, len(x), data_dir, batch, hidden, lr) if isolate
                           else _InProcess(name, x, batch, hidden, lr))
        except ImportError as err:  # a peer that is not installed is reported, not fatal
            print(f"  skipping {name}: {err}")
    times = {r.name: [] for r in runners}
    cpu = {r.name: [] for r in runners}
    for rep in range(repeats):
        order = runners[rep % len(runners):] + runners[:rep % len(runners)]
        for runner in order:
            wall, cpu_s = runner.epoch()
            times[runner.name].append(wall)
            cpu[runner.name].append(cpu_s)
    for runner in runners:
        runner.close()
    n = len(x)
    shape_gflops = sgemm_gflops(batch, x.shape[1], hidden)
    rows = {}
    for runner in runners:
        t = float(np.median(times[runner.name]))
        eps = n / t
        gflops = eps * flops_per_example(x.shape[1], hidden, runner.k) / 1e9
        rows[runner.name] = {
            "examples_per_s": eps, "gflops": gflops, "fraction_of_peak": gflops / peak,
            "epoch_s": [round(v, 3) for v in times[runner.name]],
            "cpu_s_per_1000_examples": 1000 * float(np.median(cpu[runner.name])) / n,
            "k": runner.k}
    return {"batch": batch, "hidden": hidden, "numpy_sgemm_at_shape_gflops": shape_gflops,
            "results": rows}


def print_size(res, peak):
    print(f"\n== batch {res['batch']}, hidden {res['hidden']} "
          f"(numpy sgemm at {res['batch']}x{N_VISIBLE}x{res['hidden']}: "
          f"{res['numpy_sgemm_at_shape_gflops']:.1f} GFLOP/s; peak {peak:.1f})")
    rows = res["results"]
    print(f"  {'implementation':<17}{'examples/s':>12}{'GFLOP/s':>10}{'of peak':>9}"
          f"{'cpu s/1k ex':>12}   epoch seconds")
    for name, row in rows.items():
        print(f"  {name:<17}{row['examples_per_s']:>12,.0f}{row['gflops']:>10.1f}"
              f"{100 * row['fraction_of_peak']:>8.1f}%{row['cpu_s_per_1000_examples']:>12.3f}"
              f"   {row['epoch_s']}")
    peers = [p for p in ("sklearn", "learnergy", "naive-tf") if p in rows]
    for name in ("tfrbm-cd1", "tfrbm-pcd1", "tfrbm-plain-cd1"):
        if name in rows and peers:
            ratios = ", ".join(f"{rows[name]['examples_per_s'] / rows[p]['examples_per_s']:.2f}x {p}"
                               for p in peers)
            print(f"  {name} speed: {ratios}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", default="100", help="comma-separated batch sizes")
    parser.add_argument("--hidden", default="500", help="comma-separated hidden sizes")
    parser.add_argument("--grid", action="store_true", help="batch 20,100,1000 x hidden 100,500,2000")
    parser.add_argument("--impls", default=",".join(DEFAULT_IMPLS),
                        help=f"comma-separated subset of {','.join(ALL_IMPLS)}")
    parser.add_argument("--examples", type=int, default=60000, help="training examples per epoch")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per implementation")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate (plain SGD)")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--same-process", action="store_true",
                        help="run every implementation in this process (their thread pools then "
                             "compete); default: one worker process per implementation")
    args = parser.parse_args(argv)

    batches = [20, 100, 1000] if args.grid else [int(b) for b in args.batch.split(",")]
    hiddens = [100, 500, 2000] if args.grid else [int(h) for h in args.hidden.split(",")]
    impls = [s.strip() for s in args.impls.split(",") if s.strip()]
    for name in impls:
        if name not in ALL_IMPLS:
            parser.error(f"unknown implementation {name!r}; choose from {', '.join(ALL_IMPLS)}")

    x = load_binarized_mnist(args.examples, args.data_dir)
    print(f"MNIST: {x.shape[0]} examples x {x.shape[1]} pixels, stochastically binarized; "
          f"cpu cores visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")
    peak_before = sgemm_gflops(2048, 2048, 2048)
    out = {"examples": len(x), "repeats": args.repeats, "lr": args.lr,
           "isolated_processes": not args.same_process, "sizes": []}
    for batch in batches:
        for hidden in hiddens:
            res = bench_size(x, batch, hidden, impls, args.repeats, args.lr, peak_before,
                             isolate=not args.same_process, data_dir=args.data_dir)
            out["sizes"].append(res)
            print_size(res, peak_before)
    peak_after = sgemm_gflops(2048, 2048, 2048)
    out["sgemm_peak_gflops"] = {"before": peak_before, "after": peak_after}
    out["load_average_end"] = os.getloadavg()[0]
    print(f"\nnumpy float32 sgemm peak (2048^3): {peak_before:.1f} GFLOP/s before, "
          f"{peak_after:.1f} after; fractions above use the 'before' figure. "
          f"Load average at end: {out['load_average_end']:.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()
