"""Contrastive-divergence training speed: tfrbm against its peers, side by side in one run.

Measures one epoch of training on real MNIST (60,000 examples, stochastically binarized once
with a fixed seed) for

* tfrbm ``RBMModel.fit`` with CD-1, PCD-1 and CD-10 (default compile: the fast path);
* ``tfrbm-cd1-bf16`` / ``tfrbm-pcd1-bf16``: the same with ``matmul_dtype="bfloat16"`` (products in
  bfloat16 with float32 accumulation; float32 weights, sampling and update);
* ``tfrbm-plain-cd1``: the same model compiled with ``steps_per_execution=1`` (the fast path,
  ``steps_per_execution="auto"``, off), to show what the fast path buys;
* scikit-learn ``BernoulliRBM`` (PCD-1, numpy BLAS) on float32 input, same hidden size, batch
  size and learning rate;
* learnergy 2.0.2 ``RBM`` (CD-1, PyTorch on CPU), same sizes and learning rate, no momentum;
* ``naive-tf``: a plain TF2 CD-1 step under ``tf.function`` (three matmuls + two outer products,
  ``tf.random.uniform`` sampling, data already a tensor).

Every implementation lives in its own worker process (``--same-process`` puts them all in this
one), so that no library's idle thread pool steals the cores while another library's epoch is
timed. The numpy-based peers (scikit-learn, learnergy's torch) run with ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` removed from their worker's environment (native kernels, as a user's numpy
runs); the BLAS kernel each worker loaded (threadpoolctl) is printed beside its result. Each is
warmed up first (tracing, first-call allocation); then each repeat runs one full epoch of every
implementation in turn (the order rotates each repeat), so the machine's background load hits all
of them alike. Figures are medians over repeats; the timing is taken inside the worker around the
epoch. The load average (as ``uptime`` prints it) is recorded at the start and the end.

Limits ("of limit"): the matmul limit at the B x 784 x H product shape, per dtype: for float32 the
best of numpy sgemm (native kernels) and a TF chain of dependent products, for bfloat16 the TF
chain (numpy has no bfloat16 gemm); measured in their own workers (benchmarks/harness.py).

Flops per example: 10 V H for CD-1 (v W, h W^T, v1 W, and the two <v h> statistics) plus 4 V H per
extra Gibbs step; the same nominal count is used for every implementation (sklearn's PCD-1 and
tfrbm's PCD-1 do about the same work).

Usage:
    python benchmarks/bench_cd.py                       # batch 100, hidden 500 (the headline)
    python benchmarks/bench_cd.py --grid                # batch 20/100/1000 x hidden 100/500/2000
    python benchmarks/bench_cd.py --batch 1000 --hidden 500 --impls tfrbm-cd1,sklearn
    python benchmarks/bench_cd.py --examples 20000 --repeats 5 --json /tmp/cd.json
    python benchmarks/bench_cd.py --device /GPU:0      # TF sides on a GPU (tf.device)
"""
import argparse
import logging
import os
import time

from harness import (Worker, binarized_mnist, blas_kernels, cpu_seconds, kernel_tag,  # before TF
                     limit_gflops, peak_references, print_peaks, uptime_line, write_json)
import numpy as np

ALL_IMPLS = ("tfrbm-cd1", "tfrbm-pcd1", "tfrbm-cd10", "tfrbm-plain-cd1", "tfrbm-cd1-bf16",
             "tfrbm-pcd1-bf16", "sklearn", "learnergy", "naive-tf")
DEFAULT_IMPLS = ("tfrbm-cd1", "tfrbm-pcd1", "tfrbm-cd10", "tfrbm-plain-cd1", "tfrbm-cd1-bf16",
                 "tfrbm-pcd1-bf16", "sklearn", "learnergy", "naive-tf")
#: peers that use numpy/torch BLAS: their workers get native kernels
NUMPY_PEERS = ("sklearn", "learnergy")
N_VISIBLE = 784
_SHORT = {"float32": "fp32", "bfloat16": "bf16"}


def flops_per_example(n_visible, n_hidden, k=1):
    """Nominal CD-k flops per training example: 10 V H + 4 V H (k - 1)."""
    return 10 * n_visible * n_hidden + 4 * n_visible * n_hidden * (k - 1)


def load_binarized_mnist(n_examples, data_dir=None, seed=0):
    """The first ``n_examples`` MNIST training images as float32 {0, 1}, binarized once: pixel =
    1 w.p. its intensity (float32 draws, numpy ``default_rng(seed)``)."""
    return binarized_mnist("train", n_examples, seed=seed, data_dir=data_dir, draw_dtype="float32")


