"""keras-tuner search for an RBM on MNIST: random search over hidden units, learning rate, CD-k,
persistent CD and weight decay, scored by held-out pseudo-log-likelihood. Prints every trial and
the best one, and writes the best model's SavedModel export.

    python benchmarks/bench_tuning.py --data-dir ../shared/datasets --trials 8 --epochs 3 \
        --n-train 10000 --n-val 2000 --out /tmp/bench_tuning
"""
import argparse
import json
import pathlib
import sys
import time

from harness import binarize


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-val", type=int, default=2000)
    p.add_argument("--out", default="/tmp/bench_tuning")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import keras_tuner as kt
    import numpy as np
    from tfrbm.data.images import load_mnist
    from tfrbm import monitors
    from tfrbm.tuning import RBMHyperModel

    x, _ = load_mnist("train", data_dir=args.data_dir)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    x = binarize(np.asarray(x, np.float32), rng)             # one stochastic binarisation
    train, val = x[order[:args.n_train]], x[order[args.n_train:args.n_train + args.n_val]]

    hypermodel = RBMHyperModel(units=(64, 128, 256), learning_rate=(0.01, 0.3), cd_k=(1, 3),
                               persistent=(False, True), weight_decay=(0.0, 1e-4, 1e-3),
                               batch_size=100, seed=args.seed)
    tuner = kt.RandomSearch(hypermodel, objective=hypermodel.get_objective(),
                            max_trials=args.trials, seed=args.seed, directory=args.out,
                            project_name="rbm_mnist", overwrite=True)
    t0 = time.perf_counter()
    tuner.search(train, validation_data=val, epochs=args.epochs)
    seconds = time.perf_counter() - t0
    trials = tuner.oracle.get_best_trials(args.trials)
    print(f"{len(trials)} trials in {seconds:.0f} s (n_train={args.n_train}, epochs={args.epochs})")
    for rank, t in enumerate(trials, 1):
        print(f"{rank:2d}. val PLL {t.score:9.3f}  {json.dumps(t.hyperparameters.values, sort_keys=True)}")
    best = tuner.get_best_models(1)[0]
    val_pll = float(np.mean(monitors.pseudo_log_likelihood(best, val, seed=0)))
    gap = monitors.free_energy_gap(best, train[:len(val)], val)
    path = best.export(pathlib.Path(args.out) / "saved_models" / "rbm_mnist_best")
    print(json.dumps({"best_hyperparameters": trials[0].hyperparameters.values,
                      "best_val_pseudo_log_likelihood": val_pll, "free_energy_gap": gap,
                      "seconds": seconds, "export": str(path)}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
