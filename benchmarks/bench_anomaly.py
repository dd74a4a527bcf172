"""Anomaly scores of an MNIST-trained RBM: ROC AUC of -F(v) for digits against noise and Fashion-MNIST.

Positives: the 10,000 MNIST test digits; negatives: 10,000 uniform-noise images (each pixel 1
with probability 1/2) and the 10,000 Fashion-MNIST test images. All images are binarized once
with numpy.random.default_rng(--seed). The score is RBMModel.score_samples(v) = -F(v) (higher =
more like the training digits), so the AUC is P(score(digit) > score(other)).

    python benchmarks/bench_anomaly.py --model /tmp/rbm_pcd.keras
    python benchmarks/bench_anomaly.py --epochs 5          # trains a 500-unit PCD RBM first
"""
import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="a saved RBMModel (.keras) trained on MNIST")
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)

    import keras
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from tfrbm.data.images import load_fashion_mnist, load_mnist, mnist
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    t0 = time.perf_counter()
    result = {}
    if args.model:
        model = keras.saving.load_model(args.model)
        result["model"] = args.model
    else:
        keras.utils.set_random_seed(args.seed)
        model = RBMModel(RBMLayer(args.hidden), persistent=True, seed=args.seed)
        model.compile(optimizer=keras.optimizers.SGD(0.02, momentum=0.9))
        model.fit(mnist("train", data_dir=args.data_dir, seed=args.seed), epochs=args.epochs, verbose=2)
        result.update(hidden=args.hidden, epochs=args.epochs, training="PCD-1")
    rng = np.random.default_rng(args.seed)
    digits = load_mnist("test", data_dir=args.data_dir)[0]
    fashion = load_fashion_mnist("test", data_dir=args.data_dir)[0]
    digits = (rng.random(digits.shape, dtype=np.float32) < digits).astype(np.float32)
    fashion = (rng.random(fashion.shape, dtype=np.float32) < fashion).astype(np.float32)
    noise = (rng.random(digits.shape, dtype=np.float32) < 0.5).astype(np.float32)
    s_digits = model.score_samples(digits)
    for name, other in (("noise", noise), ("fashion_mnist", fashion)):
        s_other = model.score_samples(other)
        labels = np.r_[np.ones(len(s_digits)), np.zeros(len(s_other))]
        result[f"auc_vs_{name}"] = float(roc_auc_score(labels, np.r_[s_digits, s_other]))
        result[f"mean_free_energy_{name}"] = float(-np.mean(s_other))
    result["mean_free_energy_digits"] = float(-np.mean(s_digits))
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
