"""DBM benchmarks on MNIST (issue 27): training, the test lower bound with AIS diagnostics, the
classifier. One command per number; each prints result lines and a final JSON line.

    python benchmarks/bench_dbm.py train --hidden 500,1000 --pretrain-epochs 5 --epochs 10 --save dbm.keras
    python benchmarks/bench_dbm.py train --init dbm.keras --epochs 6 --save dbm2.keras   (continue)
    python benchmarks/bench_dbm.py bound dbm.keras --n-betas 20000 --runs 100
    python benchmarks/bench_dbm.py classify dbm.keras --epochs 30
    python benchmarks/bench_dbm.py exact-check        (AIS and bound vs enumeration, trained 64-12-20)
    python benchmarks/bench_dbm.py samples dbm.keras --steps 1000 --grid samples.png --cnn-epochs 2

Run from the repository root (``harness`` is found beside this script). Training, the
classifier and the DBM itself follow the ``tfrbm dbm train`` recipe, step by step
(:mod:`tfrbm.pipelines.dbm`: ``build_dbm``, ``compile_dbm``, ``finetune_classifier``); this
script adds the CPU cap, checkpoints, timing and the result lines.

MNIST is binarized once by sampling (pixel ~ Bernoulli(intensity), numpy seed 0 for the training
set, 1 for the test set), as for the paper's binary MNIST. ``--limit N`` uses the first N training
and test images. ``--cpu-minutes`` caps the joint training's CPU time (the run stops at the end
of the epoch that crosses it and is saved). Anchors: Salakhutdinov & Hinton 2009 (784-500-1000)
-84.62 nats and 0.95% test error; yell/boltzmann-machines (784-512-1024) -86.37 nats at 200,000
betas.
"""
import argparse
import json
import time

from harness import (add_options, binarize, binarized_mnist, command_line, course_cnn_judge,  # before TF
                     cpu_budget_callback, cpu_seconds, log)
import keras
import numpy as np

from tfrbm import viz
from tfrbm.anomaly import binomial_interval
from tfrbm.data.images import load_digits
from tfrbm.likelihood import dbm as dbm_likelihood
from tfrbm.models.dbm import DBMModel
from tfrbm.pipelines.dbm import DBMTrainingConfig, build_dbm, compile_dbm, finetune_classifier


def train(args):
    x = binarized_mnist("train", args.limit)
    config = DBMTrainingConfig(
        data="mnist", hidden=[int(s) for s in args.hidden.split(",")],
        pretrain_epochs=args.pretrain_epochs, pretrain_learning_rate=args.pretrain_lr,
        weight_decay=args.weight_decay, epochs=args.epochs, learning_rate=args.lr,
        final_lr_fraction=args.lr_end, momentum=args.momentum, batch_size=args.batch_size,
        n_chains=args.chains, gibbs_steps=args.gibbs_steps, mean_field_steps=args.mean_field_steps,
        limit=args.limit, seed=args.seed)
    hidden = list(config.hidden)
    keras.utils.set_random_seed(args.seed)
    if args.init:       # continue training a saved DBM (its chains and pretraining kept)
        dbm = keras.saving.load_model(args.init)
        hidden = dbm.hidden
    else:
        dbm = build_dbm(config)
        dbm.build((None, x.shape[1]))
    t0, c0 = time.time(), cpu_seconds()
    if args.pretrain_epochs and not args.init:
        dbm.pretrain(x, batch_size=args.batch_size, verbose=0)
    pre_cpu, pre_wall = cpu_seconds() - c0, time.time() - t0
    log(f"pretraining: {pre_cpu / 60:.1f} CPU-min, {pre_wall / 60:.1f} min wall")
    epochs, batch_size = compile_dbm(dbm, config, len(x))
    cap = cpu_budget_callback(60.0 * args.cpu_minutes, checkpoint=args.checkpoint,
                              every=args.checkpoint_every)
    t1, c1 = time.time(), cpu_seconds()
    dbm.fit(x, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[cap])
    out = {"hidden": hidden, "pretrain_epochs": args.pretrain_epochs, "epochs_run": cap.epochs_done,
           "pretrain_cpu_min": round(pre_cpu / 60, 2), "train_cpu_min": round((cpu_seconds() - c1) / 60, 2),
           "train_wall_min": round((time.time() - t1) / 60, 2), "train_rows": len(x)}
    if args.save:
        dbm.save(args.save)
        out["model"] = args.save
    log(json.dumps(out))


