"""Quality of the bfloat16 matmul path at equal epochs: float32 vs ``matmul_dtype="bfloat16"``.

Trains a 784 x 500 RBM by CD-1 through ``RBMModel.fit`` (default optimizer: SGD 0.05, momentum
0.5; batch 100; seed 1) on the 60,000 MNIST training images binarized once (bench_cd's
binarization: ``harness.binarized_mnist``, float32 draws, seed 0), with the products in the given dtype; then measures, with float32
products for both models (so only the training differs):

* test log-likelihood: mean -F(v) over the 10,000 test images (binarized once, numpy seed 0)
  minus log Z by AIS (100 runs, 14,500 betas, base-rate model of the training images), with the
  +-3 sigma bounds and the effective sample size (sum w)^2 / sum w^2 of the AIS weights;
* the same log Z by AIS with bfloat16 products (how far the bf16 AIS estimate is off);
* test reconstruction error (mean-field, squared error per pixel);
* features + logistic regression: p(h | v) of the intensities, scikit-learn
  LogisticRegression(C=1, max_iter=300) trained on the first ``--lr-train`` training images,
  accuracy on the 10,000 test images.

    python benchmarks/bench_bf16_quality.py --dtype float32 --epochs 5 --json /tmp/q_fp32.json
    python benchmarks/bench_bf16_quality.py --dtype bfloat16 --epochs 5 --json /tmp/q_bf16.json
    python benchmarks/bench_bf16_quality.py --compare /tmp/q_fp32.json /tmp/q_bf16.json
    (--save /tmp/q_bf16.keras keeps the trained model; --load /tmp/q_bf16.keras re-evaluates it)
"""
import argparse
import json
import math
import os
import pathlib
import time

from harness import binarized_mnist, cpu_seconds, logreg_accuracy, write_json  # before TF
import numpy as np


def ais_summary(model, runs, n_betas, base, matmul_dtype, seed=3):
    from tfrbm.likelihood import ais
    log_w, log_z0 = ais.ais_log_weights(model.layer, n_runs=runs, betas=ais.make_betas(n_betas),
                                        base_data=base, seed=seed, matmul_dtype=matmul_dtype)
    res = ais.summarize_log_weights(log_w, log_z0)
    return {"log_z": res.log_z, "log_z_lower": res.log_z_lower, "log_z_upper": res.log_z_upper,
            "ess": res.ess, "runs": runs, "betas": n_betas}


def run(dtype, epochs, runs, n_betas, lr_train, seed=1, save=None, load=None):
    import keras

    from tfrbm.data.images import load_mnist
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    x = binarized_mnist("train", seed=0, draw_dtype="float32")
    x_int, y_train = load_mnist(split="train")
    t_int, y_test = load_mnist(split="test")
    test = binarized_mnist("test", seed=0)

    if load:
        model = keras.models.load_model(load)
        with open(load + ".json") as fh:
            out = json.load(fh)
    else:
        keras.utils.set_random_seed(seed)
        model = RBMModel(RBMLayer(500), seed=seed, matmul_dtype=dtype)
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
        t0, c0 = time.perf_counter(), cpu_seconds()
        hist = model.fit(x, batch_size=100, epochs=epochs, verbose=0)
        out = {"dtype": dtype, "epochs": epochs, "seed": seed, "train_wall_s": time.perf_counter() - t0,
               "train_cpu_s": cpu_seconds() - c0,
               "train_reconstruction_error": hist.history["reconstruction_error"]}
        if save:
            model.save(save)
            with open(save + ".json", "w") as fh:
                json.dump(out, fh)
    model.layer.matmul_dtype = "float32"          # evaluate both models the same way
    recon = model.reconstruct(test)
    out["test_reconstruction_error"] = float(np.mean((test - recon) ** 2))
    mean_neg_f = float(np.mean(-model.free_energy(test).astype(np.float64)))
    for name, md in (("ais_fp32", "float32"), ("ais_bf16", "bfloat16")):
        res = ais_summary(model, runs, n_betas, x, md)
        res["test_log_likelihood"] = mean_neg_f - res["log_z"]
        res["test_log_likelihood_bounds"] = [mean_neg_f - res["log_z_upper"],
                                             mean_neg_f - res["log_z_lower"]]
        out[name] = res
    feats = model.hidden_probs(x_int[:lr_train])
    out["logreg_test_accuracy"] = logreg_accuracy(feats, y_train[:lr_train],
                                                  model.hidden_probs(t_int), y_test, c=1.0)
    out["logreg_train_examples"] = lr_train
    return out


def compare(paths):
    rows = [json.loads(pathlib.Path(p).read_text()) for p in paths]
    print(f"{'':34}" + "".join(f"{r['dtype']:>22}" for r in rows))

    def line(label, fn):
        print(f"{label:34}" + "".join(f"{fn(r):>22}" for r in rows))
    line("epochs", lambda r: str(r["epochs"]))
    line("train wall s / CPU s", lambda r: f"{r['train_wall_s']:.0f} / {r['train_cpu_s']:.0f}")
    line("test LL (AIS fp32)", lambda r: f"{r['ais_fp32']['test_log_likelihood']:.2f}")
    line("  bounds", lambda r: "[{:.2f}, {:.2f}]".format(*r["ais_fp32"]["test_log_likelihood_bounds"]))
    line("  AIS ESS (of 100)", lambda r: f"{r['ais_fp32']['ess']:.1f}")
    line("log Z: AIS bf16 - AIS fp32", lambda r: f"{r['ais_bf16']['log_z'] - r['ais_fp32']['log_z']:+.2f}")
    line("test reconstruction error", lambda r: f"{r['test_reconstruction_error']:.5f}")
    line("features + logreg accuracy", lambda r: f"{100 * r['logreg_test_accuracy']:.2f}%")
    lls = [r["ais_fp32"]["test_log_likelihood"] for r in rows]
    if len(lls) == 2 and all(math.isfinite(v) for v in lls):
        print(f"test LL difference (second - first): {lls[1] - lls[0]:+.2f} nats")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="bfloat16")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1, help="model seed (initial weights and noise)")
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--betas", type=int, default=14500)
    p.add_argument("--lr-train", type=int, default=10000,
                   help="training images for the logistic regression")
    p.add_argument("--json", default=None)
    p.add_argument("--save", default=None, help="save the trained model here (.keras)")
    p.add_argument("--load", default=None, help="evaluate a model saved with --save (no training)")
    p.add_argument("--compare", nargs="+", default=None, help="JSON files of earlier runs to tabulate")
    args = p.parse_args(argv)
    if args.compare:
        compare(args.compare)
        return None
    out = run(args.dtype, args.epochs, args.ais_runs, args.betas, args.lr_train, seed=args.seed,
              save=args.save, load=args.load)
    out["load_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    return write_json(args.json, out)


if __name__ == "__main__":
    main()
