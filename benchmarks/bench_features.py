"""RBM features + logistic regression on MNIST, tfrbm against scikit-learn's BernoulliRBM.

Both RBMs get the same hidden size (default 1,024) and epochs, train on the 60,000 MNIST
training images and feed p(h | v) to the same scikit-learn LogisticRegression (lbfgs); the
score is test-set accuracy on the 10,000 test images. tfrbm trains on stochastically binarized
images (fresh each epoch) by CD-1; features are computed from the intensities. scikit-learn's
BernoulliRBM (persistent CD, its own algorithm) trains on the intensities.

    python benchmarks/bench_features.py --epochs 10
    python benchmarks/bench_features.py --epochs 10 --only sklearn

yell/boltzmann-machines reports 98.21% with 1,024 hidden units.
"""
import argparse
import json
import sys
import time

from harness import add_options, logreg_accuracy


def _logreg(f_train, y_train, f_test, y_test, cs, n_val=10000):
    """Test accuracy of a logistic regression on the features; with several C values, C is chosen
    on the last ``n_val`` training rows (fit on the rest), then refitted on all training rows.
    Returns (test accuracy, seconds, chosen C, {C: validation accuracy})."""
    t = time.perf_counter()
    val = {}
    if len(cs) > 1:
        for c in cs:
            val[c] = logreg_accuracy(f_train[:-n_val], y_train[:-n_val], f_train[-n_val:],
                                     y_train[-n_val:], c=c)
        best = max(cs, key=lambda c: val[c])
    else:
        best = cs[0]
    acc = logreg_accuracy(f_train, y_train, f_test, y_test, c=best)
    return acc, round(time.perf_counter() - t, 1), best, val


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, hidden=1024, epochs=10, batch_size=100, lr=0.05, momentum=0.5, sklearn_lr=0.05)
    p.add_argument("--C", default="1.0",
                   help="inverse L2 strength of the logistic regression; a comma-separated list "
                        "chooses it on the last 10,000 training images")
    p.add_argument("--only", choices=("tfrbm", "sklearn"), default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)


    from tfrbm.data.images import load_mnist
    x_train, y_train = load_mnist("train", data_dir=args.data_dir)
    x_test, y_test = load_mnist("test", data_dir=args.data_dir)
    cs = [float(c) for c in str(args.C).split(",") if c.strip()]
    if not cs or any(c <= 0 for c in cs):
        p.error(f"--C must be positive numbers, got {args.C!r}")
    common = {"hidden": args.hidden, "epochs": args.epochs, "batch_size": args.batch_size}

    if args.only in (None, "tfrbm"):
        import keras
        from tfrbm.data.images import mnist
        from tfrbm.layers import RBMLayer
        from tfrbm.models.rbm import RBMModel
        keras.utils.set_random_seed(args.seed)
        t = time.perf_counter()
        model = RBMModel(RBMLayer(args.hidden), cd_k=1, weight_decay=1e-4, seed=args.seed)
        model.compile(optimizer=keras.optimizers.SGD(args.lr, momentum=args.momentum))
        model.fit(mnist("train", batch_size=args.batch_size, data_dir=args.data_dir, seed=args.seed),
                  epochs=args.epochs, verbose=2)
        train_s = round(time.perf_counter() - t, 1)
        acc, lr_s, c, val = _logreg(model.hidden_probs(x_train), y_train, model.hidden_probs(x_test),
                                    y_test, cs)
        print(json.dumps({"model": "tfrbm RBMModel CD-1", "lr": args.lr, "momentum": args.momentum,
                          "test_accuracy": acc, "C": c, "validation_accuracy_by_C": val,
                          "rbm_train_s": train_s, "logreg_s": lr_s, **common}), flush=True)

    if args.only in (None, "sklearn"):
        from sklearn.neural_network import BernoulliRBM
        t = time.perf_counter()
        rbm = BernoulliRBM(n_components=args.hidden, n_iter=args.epochs, batch_size=args.batch_size,
                           learning_rate=args.sklearn_lr, random_state=args.seed, verbose=1)
        rbm.fit(x_train)
        train_s = round(time.perf_counter() - t, 1)
        acc, lr_s, c, val = _logreg(rbm.transform(x_train), y_train, rbm.transform(x_test), y_test, cs)
        print(json.dumps({"model": "sklearn BernoulliRBM", "lr": args.sklearn_lr, "test_accuracy": acc,
                          "C": c, "validation_accuracy_by_C": val, "rbm_train_s": train_s,
                          "logreg_s": lr_s, **common}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