def bound(args):
    dbm = keras.saving.load_model(args.model)
    xt = binarized_mnist("test", args.limit)
    c0 = time.time()
    if args.single:     # one schedule only (run the doubled one in another process)
        result = dbm_likelihood.ais_log_partition(dbm, n_runs=args.runs, n_betas=args.n_betas,
                                                  seed=args.seed)
    else:
        result = dbm_likelihood.ais_with_doubling(dbm, args.n_betas, n_runs=args.runs,
                                                  seed=args.seed)
    ais_s = time.time() - c0
    per_row = dbm.variational_bound(xt)
    mean_u = float(per_row.mean())
    out = {"model": args.model, "test_rows": len(xt), "runs": args.runs,
           "log_z": result.log_z, "log_z_lower": result.log_z_lower, "log_z_upper": result.log_z_upper,
           "ess": result.ess, "change_on_doubling": result.change_on_doubling,
           "schedules": result.history,
           "test_bound": mean_u - result.log_z,
           "test_bound_range": [mean_u - result.log_z_upper, mean_u - result.log_z_lower],
           "ais_seconds": round(ais_s, 1)}
    log(f"log Z = {result.log_z:.3f} [{result.log_z_lower:.3f}, {result.log_z_upper:.3f}], "
        f"ESS {result.ess:.1f}/{args.runs}, change on doubling {result.change_on_doubling}")
    log(f"test variational bound: {out['test_bound']:.3f} nats (log Z spread gives "
        f"[{out['test_bound_range'][0]:.3f}, {out['test_bound_range'][1]:.3f}]); "
        "stochastic: an AIS log Z makes the bound an estimate")
    log(json.dumps(out))


def classify(args):
    dbm = keras.saving.load_model(args.model)
    x, y = binarized_mnist("train", args.limit, labels=True)
    xt, yt = binarized_mnist("test", args.limit, labels=True)
    config = DBMTrainingConfig(data="mnist", finetune_epochs=args.epochs, finetune_lr=args.lr,
                               seed=args.seed)
    keras.utils.set_random_seed(args.seed)
    c0 = cpu_seconds()
    _, _, metrics = finetune_classifier(dbm, x, y, xt, yt, config, batch_size=100,
                                        dropout=args.dropout)
    acc = metrics["test_accuracy"]
    out = {"model": args.model, "test_accuracy": acc, "epochs": args.epochs,
           "finetune_cpu_min": round((cpu_seconds() - c0) / 60, 2)}
    log(f"DBM classifier test accuracy {acc:.4f}")
    log(json.dumps(out))


