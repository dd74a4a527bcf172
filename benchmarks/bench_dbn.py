"""DBN benchmarks on MNIST: pre-trained vs random initialisation, and the deep autoencoder.

    python benchmarks/bench_dbn.py classifier --stack 500,200,50 --pretrain-epochs 5 --finetune-epochs 10
    python benchmarks/bench_dbn.py classifier --stack 500,500,2000 ...
    python benchmarks/bench_dbn.py labels --stack 500,200,50 --labels 1000 ...
    (``classifier --labels 1000`` runs the 1,000-label comparison first, on the same pre-training)
    python benchmarks/bench_dbn.py autoencoder --stack 1000,500,250,30 ...
    python benchmarks/bench_dbn.py generate --stack 500,500,2000 ...   (class-conditional samples)

Every part prints one result line per model and, at the end, a JSON line (also written to
``--json-out``). Anchors: Hinton, Osindero & Teh (2006) 1.25% test error (98.75%);
yell/boltzmann-machines 98.67%; Hinton & Salakhutdinov (2006) autoencoder MSE 3.00, PCA-30 13.87
(squared error per test image summed over the 784 pixels).

Run from the repository root (``harness`` is found beside this script). Pre-training is the
``tfrbm dbn train`` recipe (:func:`tfrbm.pipelines.dbn.build_dbn`,
:func:`~tfrbm.pipelines.dbn.pretrain_dbn`); the fine-tuning variants (cosine-decayed Adam or
SGD, dropout, random initialisation, the autoencoder, the labelled DBN) are this benchmark's
own. The course CNN that judges ``generate`` is trained by its own recipe
(:func:`tfrbm.pipelines.companions.train_cnn`).
"""
import argparse
import json
import sys
import time

from harness import (command_line, course_cnn_judge, cpu_budget_callback,  # before TF
                     cpu_seconds, judge_rates, log)
import keras
import numpy as np
import tensorflow as tf

from tfrbm import viz
from tfrbm.data.images import load_mnist
from tfrbm.layers import RBMLayer
from tfrbm.models.dbn import DBNModel
from tfrbm.pipelines.dbn import DBNTrainingConfig, build_dbn, pretrain_dbn


def cosine_adam(lr, steps):
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(steps, 1)))


def pretrain(x, stack, epochs, lr, batch_size, seed, verbose, load=None, save=None):
    if load:
        dbn = keras.models.load_model(load)
        log(f"loaded pre-trained DBN {dbn.sizes} from {load}")
        return dbn, 0.0, []
    config = DBNTrainingConfig(data="mnist", layers=tuple(stack), learning_rate=lr, seed=seed)
    dbn = build_dbn(config)
    t0 = time.time()
    cpu0 = cpu_seconds()
    hist = pretrain_dbn(dbn, x, config, epochs, batch_size, verbose=verbose)
    seconds = time.time() - t0
    log(f"pre-training CPU time {cpu_seconds() - cpu0:.0f} s")
    errs = [[round(e, 5) for e in h.history["reconstruction_error"]] for h in hist]
    log(f"pretrain {stack}: {epochs} epochs/layer, {seconds:.0f}s; reconstruction error per layer "
        f"(first -> last epoch): " + "; ".join(f"{e[0]:.4f}->{e[-1]:.4f}" for e in errs))
    if save:
        dbn.save(save)
    return dbn, seconds, errs


