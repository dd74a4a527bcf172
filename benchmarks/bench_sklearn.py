"""tfrbm.sklearn.RBMTransformer against scikit-learn's BernoulliRBM, each in a Pipeline with the
same LogisticRegression, on the 8x8 digits and on MNIST, in one run.

Each RBM runs at its library's defaults (what a scikit-learn user writes), with the same hidden
units, epochs and ``random_state``: tfrbm CD-1, batch 20, SGD 0.2 with momentum 0.5;
BernoulliRBM PCD-1, batch 10, learning rate 0.1 (``--batch-size``/``--lr``/``--sklearn-lr``
override). Each side runs in its own process (``--only`` runs one side and prints one JSON
line). The score is test accuracy; the times are the RBM's ``fit`` (wall and CPU seconds of that
process) and the whole pipeline's ``fit``. scikit-learn's process starts without
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (so OpenBLAS picks its own kernel) and reports the BLAS
kernel it uses (threadpoolctl), printed beside each ratio.

    python benchmarks/bench_sklearn.py                          # digits and MNIST, both sides
    python benchmarks/bench_sklearn.py --datasets digits
"""
import argparse
import json
import os
import sys
import time

from harness import (CRIPPLING_BLAS_VARIABLES, blas_kernels, cpu_seconds, kernel_tag, run_side,
                     uptime_line)


def _load(name, mnist_train):
    import numpy as np
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        x, y = load_digits(return_X_y=True)
        x = (x / 16.0).astype(np.float32)
        return train_test_split(x, y, test_size=0.25, random_state=0)
    from tfrbm.data.images import load_mnist
    x_train, y_train = load_mnist("train")
    x_test, y_test = load_mnist("test")
    return x_train[:mnist_train], x_test, y_train[:mnist_train], y_test


def measure_side(side, dataset, args):
    if side == "sklearn":   # also when run alone with --only (before numpy loads OpenBLAS)
        for var in CRIPPLING_BLAS_VARIABLES:
            os.environ.pop(var, None)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    x_train, x_test, y_train, y_test = _load(dataset, args.mnist_train)
    common = {"n_components": args.hidden, "n_iter": args.epochs, "random_state": 0}
    if args.batch_size:
        common["batch_size"] = args.batch_size
    if side == "sklearn":
        from sklearn.neural_network import BernoulliRBM
        if args.sklearn_lr:
            common["learning_rate"] = args.sklearn_lr
        rbm = BernoulliRBM(**common)
    else:
        from tfrbm.sklearn import RBMTransformer
        if args.lr:
            common["learning_rate"] = args.lr
        if args.momentum is not None:
            common["momentum"] = args.momentum
        rbm = RBMTransformer(**common)
        import tensorflow  # noqa: F401  (the import is not part of fit's time)
    settings = {k: v for k, v in rbm.get_params().items()
                if k in ("n_components", "n_iter", "batch_size", "learning_rate", "momentum",
                         "persistent")}
    pipe = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(C=args.C, max_iter=1000))])
    t0, c0 = time.perf_counter(), cpu_seconds()
    rbm.fit(x_train)
    rbm_wall, rbm_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    features = rbm.transform(x_train)
    pipe.named_steps["logistic"].fit(features, y_train)
    total_wall = time.perf_counter() - t0
    accuracy = float(pipe.score(x_test, y_test))
    blas = blas_kernels()
    return {"side": side, "dataset": dataset, "accuracy": accuracy, "settings": settings,
            "rbm_fit_wall_s": round(rbm_wall, 2), "rbm_fit_cpu_s": round(rbm_cpu, 2),
            "pipeline_fit_wall_s": round(total_wall, 2), "blas": blas,
            "n_train": int(len(x_train)), "n_test": int(len(x_test))}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="digits,mnist")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=None,
                   help="both sides' batch size (default: each library's own, 20 and 10)")
    p.add_argument("--lr", type=float, default=None, help="tfrbm SGD learning rate (default 0.2)")
    p.add_argument("--momentum", type=float, default=None, help="tfrbm SGD momentum (default 0.5)")
    p.add_argument("--sklearn-lr", type=float, default=None,
                   help="BernoulliRBM learning rate (default 0.1)")
    p.add_argument("--C", type=float, default=1.0, help="LogisticRegression C (both sides)")
    p.add_argument("--mnist-train", type=int, default=60000)
    p.add_argument("--only", choices=("tfrbm", "sklearn"))
    p.add_argument("--dataset")
    args = p.parse_args(argv)
    if args.only:
        print(json.dumps(measure_side(args.only, args.dataset, args)), flush=True)
        return 0
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    rows = []
    for dataset in args.datasets.split(","):
        for side in ("sklearn", "tfrbm"):
            # native OpenBLAS kernels for the peer, in its process only
            rows.append(run_side(__file__, [*passthrough, "--only", side, "--dataset", dataset],
                                 native_blas=side == "sklearn"))
            print(json.dumps(rows[-1]), flush=True)
        sk, tf_ = rows[-2], rows[-1]
        print(f"{dataset}: accuracy tfrbm {tf_['accuracy']:.4f} vs sklearn {sk['accuracy']:.4f}; "
              f"RBM fit wall {tf_['rbm_fit_wall_s']} s vs {sk['rbm_fit_wall_s']} s "
              f"(sklearn/tfrbm = {sk['rbm_fit_wall_s'] / tf_['rbm_fit_wall_s']:.2f}x), "
              f"CPU {tf_['rbm_fit_cpu_s']} s vs {sk['rbm_fit_cpu_s']} s; "
              f"sklearn BLAS [{kernel_tag(sk['blas'])}] {sk['blas']}; {uptime_line()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