def samples(args):
    dbm = keras.saving.load_model(args.model)
    fresh = dbm.sample(args.n, steps=args.steps, seed=args.seed)
    # the training's persistent chains, read as p(v | h_1) of their current states
    persistent = keras.ops.convert_to_numpy(keras.ops.sigmoid(
        dbm.layer_input(0, [keras.ops.convert_to_tensor(c) for c in dbm.chains])))
    out = {"model": args.model, "n": args.n, "steps": args.steps}
    if args.grid:
        for v, what in ((fresh, f"fresh chains, {args.steps} Gibbs sweeps"),
                        (persistent, "persistent chains")):
            path = args.grid.replace(".png", "_persistent.png") if v is persistent else args.grid
            viz.image_grid(v[:64], nrows=8, ncols=8, shape=(28, 28), title=f"DBM samples ({what})",
                           path=path)
            out["grid" if v is fresh else "grid_persistent"] = path
    if args.cnn or args.cnn_epochs:
        if args.cnn:
            cnn = keras.saving.load_model(args.cnn)
        else:       # the course CNN by its own recipe (real, not binarized, MNIST)
            cnn, out["cnn_test_accuracy"] = course_cnn_judge(args.cnn_epochs, args.seed,
                                                             limit=args.cnn_limit)
        for v, key in ((fresh, "fresh"), (persistent, "persistent")):
            p = cnn.predict(v, batch_size=500, verbose=0)
            confident = p.max(1) > 0.9
            out[f"{key}_share_confident_0.9"] = float(confident.mean())
            out[f"{key}_wilson95_lower"] = binomial_interval(int(confident.sum()), len(confident))[0]
            out[f"{key}_classes"] = np.bincount(p.argmax(1), minlength=10).tolist()
    log(json.dumps(out))


def exact_check(args):
    """AIS and the bound against exact enumeration on a trained DBM small enough to enumerate:
    64-12-20 on the embedded digits, binarized once (seed 0), default fit with 30 joint epochs."""
    x, _ = load_digits("train", holdout="stratified")
    xt, _ = load_digits("test", holdout="stratified")
    rng = np.random.default_rng(0)
    x, xt = binarize(x, rng), binarize(xt, rng)
    dbm = DBMModel(hidden=[12, 20], seed=0)
    dbm.fit(x, epochs=30, batch_size=30, verbose=0)
    exact = dbm.log_partition("exact")
    r = dbm_likelihood.ais_with_doubling(dbm, 1000, n_runs=100, seed=1)
    log(f"exact log Z {exact}, AIS {r!r}, change on doubling {r.change_on_doubling}")
    log(f"test: exact mean log p {dbm.log_likelihood(xt, method='exact')}, "
        f"bound (exact Z) {dbm.log_likelihood(xt, method='bound', log_z=exact)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="part", required=True)
    t = sub.add_parser("train")
    t.add_argument("--hidden", default="500,1000")
    add_options(t, pretrain_epochs=5, pretrain_lr=0.05, epochs=10, lr=0.005)
    t.add_argument("--lr-end", type=float, default=0.1, help="final rate as a fraction of --lr")
    add_options(t, momentum=0.9, weight_decay=0.0, batch_size=100, chains=100, gibbs_steps=5,
                mean_field_steps=30, cpu_minutes=0.0)
    t.add_argument("--save")
    t.add_argument("--init", help="a saved DBM (.keras) to continue training")
    t.add_argument("--checkpoint", help="save the DBM here every --checkpoint-every epochs")
    t.add_argument("--checkpoint-every", type=int, default=10)
    for q in (sub.add_parser("bound"), sub.add_parser("classify"), sub.add_parser("samples")):
        q.add_argument("model")
    b = sub.choices["bound"]
    b.add_argument("--n-betas", type=int, default=20000)
    b.add_argument("--runs", type=int, default=100)
    b.add_argument("--single", action="store_true", help="only the --n-betas schedule")
    c = sub.choices["classify"]
    add_options(c, epochs=30, lr=1e-3, dropout=0.0)
    s = sub.choices["samples"]
    s.add_argument("--n", type=int, default=100)
    s.add_argument("--steps", type=int, default=1000)
    s.add_argument("--grid")
    s.add_argument("--cnn", help="a course CNN (.keras) to judge the samples")
    s.add_argument("--cnn-epochs", type=int, default=0, help="train the course CNN judge")
    s.add_argument("--cnn-limit", type=int, default=20000)
    sub.add_parser("exact-check")
    for q in sub.choices.values():
        q.add_argument("--limit", type=int, default=None)
        q.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    log(command_line(__file__, argv))
    {"train": train, "bound": bound, "classify": classify, "samples": samples,
     "exact-check": exact_check}[args.part](args)


if __name__ == "__main__":
    main()