def finetune_classifier(dbn, init, x, y, xt, yt, epochs, lr, batch_size, verbose, opt="adam",
                        dropout=0.0, curve=None):
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
    clf.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True,
            validation_data=(xt, yt) if curve is not None else None,
            callbacks=[curve] if curve is not None else None)
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
        for init in args.inits:
            keras.utils.set_random_seed(args.seed)
            cpu0 = cpu_seconds()
            curve = (cpu_budget_callback(args.cpu_cap, key="val_accuracy", scale=100.0)
                     if args.curve else None)
            acc, sec = finetune_classifier(dbn, init, xl, yl, xt, yt, epochs,
                                           args.lr, args.ft_batch_size, args.verbose,
                                           args.ft_optimizer, args.dropout, curve)
            result[f"{tag}_{init}_cpu_seconds"] = round(cpu_seconds() - cpu0)
            if curve is not None:
                result[f"{tag}_{init}_curve_epoch_accuracy_cpu"] = curve.curve
                result[f"{tag}_{init}_capped_at_epoch"] = curve.capped_at
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
    for init in args.inits:
        keras.utils.set_random_seed(args.seed)
        cpu0 = cpu_seconds()
        ae = dbn.to_autoencoder(init=init, code_activation=args.code, compile=False)
        before = per_image_sse(ae, xt)
        steps = args.finetune_epochs * int(np.ceil(len(x) / args.ft_batch_size))
        ae.compile(optimizer=cosine_adam(args.lr, steps), loss="binary_crossentropy",
                   metrics=["mse"])
        # val mse (mean over pixels) x 784 = squared error per test image
        curve = (cpu_budget_callback(args.cpu_cap, key="val_mse", scale=float(x.shape[1]))
                 if args.curve else None)
        t0 = time.time()
        ae.fit(x, x, epochs=args.finetune_epochs, batch_size=args.ft_batch_size, verbose=args.verbose,
               validation_data=(xt, xt) if curve is not None else None,
               callbacks=[curve] if curve is not None else None)
        sec = time.time() - t0
        result[f"{init}_cpu_seconds"] = round(cpu_seconds() - cpu0)
        if curve is not None:
            result[f"{init}_curve_epoch_sse_cpu"] = curve.curve
            result[f"{init}_capped_at_epoch"] = curve.capped_at
        after = per_image_sse(ae, xt)
        log(f"{init:10s} autoencoder 784-{'-'.join(map(str, args.stack))} ({args.code} code): "
            f"test squared error per image {after:.2f} (before fine-tuning {before:.2f}), "
            f"fine-tune {sec:.0f}s")
        result[f"{init}_mse"] = after
        result[f"{init}_mse_before_finetune"] = before
        result[f"{init}_seconds"] = round(sec)
        log(json.dumps(result))
    return result


