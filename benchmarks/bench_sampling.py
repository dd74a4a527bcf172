"""Sampling speed: tfrbm daydreaming and AIS against a numpy reference loop, each in its own process.

* daydream: ``RBMModel.daydream(n_chains, steps)`` (block Gibbs, all chains in one compiled
  while loop) against the numpy loop
      h = (U < sigmoid(v W + c)); v_mean = sigmoid(h W^T + b); v = (U' < v_mean)
  in float32 with numpy's Generator.
* AIS: ``tfrbm.likelihood.ais.ais_log_weights`` (Salakhutdinov & Murray's schedule, 14,500 betas by
  default) against a numpy loop that does the same per-beta work: x = v W + c, the float64 log
  weight update, h ~ sigmoid(beta x), v ~ sigmoid((1 - beta) b_A + beta (b + h W^T)).

Sides: ``tfrbm`` (float32 products), ``tfrbm-bf16`` (``matmul_dtype="bfloat16"``: the layer's
option for daydream, ``ais_log_weights(matmul_dtype="bfloat16")`` for AIS) and ``numpy``. Each runs
in its own worker process (benchmarks/harness.py); the numpy worker runs with
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` removed from its environment (native kernels) and its
BLAS kernel (threadpoolctl) is printed beside the result. The timing is taken inside the worker.

The model is a 784 x 500 Bernoulli RBM with N(0, 0.05^2) weights and MNIST-like visible biases
(fixed seed); speed does not depend on the weights' values. Every side is warmed up on a short
run; then the timed runs rotate through the sides and the medians are reported. Flops: 4 V H per
chain-step (two matrix products) for all.

Usage:
    python benchmarks/bench_sampling.py                         # the issue's full sizes (long)
    python benchmarks/bench_sampling.py --steps 100 --betas 1450 --repeats 3
    python benchmarks/bench_sampling.py --sides tfrbm,numpy --device /GPU:0
"""
import argparse
import os

from harness import Worker, kernel_tag, uptime_line, write_json  # before TF
import numpy as np

ALL_SIDES = ("tfrbm", "tfrbm-bf16", "numpy")


def make_weights(n_visible=784, n_hidden=500, seed=0):
    """(W, b, c) float32: N(0, 0.05^2) weights, MNIST-like visible biases (numpy only)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.05, (n_visible, n_hidden)).astype(np.float32)
    b = rng.normal(-1.5, 1.0, n_visible).astype(np.float32)
    c = rng.normal(-0.5, 0.1, n_hidden).astype(np.float32)
    return W, b, c


def base_biases(b):
    """A base-rate model a little off the RBM's visible biases (float64)."""
    p = np.clip(_sigmoid(b.astype(np.float64)), 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p)) - 0.5


def make_model(n_visible=784, n_hidden=500, seed=0, matmul_dtype="float32"):
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    W, b, c = make_weights(n_visible, n_hidden, seed)
    model = RBMModel(RBMLayer(n_hidden), seed=seed, matmul_dtype=matmul_dtype)
    model.build((None, n_visible))
    model.layer.kernel.assign(W)
    model.layer.visible_bias.assign(b)
    model.layer.hidden_bias.assign(c)
    return model


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_daydream(W, b, c, n_chains, steps, seed=0):
    """Reference block Gibbs loop in float32 numpy; returns the final visible means."""
    rng = np.random.default_rng(seed)
    v = (rng.random((n_chains, W.shape[0]), dtype=np.float32) < _sigmoid(b)).astype(np.float32)
    v_mean = v
    for _ in range(steps):
        h = (rng.random((n_chains, W.shape[1]), dtype=np.float32) < _sigmoid(v @ W + c)).astype(np.float32)
        v_mean = _sigmoid(h @ W.T + b)
        v = (rng.random(v_mean.shape, dtype=np.float32) < v_mean).astype(np.float32)
    return v_mean


