"""Sampling speed: tfrbm daydreaming and AIS against a numpy reference loop, in one process.

* daydream: ``RBMModel.daydream(n_chains, steps)`` (block Gibbs, all chains in one compiled
  while loop) against the numpy loop
      h = (U < sigmoid(v W + c)); v_mean = sigmoid(h W^T + b); v = (U' < v_mean)
  in float32 with numpy's Generator.
* AIS: ``tfrbm.ais.ais_log_weights`` (Salakhutdinov & Murray's schedule, 14,500 betas by
  default) against a numpy loop that does the same per-beta work: x = v W + c, the float64 log
  weight update, h ~ sigmoid(beta x), v ~ sigmoid((1 - beta) b_A + beta (b + h W^T)).

The model is a 784 x 500 Bernoulli RBM with N(0, 0.05^2) weights and MNIST-like visible biases
(fixed seed); speed does not depend on the weights' values. Both sides are warmed up on a short
run; then the timed runs alternate tfrbm / numpy and the medians are reported. Flops: 4 V H per
chain-step (two matrix products) for both.

Usage:
    python benchmarks/bench_sampling.py                         # the issue's full sizes (long)
    python benchmarks/bench_sampling.py --steps 100 --betas 1450 --repeats 3
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def make_model(n_visible=784, n_hidden=500, seed=0):
    import keras
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    rng = np.random.default_rng(seed)
    model = RBMModel(RBMLayer(n_hidden), seed=seed)
    model.build((None, n_visible))
    model.layer.kernel.assign(rng.normal(0, 0.05, (n_visible, n_hidden)).astype(np.float32))
    model.layer.visible_bias.assign(rng.normal(-1.5, 1.0, n_visible).astype(np.float32))
    model.layer.hidden_bias.assign(rng.normal(-0.5, 0.1, n_hidden).astype(np.float32))
    del keras
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
    """Reference AIS loop (same work per beta as tfrbm.ais); returns the float64 log weights."""
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


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(fns, repeats):
    """Run each named function ``repeats`` times, alternating; returns name -> list of seconds."""
    times = {name: [] for name in fns}
    for rep in range(repeats):
        names = list(fns)
        if rep % 2:
            names.reverse()
        for name in names:
            times[name].append(timed(fns[name]))
    return times


def report(title, times, work, unit, flops_per_unit):
    print(f"\n== {title}")
    med = {name: float(np.median(t)) for name, t in times.items()}
    for name, t in med.items():
        rate = work / t
        print(f"  {name:<8} {t:8.3f} s  {rate:12,.0f} {unit}/s  "
              f"{rate * flops_per_unit / 1e9:7.1f} GFLOP/s   runs: {[round(v, 3) for v in times[name]]}")
    ratio = med["numpy"] / med["tfrbm"]
    print(f"  tfrbm speed-up over numpy: {ratio:.2f}x")
    return {"seconds": med, "runs": times, "speedup": ratio, "unit": unit,
            "rate": {name: work / t for name, t in med.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chains", type=int, default=1000, help="daydream chains")
    parser.add_argument("--steps", type=int, default=1000, help="daydream Gibbs steps")
    parser.add_argument("--runs", type=int, default=100, help="AIS runs")
    parser.add_argument("--betas", type=int, default=14500, help="AIS intermediate distributions")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default="", help="'daydream' or 'ais' to skip one part")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    import tensorflow as tf
    from tfrbm import ais
    model = make_model(n_hidden=args.hidden)
    layer = model.layer
    W, b, c = (np.asarray(t.numpy(), np.float32) for t in (layer.kernel, layer.visible_bias,
                                                           layer.hidden_bias))
    V, H = W.shape
    print(f"model {V} x {H}; cpu cores visible: {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}; tf {tf.__version__}")
    out = {"n_visible": V, "n_hidden": H, "args": vars(args)}

    if "daydream" not in args.skip:
        model.daydream(args.chains, steps=5, seed=1)          # trace + warm-up
        numpy_daydream(W, b, c, args.chains, 5)
        times = alternate({
            "tfrbm": lambda: model.daydream(args.chains, steps=args.steps, seed=1),
            "numpy": lambda: numpy_daydream(W, b, c, args.chains, args.steps),
        }, args.repeats)
        out["daydream"] = report(f"daydream: {args.chains} chains x {args.steps} steps", times,
                                 args.chains * args.steps, "chain-steps", 4 * V * H)

    if "ais" not in args.skip:
        betas = ais.make_betas(args.betas)
        b_a = np.log(np.clip(_sigmoid(b), 1e-3, 1 - 1e-3) / (1 - np.clip(_sigmoid(b), 1e-3, 1 - 1e-3)))
        b_a = (b_a - 0.5).astype(np.float64)           # a base-rate model a little off the RBM's
        ais.ais_log_weights(layer, n_runs=args.runs, betas=ais.make_betas(10), base_biases=b_a, seed=1)
        numpy_ais(W, b, c, b_a, ais.make_betas(10), args.runs)
        times = alternate({
            "tfrbm": lambda: ais.ais_log_weights(layer, n_runs=args.runs, betas=betas,
                                                 base_biases=b_a, seed=1),
            "numpy": lambda: numpy_ais(W, b, c, b_a, betas, args.runs),
        }, args.repeats)
        out["ais"] = report(f"AIS: {args.runs} runs x {len(betas) - 1} betas", times,
                            args.runs * (len(betas) - 1), "run-betas", 4 * V * H)
    out["load_average_end"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()
