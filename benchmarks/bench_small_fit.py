"""Small-fit fixed cost (issue 33 item 2): the digits fit, first and later fits, side by side.

The 1,797 x 64 digits of scikit-learn (pixels / 16), 256 hidden units, 10 epochs of batches
of 20, each side in its own process, fits timed one after another in that process (the
import and data loading excluded):

* ``transformer``: ``tfrbm.sklearn.RBMTransformer(random_state=s)`` (its defaults), a fresh
  estimator per fit;
* ``fit``: ``RBMModel(RBMLayer(256), seed=s).fit(x, epochs=10, batch_size=20)`` (RBMModel's
  defaults, centering included), a fresh model per fit;
* ``refit``: one model fitted again and again (``fit`` on the same model);
* ``sklearn``: ``BernoulliRBM(n_components=256, n_iter=10, batch_size=20, random_state=s)``,
  in a process without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` (native kernels), BLAS
  kernel printed.

    nice -n 10 python benchmarks/bench_small_fit.py --fits 4
"""
import argparse
import json
import sys
import time

from harness import blas_kernels, cpu_seconds, kernel_tag, run_side, uptime_line

SIDES = ("sklearn", "transformer", "fit", "refit")


def measure_side(side, fits, epochs, batch_size, hidden):
    import numpy as np
    from sklearn.datasets import load_digits
    x = (load_digits().data / 16.0).astype(np.float32)
    if side == "sklearn":
        from sklearn.neural_network import BernoulliRBM

        def one(i):
            BernoulliRBM(n_components=hidden, n_iter=epochs, batch_size=batch_size,
                         random_state=i).fit(x)
    else:
        import tfrbm
        from tfrbm.sklearn import RBMTransformer
        model = None

        def one(i):
            nonlocal model
            if side == "transformer":
                RBMTransformer(n_components=hidden, n_iter=epochs, batch_size=batch_size,
                               random_state=i).fit(x)
            elif side == "fit" or model is None:
                model = tfrbm.RBMModel(tfrbm.RBMLayer(hidden), seed=i)
                model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0)
            else:
                model.fit(x, epochs=epochs, batch_size=batch_size, verbose=0)
    walls, cpus = [], []
    for i in range(fits):
        w, c = time.perf_counter(), cpu_seconds()
        one(i)
        walls.append(round(time.perf_counter() - w, 3))
        cpus.append(round(cpu_seconds() - c, 3))
    return {"side": side, "wall_s": walls, "cpu_s": cpus, "blas": blas_kernels(),
            "load": uptime_line()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fits", type=int, default=4)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--sides", default=",".join(SIDES))
    p.add_argument("--only", choices=SIDES)
    args = p.parse_args(argv)
    if args.only:
        print(json.dumps(measure_side(args.only, args.fits, args.epochs, args.batch_size,
                                  args.hidden)), flush=True)
        return 0
    rows = {}
    for side in args.sides.split(","):
        # native OpenBLAS kernels for the peer, in its process only
        rows[side] = run_side(__file__, ["--only", side, "--fits", args.fits, "--epochs",
                                         args.epochs, "--batch-size", args.batch_size, "--hidden",
                                         args.hidden], native_blas=side == "sklearn")
        print(json.dumps(rows[side]), flush=True)
    if "sklearn" in rows:
        base = rows["sklearn"]["wall_s"]
        for side, row in rows.items():
            ratios = ", ".join(f"{w / b:.2f}x" for w, b in zip(row["wall_s"], base))
            print(f"{side}: wall {row['wall_s']} s (vs sklearn fit by fit: {ratios})")
        print(f"sklearn BLAS [{kernel_tag(rows['sklearn']['blas'])}] {rows['sklearn']['blas']}")
    print(uptime_line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