def part_generate(args, data):
    """A DBN with a label group on its top RBM; generate(label) judged by the course CNN."""
    (x, y), (xt, yt) = data
    result = {"part": "generate", "stack": args.stack, "pretrain_epochs": args.pretrain_epochs,
              "top_epochs": args.top_epochs, "top_lr": args.top_lr, "top_pcd": args.top_pcd,
              "top_centering": args.top_centering, "top_decay": args.top_decay,
              "gibbs_steps": args.gibbs_steps}
    if args.load_dbn:
        dbn = keras.models.load_model(args.load_dbn)
        log(f"loaded labelled DBN {dbn.sizes} from {args.load_dbn}")
    else:
        n = len(args.stack)
        options = [{} for _ in range(n - 1)] + [{"persistent": args.top_pcd, "n_chains": 100,
                                                 "centering": args.top_centering}]
        dbn = DBNModel([RBMLayer(u) for u in args.stack], n_labels=10, seed=args.seed,
                       layer_options=options)
        optimizers = [keras.optimizers.SGD(args.rbm_lr, momentum=0.5) for _ in range(n - 1)]
        top_lr = args.top_lr
        if args.top_decay:     # linear decay to 1 % of the rate over the top RBM's updates
            top_steps = args.top_epochs * int(np.ceil(len(x) / args.batch_size))
            top_lr = keras.optimizers.schedules.PolynomialDecay(args.top_lr, top_steps,
                                                                args.top_lr / 100)
        optimizers.append(keras.optimizers.SGD(top_lr, momentum=0.5))
        dbn.compile(optimizer=optimizers[0], layer_optimizers=optimizers)
        cpu0, t0 = cpu_seconds(), time.time()
        h = dbn.fit(x, y, epochs=[args.pretrain_epochs] * (n - 1) + [args.top_epochs],
                    batch_size=args.batch_size, verbose=0)
        result["pretrain_cpu_seconds"] = round(cpu_seconds() - cpu0)
        result["loss_per_epoch"] = [round(v, 5) for v in h.history["loss"]]
        log(f"labelled DBN 784-{'-'.join(map(str, args.stack))} (+10 labels on the top): "
            f"{time.time() - t0:.0f} s, CPU {result['pretrain_cpu_seconds']} s; loss per epoch "
            f"{result['loss_per_epoch']}")
        if args.save_dbn:
            dbn.save(args.save_dbn)
    top_acc = float((dbn.classify(xt).argmax(1) == yt).mean())
    result["top_rbm_classify_accuracy"] = top_acc
    log(f"top RBM free-energy classification of the test set: {top_acc:.4f}")
    if args.load_cnn:
        cnn = keras.models.load_model(args.load_cnn)
        result["cnn_test_accuracy"] = float(cnn.evaluate(xt, yt, verbose=0, batch_size=1000)[1])
    else:
        cnn, result["cnn_test_accuracy"] = course_cnn_judge(args.cnn_epochs, args.seed,
                                                            limit=args.cnn_limit,
                                                            save=args.save_cnn,
                                                            data_dir=args.data_dir)
    per_class = args.per_class
    labels = np.repeat(np.arange(10), per_class)
    cpu0 = cpu_seconds()
    samples = dbn.generate(labels, n=len(labels), steps=args.gibbs_steps, seed=args.seed)
    result["generate_cpu_seconds"] = round(cpu_seconds() - cpu0)
    # each class's rate with its Wilson 95 % interval (binomial over its per_class samples)
    rates = judge_rates(cnn.predict(samples, batch_size=500, verbose=0).argmax(1), labels)
    acc, bounds = rates["per_class"], rates["per_class_lower95"]
    result["cnn_accuracy_per_class"] = [round(a, 3) for a in acc]
    result["cnn_accuracy_per_class_lower95"] = [round(float(b), 3) for b in bounds]
    result["cnn_accuracy_min"] = min(acc)
    result["cnn_accuracy_min_lower95"] = round(float(min(bounds)), 3)
    log(f"course CNN on {per_class} generated digits per class ({args.gibbs_steps} Gibbs steps): "
        + ", ".join(f"{k}: {a:.2f}" for k, a in enumerate(acc)) + f"; min {min(acc):.2f}, "
        f"lowest 95 % lower bound {min(bounds):.3f}")
    if args.grid:
        first = np.concatenate([samples[labels == k][:10] for k in range(10)])
        viz.image_grid(first, nrows=10, ncols=10, shape=(28, 28),
                       title="DBN.generate(label): one row per class", path=args.grid)
        result["grid"] = args.grid
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=("classifier", "labels", "autoencoder", "generate"))
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
    p.add_argument("--top-epochs", type=int, default=10, help="generate: epochs of the top RBM")
    p.add_argument("--top-lr", type=float, default=0.05, help="generate: top RBM SGD rate")
    p.add_argument("--top-pcd", action="store_true", help="generate: train the top RBM by PCD")
    p.add_argument("--top-centering", action="store_true",
                   help="generate: train the top RBM with the centering trick")
    p.add_argument("--top-decay", action="store_true",
                   help="generate: decay the top RBM's rate linearly to 1 %% over its epochs")
    p.add_argument("--gibbs-steps", type=int, default=1000, help="generate: Gibbs steps")
    p.add_argument("--per-class", type=int, default=100, help="generate: samples per class")
    p.add_argument("--cnn-epochs", type=int, default=2, help="generate: course CNN epochs")
    p.add_argument("--cnn-limit", type=int, default=None, help="generate: CNN training images")
    p.add_argument("--save-cnn", default=None)
    p.add_argument("--load-cnn", default=None)
    p.add_argument("--grid", default=None, help="generate: write the 10x10 grid (.png)")
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inits", default="pretrained,random",
                   help="fine-tuning initialisations to run, comma-separated")
    p.add_argument("--curve", action="store_true",
                   help="evaluate on the test set after every fine-tuning epoch (the epoch curve)")
    p.add_argument("--cpu-cap", type=float, default=0.0,
                   help="stop fine-tuning after the epoch at which the process has used this many "
                        "CPU seconds (0: no cap); the model reached so far is evaluated")
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument("--json-out", default=None)
    args = p.parse_args(argv)
    args.stack = [int(s) for s in args.stack.split(",")]
    args.inits = [s for s in args.inits.split(",") if s]
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
    elif args.part == "generate":
        result = part_generate(args, data)
    else:
        result = part_classifier(args, data)
    result["wall_seconds"] = round(time.time() - t0)
    result["cpu_seconds"] = round(cpu_seconds())
    result["command"] = command_line(__file__, argv)
    line = json.dumps(result)
    log(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