def numpy_ais(W, b, c, b_a, betas, n_runs, seed=0):
    """Reference AIS loop (same work per beta as tfrbm.likelihood.ais); returns the float64 log weights."""
    rng = np.random.default_rng(seed)
    W, b, c, b_a = (np.asarray(a, np.float32) for a in (W, b, c, b_a))
    db = (b.astype(np.float64) - b_a.astype(np.float64))
    v = (rng.random((n_runs, W.shape[0]), dtype=np.float32) < _sigmoid(b_a)).astype(np.float32)
    log_w = np.zeros(n_runs)

    def softplus(z):
        return np.logaddexp(0.0, z)

    for k in range(1, len(betas)):
        beta_prev, beta = betas[k - 1], betas[k]
        x = v @ W + c
        x64, v64 = x.astype(np.float64), v.astype(np.float64)
        log_w += ((beta - beta_prev) * (v64 @ db) + softplus(beta * x64).sum(1)
                  - softplus(beta_prev * x64).sum(1))
        bt = np.float32(beta)
        h = (rng.random(x.shape, dtype=np.float32) < _sigmoid(bt * x)).astype(np.float32)
        a = (1 - bt) * b_a + bt * (b + h @ W.T)
        v = (rng.random(a.shape, dtype=np.float32) < _sigmoid(a)).astype(np.float32)
    return log_w


class TfrbmSide:
    """tfrbm's daydream and AIS (in a worker process)."""

    def __init__(self, hidden, chains, steps, runs, n_betas, matmul_dtype="float32"):
        from tfrbm.likelihood import ais
        self.ais = ais
        self.model = make_model(n_hidden=hidden, matmul_dtype=matmul_dtype)
        self.dtype = matmul_dtype
        self.chains, self.steps, self.runs = chains, steps, runs
        self.betas = ais.make_betas(n_betas)
        self.b_a = base_biases(self.model.layer.visible_bias.numpy())

    def warmup(self):
        self.model.daydream(self.chains, steps=5, seed=1)
        self.ais.ais_log_weights(self.model.layer, n_runs=self.runs, betas=self.ais.make_betas(10),
                                 base_biases=self.b_a, seed=1, matmul_dtype=self.dtype)

    def daydream(self):
        self.model.daydream(self.chains, steps=self.steps, seed=1)

    def ais_run(self):
        log_w, _ = self.ais.ais_log_weights(self.model.layer, n_runs=self.runs, betas=self.betas,
                                            base_biases=self.b_a, seed=1, matmul_dtype=self.dtype)
        return float(np.mean(log_w))


class NumpySide:
    """The numpy reference loops (in a worker process with native BLAS kernels)."""

    def __init__(self, hidden, chains, steps, runs, n_betas):
        self.W, self.b, self.c = make_weights(n_hidden=hidden)
        self.chains, self.steps, self.runs = chains, steps, runs
        self.b_a = base_biases(self.b)
        self.betas = _make_betas(n_betas)

    def warmup(self):
        numpy_daydream(self.W, self.b, self.c, self.chains, 5)
        numpy_ais(self.W, self.b, self.c, self.b_a, _make_betas(10), self.runs)

    def daydream(self):
        numpy_daydream(self.W, self.b, self.c, self.chains, self.steps)

    def ais_run(self):
        return float(np.mean(numpy_ais(self.W, self.b, self.c, self.b_a, self.betas, self.runs)))


def _make_betas(n):
    """tfrbm.likelihood.ais.make_betas without importing TensorFlow (tfrbm.ais imports it)."""
    segments = ((0.5, 500), (0.9, 4000), (1.0, 10000))
    total = sum(s for _, s in segments)
    counts = [max(1, round(n * s / total)) for _, s in segments]
    counts[-1] = max(1, counts[-1] + n - sum(counts))
    parts, start = [np.zeros(1)], 0.0
    for (end, _), count in zip(segments, counts):
        parts.append(np.linspace(start, end, count + 1)[1:])
        start = end
    return np.concatenate(parts)


