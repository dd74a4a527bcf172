"""Issue 29 benchmarks: each new unit family and the convolutional RBM on real data.

    python benchmarks/bench_units.py variance          # Gaussian-Bernoulli: learned vs unit variance
    python benchmarks/bench_units.py relu              # ReLU (stepped sigmoid) vs Bernoulli features
    python benchmarks/bench_units.py conv --data mnist # ConvRBM features + logistic regression
    python benchmarks/bench_units.py conv --data fashion_mnist

``variance``: standardised 8x8 digits (scikit-learn's, tfrbm.data.Standardizer fitted on the
training split), GB-RBMs of 16 hidden units, whose exact test log-likelihood is computed by
enumerating the 2^16 hidden states (per-pixel density, nats).
``relu`` and ``conv``: RBM features -> scikit-learn LogisticRegression (lbfgs), test accuracy on
the first ``--test`` test images (default all 10,000); ``--train N`` training images (the first N). Each prints JSON lines.
Run with TF_NUM_INTRAOP_THREADS=1 under nice on a shared machine.
"""
import argparse
import time

from harness import add_options, emit, logreg_accuracy


def _emit(**row):
    emit(row)


def _logreg(f_train, y_train, f_test, y_test, c=1.0):
    return logreg_accuracy(f_train, y_train, f_test, y_test, c=c, standardize=True)


def bench_variance(args):
    import keras
    import numpy as np
    import tfrbm
    from tfrbm.data import Standardizer, images
    x_train, _ = images.load_images("digits", split="train")
    x_test, _ = images.load_images("digits", split="test")
    scaler = Standardizer().fit(x_train)
    z_train, z_test = scaler.transform(x_train), scaler.transform(x_test)
    for variance in ("unit", "learned"):
        for seed in range(args.seeds):
            model = tfrbm.RBMModel(tfrbm.RBMLayer(16, visible="gaussian",
                                                  visible_variance=variance), seed=seed)
            model.compile(optimizer=keras.optimizers.SGD(args.lr, momentum=0.9))
            t = time.perf_counter()
            model.fit(z_train, epochs=args.epochs, batch_size=50, verbose=0)
            seconds = time.perf_counter() - t
            ll_test = model.log_likelihood(z_test, method="exact")
            ll_train = model.log_likelihood(z_train, method="exact")
            recon = float(np.mean((model.reconstruct(z_test) - z_test) ** 2))
            _emit(bench="variance", variance=variance, seed=seed, epochs=args.epochs, lr=args.lr,
                  test_ll_per_pixel=ll_test / z_test.shape[1], train_ll_per_pixel=ll_train / 64,
                  test_ll=ll_test, test_recon_mse=recon, seconds=round(seconds, 1))


def _mnist(name, n_train, n_test):
    from tfrbm.data import images
    x_train, y_train = images.load_images(name, split="train")
    x_test, y_test = images.load_images(name, split="test")
    return x_train[:n_train], y_train[:n_train], x_test[:n_test], y_test[:n_test]


def bench_relu(args):
    import keras
    import numpy as np
    import tfrbm
    x_train, y_train, x_test, y_test = _mnist(args.data, args.train, args.test)
    rng = np.random.default_rng(0)
    for hidden in ("bernoulli", "relu"):
        model = tfrbm.RBMModel(tfrbm.RBMLayer(args.hidden, hidden=hidden), seed=0)
        model.compile(optimizer=keras.optimizers.SGD(args.lr, momentum=0.5))
        t = time.perf_counter()
        binary = (rng.random(x_train.shape) < x_train).astype("float32")
        model.fit(binary, epochs=args.epochs, batch_size=100, verbose=0)
        seconds = time.perf_counter() - t
        acc = _logreg(model.hidden_probs(x_train), y_train, model.hidden_probs(x_test), y_test)
        _emit(bench="relu", data=args.data, hidden_units=hidden, n_hidden=args.hidden,
              train=len(x_train), test=len(x_test), epochs=args.epochs, lr=args.lr, test_accuracy=acc,
              train_seconds=round(seconds, 1))


def bench_conv(args):
    import keras
    import numpy as np
    import tfrbm
    x_train, y_train, x_test, y_test = _mnist(args.data, args.train, args.test)
    side = int(np.sqrt(x_train.shape[1]))
    to_images = lambda x: x.reshape(len(x), side, side, 1)  # noqa: E731
    model = tfrbm.RBMModel(tfrbm.ConvRBMLayer(filters=args.filters, kernel_size=args.kernel,
                                              pooling=args.pooling),
                           sparsity_target=0.05, sparsity_cost=args.sparsity, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(args.lr, momentum=0.5))
    t = time.perf_counter()
    model.fit(to_images(x_train), epochs=args.epochs, batch_size=50, verbose=0)
    seconds = time.perf_counter() - t

    def features(x):
        return np.concatenate([model.predict(to_images(x[i:i + 1000]), verbose=0).reshape(
            min(1000, len(x) - i), -1) for i in range(0, len(x), 1000)])
    acc = _logreg(features(x_train), y_train, features(x_test), y_test, c=args.c)
    _emit(bench="conv", data=args.data, filters=args.filters, kernel=args.kernel,
          pooling=args.pooling, train=len(x_train), test=len(x_test), epochs=args.epochs, lr=args.lr,
          test_accuracy=acc, train_seconds=round(seconds, 1))
    if args.dense_hidden:
        dense = tfrbm.RBMModel(tfrbm.RBMLayer(args.dense_hidden), seed=0)
        dense.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
        t = time.perf_counter()
        dense.fit(x_train, epochs=args.epochs, batch_size=50, verbose=0)
        seconds = time.perf_counter() - t
        acc = _logreg(dense.hidden_probs(x_train), y_train, dense.hidden_probs(x_test), y_test,
                      c=args.c)
        _emit(bench="dense", data=args.data, n_hidden=args.dense_hidden, train=len(x_train),
              test=len(x_test),
              epochs=args.epochs, test_accuracy=acc, train_seconds=round(seconds, 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("variance")
    add_options(p, epochs=30, lr=0.005, seeds=2)
    p.set_defaults(func=bench_variance)
    p = sub.add_parser("relu")
    add_options(p, data="mnist", train=10000, test=10000, hidden=256, epochs=5, lr=0.05)
    p.set_defaults(func=bench_relu)
    p = sub.add_parser("conv")
    add_options(p, data="mnist", train=10000, test=10000, filters=24, kernel=7, pooling=2, epochs=2,
                lr=0.1, sparsity=0.5, c=0.1)
    p.add_argument("--dense-hidden", type=int, default=0,
                   help="also train a fully connected RBM of this many hidden units")
    p.set_defaults(func=bench_conv)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
