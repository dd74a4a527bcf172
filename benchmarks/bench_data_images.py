"""Image pipeline throughput: how long loading and one epoch of batches take on this machine.

    python benchmarks/bench_data_images.py [--data-dir DIR] [--batch-size 100] [--epochs 2]

Prints load times for MNIST/Fashion-MNIST (IDX .gz) and digits, then the wall time of full
passes over MNIST train with stochastic binarization (the pipeline's overhead per RBM epoch),
and checks that the binarized mean matches the mean intensity.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tfrbm.data import images  # noqa: E402


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    import sklearn.datasets  # noqa: F401
    import tensorflow as tf
    print(f"import tensorflow {tf.__version__} + sklearn: {time.perf_counter() - start:.2f} s")

    for name, split in [("mnist", "train"), ("mnist", "test"), ("fashion_mnist", "train"),
                        ("digits", "all")]:
        (x, y), secs = timed(images.load_images, name, split=split, data_dir=args.data_dir,
                             source="files" if name != "digits" else "auto")
        print(f"load {name}/{split}: {x.shape} in {secs:.2f} s (mean intensity {x.mean():.4f})")

    x, _ = images.load_mnist("train", data_dir=args.data_dir, source="files")
    ds, secs = timed(images.mnist, "train", data_dir=args.data_dir, source="files",
                     batch_size=args.batch_size, seed=0)
    print(f"build mnist train dataset (stochastic, batch {args.batch_size}): {secs:.2f} s")
    for epoch in range(args.epochs):
        start = time.perf_counter()
        total, count = 0.0, 0
        for batch in ds:
            total += float(np.sum(batch))
            count += int(np.prod(batch.shape))
        secs = time.perf_counter() - start
        print(f"epoch {epoch + 1}: {count // 784} images in {secs:.2f} s; "
              f"binarized mean {total / count:.4f} vs intensity mean {x.mean():.4f}")


if __name__ == "__main__":
    main()