def side_factory(side, *args):
    """Factory run in a worker process."""
    if side == "numpy":
        return NumpySide(*args)
    return TfrbmSide(*args, matmul_dtype="bfloat16" if side == "tfrbm-bf16" else "float32")


def rotate(workers, task, repeats):
    """Run ``task`` ``repeats`` times on every worker, rotating the order; name -> seconds."""
    times = {name: [] for name in workers}
    names = list(workers)
    for rep in range(repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            wall, _, _ = workers[name].run(task)
            times[name].append(wall)
    return times


def report(title, times, work, unit, flops_per_unit, blas):
    print(f"\n== {title}")
    med = {name: float(np.median(t)) for name, t in times.items()}
    for name, t in med.items():
        rate = work / t
        print(f"  {name:<11} {t:8.3f} s  {rate:12,.0f} {unit}/s  "
              f"{rate * flops_per_unit / 1e9:7.1f} GFLOP/s   runs: {[round(v, 3) for v in times[name]]}"
              f"   BLAS: {'; '.join(blas[name])}")
    ratios = {}
    if "numpy" in med:
        for name, seconds in med.items():
            if name != "numpy":
                ratios[name] = med["numpy"] / seconds
                print(f"  {name} speed-up over numpy [{kernel_tag(blas['numpy'])}]: "
                      f"{ratios[name]:.2f}x")
    return {"seconds": med, "runs": times, "speedup_over_numpy": ratios, "unit": unit,
            "rate": {name: work / t for name, t in med.items()}, "blas": blas}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chains", type=int, default=1000, help="daydream chains")
    parser.add_argument("--steps", type=int, default=1000, help="daydream Gibbs steps")
    parser.add_argument("--runs", type=int, default=100, help="AIS runs")
    parser.add_argument("--betas", type=int, default=14500, help="AIS intermediate distributions")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sides", default=",".join(ALL_SIDES),
                        help=f"comma-separated subset of {','.join(ALL_SIDES)}")
    parser.add_argument("--skip", default="", help="'daydream' or 'ais' to skip one part")
    parser.add_argument("--device", default=None, help="TF device for the tfrbm sides, e.g. /GPU:0")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    for side in sides:
        if side not in ALL_SIDES:
            parser.error(f"unknown side {side!r}; choose from {', '.join(ALL_SIDES)}")

    V, H = 784, args.hidden
    print(f"model {V} x {H}; cpu cores visible: {os.cpu_count()}; {uptime_line()}; "
          f"device {args.device or 'default'}")
    out = {"n_visible": V, "n_hidden": H, "args": vars(args), "load_start": uptime_line()}
    workers = {}
    try:
        for side in sides:
            workers[side] = Worker("bench_sampling:side_factory", side, H, args.chains, args.steps,
                                   args.runs, args.betas, native_blas=side == "numpy",
                                   device=None if side == "numpy" else args.device)
        blas = {name: w.blas for name, w in workers.items()}
        out["placed_on"] = {name: w.placed_on for name, w in workers.items()}
        if args.device:
            print(f"TF work placed on: {out['placed_on']}")
        if "daydream" not in args.skip:
            times = rotate(workers, "daydream", args.repeats)
            out["daydream"] = report(f"daydream: {args.chains} chains x {args.steps} steps", times,
                                     args.chains * args.steps, "chain-steps", 4 * V * H, blas)
        if "ais" not in args.skip:
            times = rotate(workers, "ais_run", args.repeats)
            out["ais"] = report(f"AIS: {args.runs} runs x {args.betas} betas", times,
                                args.runs * args.betas, "run-betas", 4 * V * H, blas)
    finally:
        for w in workers.values():
            w.close()
    out["load_end"] = uptime_line()
    print(f"\n{out['load_start']} at the start, {out['load_end']} at the end")
    return write_json(args.json, out)


if __name__ == "__main__":
    main()
