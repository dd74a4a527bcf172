"""DBN benchmarks on MNIST: pre-trained vs random initialisation, and the deep autoencoder.

    python benchmarks/bench_dbn.py classifier --stack 500,200,50 --pretrain-epochs 5 --finetune-epochs 10
    python benchmarks/bench_dbn.py classifier --stack 500,500,2000 ...
    python benchmarks/bench_dbn.py labels --stack 500,200,50 --labels 1000 ...
    (``classifier --labels 1000`` runs the 1,000-label comparison first, on the same pre-training)
    python benchmarks/bench_dbn.py autoencoder --stack 1000,500,250,30 ...

Every part prints one result line per model and, at the end, a JSON line (also written to
``--json-out``). Anchors: Hinton, Osindero & Teh (2006) 1.25% test error (98.75%);
yell/boltzmann-machines 98.67%; Hinton & Salakhutdinov (2006) autoencoder MSE 3.00, PCA-30 13.87
(squared error per test image summed over the 784 pixels).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfrbm.data.images import load_mnist  # noqa: E402
from tfrbm.layers import RBMLayer  # noqa: E402
from tfrbm.models.dbn import DBNModel  # noqa: E402


def log(*args):
    print(*args, flush=True)


def cosine_adam(lr, steps):
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(steps, 1)))


def pretrain(x, stack, epochs, lr, batch_size, seed, verbose, load=None, save=None):
    if load:
        dbn = keras.models.load_model(load)
        log(f"loaded pre-trained DBN {dbn.sizes} from {load}")
        return dbn, 0.0, []
    dbn = DBNModel([RBMLayer(u) for u in stack], seed=seed)
    t0 = time.time()
    hist = dbn.pretrain(x, epochs=epochs, learning_rate=lr, batch_size=batch_size,
                        verbose=verbose)
    seconds = time.time() - t0
    errs = [[round(e, 5) for e in h.history["reconstruction_error"]] for h in hist]
    log(f"pretrain {stack}: {epochs} epochs/layer, {seconds:.0f}s; reconstruction error per layer "
        f"(first -> last epoch): " + "; ".join(f"{e[0]:.4f}->{e[-1]:.4f}" for e in errs))
    if save:
        dbn.save(save)
    return dbn, seconds, errs


def finetune_classifier(dbn, init, x, y, xt, yt, epochs, lr, batch_size, verbose, opt="adam",
                        dropout=0.0):
    clf = dbn.to_classifier(10, init=init, compile=False, dropout=dropout)
    steps = epochs * int(np.ceil(len(x) / batch_size))
    if opt == "sgd":
        optimizer = keras.optimizers.SGD(
            keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(steps, 1)), momentum=0.9)
    else:
        optimizer = cosine_adam(lr, steps)
    clf.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    t0 = time.time()
    clf.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True)
    seconds = time.time() - t0
    acc = float(clf.evaluate(xt, yt, verbose=0, batch_size=1000)[1])
    return acc, seconds


def part_classifier(args, data):
    (x, y), (xt, yt) = data
    dbn, pre_s, errs = pretrain(x, args.stack, args.pretrain_epochs, args.rbm_lr, args.batch_size,
                                args.seed, args.verbose, args.load_dbn, args.save_dbn)
    result = {"part": args.part, "stack": args.stack, "pretrain_epochs": args.pretrain_epochs,
              "dropout": args.dropout, "ft_optimizer": args.ft_optimizer, "lr": args.lr,
              "finetune_epochs": args.finetune_epochs, "pretrain_seconds": round(pre_s),
              "recon_errors": errs}
    runs = []
    if args.labels:
        rng = np.random.default_rng(args.seed)
        idx = rng.permutation(len(x))[:args.labels]
        runs.append((f"labels_{args.labels}", x[idx], y[idx], args.label_epochs))
    if args.part == "classifier":
        runs.append(("full", x, y, args.finetune_epochs))
    for tag, xl, yl, epochs in runs:
        for init in ("pretrained", "random"):
            keras.utils.set_random_seed(args.seed)
            acc, sec = finetune_classifier(dbn, init, xl, yl, xt, yt, epochs,
                                           args.lr, args.ft_batch_size, args.verbose,
                                           args.ft_optimizer, args.dropout)
            log(f"{init:10s} 784-{'-'.join(map(str, args.stack))}-10 on {len(xl)} labels, "
                f"{epochs} epochs: test accuracy {acc:.4f} (error {100 * (1 - acc):.2f}%), "
                f"fine-tune {sec:.0f}s")
            result[f"{tag}_{init}_test_accuracy"] = acc
            result[f"{tag}_{init}_seconds"] = round(sec)
            log(json.dumps(result))
    return result


def per_image_sse(model, xt):
    recon = model.predict(xt, batch_size=1000, verbose=0)
    return float(np.mean(np.sum((xt - recon) ** 2, axis=1)))


def part_autoencoder(args, data):
    (x, _), (xt, _) = data
    result = {"part": "autoencoder", "stack": args.stack, "pretrain_epochs": args.pretrain_epochs,
              "finetune_epochs": args.finetune_epochs}
    # PCA baseline
    mean = x.mean(axis=0)
    k = args.stack[-1]
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comp = vt[:k]
    recon = (xt - mean) @ comp.T @ comp + mean
    pca = float(np.mean(np.sum((xt - recon) ** 2, axis=1)))
    log(f"PCA-{k}: test squared error per image {pca:.2f}")
    result[f"pca_{k}"] = pca
    dbn, pre_s, errs = pretrain(x, args.stack, args.pretrain_epochs, args.rbm_lr, args.batch_size,
                                args.seed, args.verbose, args.load_dbn, args.save_dbn)
    result.update(pretrain_seconds=round(pre_s), recon_errors=errs)
    for init in ("pretrained", "random"):
        keras.utils.set_random_seed(args.seed)
        ae = dbn.to_autoencoder(init=init, code_activation=args.code, compile=False)
        before = per_image_sse(ae, xt)
        steps = args.finetune_epochs * int(np.ceil(len(x) / args.ft_batch_size))
        ae.compile(optimizer=cosine_adam(args.lr, steps), loss="binary_crossentropy")
        t0 = time.time()
        ae.fit(x, x, epochs=args.finetune_epochs, batch_size=args.ft_batch_size, verbose=args.verbose)
        sec = time.time() - t0
        after = per_image_sse(ae, xt)
        log(f"{init:10s} autoencoder 784-{'-'.join(map(str, args.stack))} ({args.code} code): "
            f"test squared error per image {after:.2f} (before fine-tuning {before:.2f}), "
            f"fine-tune {sec:.0f}s")
        result[f"{init}_mse"] = after
        result[f"{init}_mse_before_finetune"] = before
        result[f"{init}_seconds"] = round(sec)
        log(json.dumps(result))
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=("classifier", "labels", "autoencoder"))
    p.add_argument("--stack", default="500,200,50")
    p.add_argument("--labels", type=int, default=None, help="labelled examples (part 'labels')")
    p.add_argument("--pretrain-epochs", type=int, default=5)
    p.add_argument("--finetune-epochs", type=int, default=10)
    p.add_argument("--rbm-lr", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate for fine-tuning")
    p.add_argument("--batch-size", type=int, default=100, help="RBM pre-training batch size")
    p.add_argument("--ft-batch-size", type=int, default=100, help="fine-tuning batch size")
    p.add_argument("--label-epochs", type=int, default=30,
                   help="fine-tuning epochs for the small-label run")
    p.add_argument("--ft-optimizer", default="adam", choices=("adam", "sgd"),
                   help="classifier fine-tuning: Adam or SGD with momentum 0.9 (cosine-decayed lr)")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout after each hidden layer of the classifier while fine-tuning")
    p.add_argument("--save-dbn", default=None, help="save the pre-trained DBN (.keras)")
    p.add_argument("--load-dbn", default=None, help="skip pre-training: load this DBN (.keras)")
    p.add_argument("--code", default="linear", choices=("linear", "sigmoid"))
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument("--json-out", default=None)
    args = p.parse_args(argv)
    args.stack = [int(s) for s in args.stack.split(",")]
    if args.part == "labels" and not args.labels:
        args.labels = 1000
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    t0 = time.time()
    train = load_mnist("train", data_dir=args.data_dir)
    if args.limit:
        train = (train[0][:args.limit], train[1][:args.limit])
    data = (train, load_mnist("test", data_dir=args.data_dir))
    if args.part == "autoencoder":
        result = part_autoencoder(args, data)
    else:
        result = part_classifier(args, data)
    result["wall_seconds"] = round(time.time() - t0)
    result["command"] = "python benchmarks/bench_dbn.py " + " ".join(sys.argv[1:] if argv is None else argv)
    line = json.dumps(result)
    log(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