def median_time(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------------------- implementations
class Runner:
    """One implementation at one (batch, hidden) size: ``warmup()`` then timed ``epoch()`` calls."""

    name = "runner"
    k = 1
    dtype = "float32"

    def __init__(self, x, batch, hidden, lr):
        self.x, self.batch, self.hidden, self.lr = x, batch, hidden, lr

    def warmup(self):
        pass

    def epoch(self):
        raise NotImplementedError


class TfrbmRunner(Runner):
    def __init__(self, x, batch, hidden, lr, k=1, persistent=False, fast=True, name="tfrbm",
                 matmul_dtype="float32"):
        super().__init__(x, batch, hidden, lr)
        import keras
        from tfrbm.layers import RBMLayer
        from tfrbm.models.rbm import RBMModel
        self.name, self.k, self.dtype = name, k, matmul_dtype
        self.model = RBMModel(RBMLayer(hidden), cd_k=k, persistent=persistent,
                              n_chains=batch, seed=1, matmul_dtype=matmul_dtype)
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
    if name == "tfrbm-cd1-bf16":
        return TfrbmRunner(x, batch, hidden, lr, k=1, name=name, matmul_dtype="bfloat16")
    if name == "tfrbm-pcd1-bf16":
        return TfrbmRunner(x, batch, hidden, lr, k=1, persistent=True, name=name,
                           matmul_dtype="bfloat16")
    if name == "sklearn":
        return SklearnRunner(x, batch, hidden, lr)
    if name == "learnergy":
        return LearnergyRunner(x, batch, hidden, lr)
    if name == "naive-tf":
        return NaiveTfRunner(x, batch, hidden, lr)
    raise ValueError(f"unknown implementation {name!r}; choose from {', '.join(ALL_IMPLS)}")


# ---------------------------------------------------------------------------- driver
def worker_runner(name, n_examples, data_dir, batch, hidden, lr):
    """Factory run inside a worker process: the data and one warmed-up implementation."""
    x = load_binarized_mnist(n_examples, data_dir)
    return make_runner(name, x, batch, hidden, lr)


class _InProcess:
    """An implementation run in this process (``--same-process``)."""

    def __init__(self, name, x, batch, hidden, lr):
        self.runner = make_runner(name, x, batch, hidden, lr)
        self.runner.warmup()
        self.name, self.k, self.dtype = self.runner.name, self.runner.k, self.runner.dtype
        self.blas = blas_kernels()
        self.placed_on = None

    def epoch(self):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        self.runner.epoch()
        return time.perf_counter() - start, cpu_seconds() - cpu_start

    def close(self):
        self.runner = None


class _Isolated:
    """An implementation in its own worker process (the default); numpy peers get native BLAS."""

    def __init__(self, name, n_examples, data_dir, batch, hidden, lr, device=None):
        self.worker = Worker("bench_cd:worker_runner", name, n_examples, data_dir, batch, hidden,
                             lr, native_blas=name in NUMPY_PEERS,
                             device=None if name in NUMPY_PEERS else device)
        self.name, self.k, self.blas = name, self.worker.k, self.worker.blas
        self.placed_on = self.worker.placed_on
        self.dtype = "bfloat16" if name.endswith("-bf16") else "float32"

    def epoch(self):
        wall, cpu, _ = self.worker.run("epoch")
        return wall, cpu

    def close(self):
        self.worker.close()


def bench_size(x, batch, hidden, impls, repeats, lr, isolate=True, data_dir=None, device=None,
               peaks=None):
    """Time every implementation at one (batch, hidden); fractions of the per-dtype limits."""
    if peaks is None:
        peaks = peak_references([(batch, x.shape[1], hidden)], device=device)
    elif peaks is False:  # --no-peaks: no limit measured, no fractions
        peaks = {"numpy": {}, "tf": {}, "blas": []}
    runners = []
    for name in impls:
        try:
            runners.append(_Isolated(name, len(x), data_dir, batch, hidden, lr, device) if isolate
                           else _InProcess(name, x, batch, hidden, lr))
        except ImportError as err:  # a peer that is not installed is reported, not fatal
            print(f"  skipping {name}: {err}")
    load_start = uptime_line()
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
    shape = (batch, x.shape[1], hidden)
    limits = {dt: limit_gflops(peaks, shape, dt) or None for dt in ("float32", "bfloat16")}
    rows = {}
    for runner in runners:
        t = float(np.median(times[runner.name]))
        eps = n / t
        gflops = eps * flops_per_example(x.shape[1], hidden, runner.k) / 1e9
        rows[runner.name] = {
            "examples_per_s": eps, "gflops": gflops, "dtype": runner.dtype,
            "fraction_of_limit": gflops / limits[runner.dtype] if limits[runner.dtype] else None,
            "epoch_s": [round(v, 3) for v in times[runner.name]],
            "cpu_s_per_1000_examples": 1000 * float(np.median(cpu[runner.name])) / n,
            "k": runner.k, "blas": runner.blas, "placed_on": runner.placed_on}
    return {"batch": batch, "hidden": hidden, "peaks": peaks, "limits_gflops": limits,
            "load_start": load_start, "load_end": uptime_line(), "results": rows}


def print_size(res):
    lim = {k: (f"{v:.1f}" if v else "not measured") for k, v in res["limits_gflops"].items()}
    print(f"\n== batch {res['batch']}, hidden {res['hidden']}: limits at {res['batch']}x{N_VISIBLE}x"
          f"{res['hidden']}: float32 {lim['float32']} GFLOP/s, bfloat16 {lim['bfloat16']}; "
          f"{res['load_start']} at start, {res['load_end']} at end")
    if res["peaks"]["numpy"]:
        print_peaks(res["peaks"])
    rows = res["results"]
    print(f"  {'implementation':<17}{'examples/s':>12}{'GFLOP/s':>10}{'of limit':>10}"
          f"{'cpu s/1k ex':>12}   epoch seconds; BLAS kernel in its process")
    for name, row in rows.items():
        frac = row["fraction_of_limit"]
        frac_s = f"{100 * frac:>6.1f}% {_SHORT[row['dtype']]}" if frac is not None else "      n/a"
        print(f"  {name:<17}{row['examples_per_s']:>12,.0f}{row['gflops']:>10.1f}{frac_s:>10}"
              f"{row['cpu_s_per_1000_examples']:>12.3f}   {row['epoch_s']}; {'; '.join(row['blas'])}"
              + (f"; TF on {row['placed_on']}" if row["placed_on"] else ""))
    peers = [p for p in ("sklearn", "learnergy", "naive-tf") if p in rows]
    for name in ("tfrbm-cd1", "tfrbm-cd1-bf16", "tfrbm-pcd1", "tfrbm-pcd1-bf16", "tfrbm-plain-cd1"):
        if name in rows and peers:
            ratios = ", ".join(
                f"{rows[name]['examples_per_s'] / rows[p]['examples_per_s']:.2f}x {p} "
                f"[{kernel_tag(rows[p]['blas'])}]" for p in peers)
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
    parser.add_argument("--device", default=None,
                        help="TF device for the TF implementations and the TF peak chain, e.g. "
                             "/GPU:0 (default: TF's choice); numpy peers stay on the CPU")
    parser.add_argument("--no-peaks", action="store_true",
                        help="skip the matmul limit measurements (no 'of limit' column)")
    parser.add_argument("--same-process", action="store_true",
                        help="run every implementation in this process (their thread pools then "
                             "compete, and peers keep this process's BLAS environment); default: "
                             "one worker process per implementation")
    args = parser.parse_args(argv)

    batches = [20, 100, 1000] if args.grid else [int(b) for b in args.batch.split(",")]
    hiddens = [100, 500, 2000] if args.grid else [int(h) for h in args.hidden.split(",")]
    impls = [s.strip() for s in args.impls.split(",") if s.strip()]
    for name in impls:
        if name not in ALL_IMPLS:
            parser.error(f"unknown implementation {name!r}; choose from {', '.join(ALL_IMPLS)}")

    x = load_binarized_mnist(args.examples, args.data_dir)
    print(f"MNIST: {x.shape[0]} examples x {x.shape[1]} pixels, stochastically binarized; "
          f"cpu cores visible: {os.cpu_count()}; {uptime_line()}; device {args.device or 'default'}")
    out = {"examples": len(x), "repeats": args.repeats, "lr": args.lr, "device": args.device,
           "isolated_processes": not args.same_process, "load_start": uptime_line(), "sizes": []}
    for batch in batches:
        for hidden in hiddens:
            res = bench_size(x, batch, hidden, impls, args.repeats, args.lr,
                             isolate=not args.same_process, data_dir=args.data_dir,
                             device=args.device, peaks=False if args.no_peaks else None)
            out["sizes"].append(res)
            print_size(res)
    out["load_end"] = uptime_line()
    print(f"\n{out['load_end']} at the end")
    return write_json(args.json, out)


if __name__ == "__main__":
    main()
