"""DBM benchmarks on MNIST (issue 27): training, the test lower bound with AIS diagnostics, the
classifier. One command per number; each prints result lines and a final JSON line.

    python benchmarks/bench_dbm.py train --hidden 500,1000 --pretrain-epochs 5 --epochs 10 --save dbm.keras
    python benchmarks/bench_dbm.py train --init dbm.keras --epochs 6 --save dbm2.keras   (continue)
    python benchmarks/bench_dbm.py bound dbm.keras --n-betas 20000 --runs 100
    python benchmarks/bench_dbm.py classify dbm.keras --epochs 30
    python benchmarks/bench_dbm.py exact-check        (AIS and bound vs enumeration, trained 64-12-20)
    python benchmarks/bench_dbm.py samples dbm.keras --steps 1000 --grid samples.png --cnn-epochs 2

MNIST is binarized once by sampling (pixel ~ Bernoulli(intensity), numpy seed 0 for the training
set, 1 for the test set), as for the paper's binary MNIST. ``--limit N`` uses the first N training
and test images. ``--cpu-minutes`` caps the joint training's CPU time (the run stops at the end
of the epoch that crosses it and is saved). Anchors: Salakhutdinov & Hinton 2009 (784-500-1000)
-84.62 nats and 0.95% test error; yell/boltzmann-machines (784-512-1024) -86.37 nats at 200,000
betas.
"""
import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfrbm.data.images import load_mnist  # noqa: E402
from tfrbm.models.dbm import DBMModel  # noqa: E402
from tfrbm.likelihood import dbm as dbm_likelihood  # noqa: E402


def log(*args):
    print(*args, flush=True)


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def binary_mnist(split, limit=None):
    x, y = load_mnist(split)
    if limit:
        x, y = x[:limit], y[:limit]
    rng = np.random.default_rng(0 if split == "train" else 1)
    return (rng.random(x.shape) < x).astype(np.float32), y


class CPUCap(keras.callbacks.Callback):
    """Log each epoch with the CPU time; stop after the epoch that crosses ``minutes``."""

    def __init__(self, minutes):
        super().__init__()
        self.limit = 60.0 * minutes if minutes else 0.0
        self.epochs_done = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done = epoch + 1
        log(f"  epoch {epoch + 1}: " + ", ".join(f"{k} {float(v):.5g}" for k, v in (logs or {}).items())
            + f", cpu {cpu_seconds():.0f} s")
        if self.limit and cpu_seconds() >= self.limit:
            log(f"  CPU cap of {self.limit / 60:.0f} min reached after epoch {epoch + 1}")
            self.model.stop_training = True


def train(args):
    x, _ = binary_mnist("train", args.limit)
    hidden = [int(s) for s in args.hidden.split(",")]
    keras.utils.set_random_seed(args.seed)
    if args.init:       # continue training a saved DBM (its chains and pretraining kept)
        dbm = keras.saving.load_model(args.init)
        hidden = dbm.hidden
    else:
        dbm = DBMModel(hidden=hidden, seed=args.seed, n_chains=args.chains,
                       gibbs_steps=args.gibbs_steps, mean_field_steps=args.mean_field_steps,
                       pretrain_epochs=args.pretrain_epochs,
                       pretrain_learning_rate=args.pretrain_lr, weight_decay=args.weight_decay)
        dbm.build((None, x.shape[1]))
    t0, c0 = time.time(), cpu_seconds()
    if args.pretrain_epochs and not args.init:
        dbm.pretrain(x, batch_size=args.batch_size, verbose=0)
    pre_cpu, pre_wall = cpu_seconds() - c0, time.time() - t0
    log(f"pretraining: {pre_cpu / 60:.1f} CPU-min, {pre_wall / 60:.1f} min wall")
    steps = args.epochs * int(np.ceil(len(x) / args.batch_size))
    rate = keras.optimizers.schedules.PolynomialDecay(args.lr, steps, args.lr * args.lr_end)
    dbm.compile(optimizer=keras.optimizers.SGD(rate, momentum=args.momentum))
    cap = CPUCap(args.cpu_minutes)
    t1, c1 = time.time(), cpu_seconds()
    dbm.fit(x, epochs=args.epochs, batch_size=args.batch_size, verbose=0, callbacks=[cap])
    out = {"hidden": hidden, "pretrain_epochs": args.pretrain_epochs, "epochs_run": cap.epochs_done,
           "pretrain_cpu_min": round(pre_cpu / 60, 2), "train_cpu_min": round((cpu_seconds() - c1) / 60, 2),
           "train_wall_min": round((time.time() - t1) / 60, 2), "train_rows": len(x)}
    if args.save:
        dbm.save(args.save)
        out["model"] = args.save
    log(json.dumps(out))


def bound(args):
    dbm = keras.saving.load_model(args.model)
    xt, _ = binary_mnist("test", args.limit)
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
    x, y = binary_mnist("train", args.limit)
    xt, yt = binary_mnist("test", args.limit)
    keras.utils.set_random_seed(args.seed)
    clf = dbm.to_classifier(10, optimizer=keras.optimizers.Adam(args.lr), dropout=args.dropout)
    inputs, test_inputs = dbm.classifier_inputs(x), dbm.classifier_inputs(xt)
    c0 = cpu_seconds()
    clf.fit(inputs, y, epochs=args.epochs, batch_size=100, verbose=0)
    _, acc = clf.evaluate(test_inputs, yt, verbose=0, batch_size=1000)
    out = {"model": args.model, "test_accuracy": float(acc), "epochs": args.epochs,
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
        from tfrbm import viz
        for v, what in ((fresh, f"fresh chains, {args.steps} Gibbs sweeps"),
                        (persistent, "persistent chains")):
            path = args.grid.replace(".png", "_persistent.png") if v is persistent else args.grid
            viz.image_grid(v[:64], nrows=8, ncols=8, shape=(28, 28), title=f"DBM samples ({what})",
                           path=path)
            out["grid" if v is fresh else "grid_persistent"] = path
    if args.cnn or args.cnn_epochs:
        if args.cnn:
            cnn = keras.saving.load_model(args.cnn)
        else:       # the course CNN as bench_dbn.py trains it (real, not binarized, MNIST)
            from bench_dbn import train_course_cnn
            x, y = load_mnist("train")
            xt, yt = load_mnist("test")
            cnn, out["cnn_test_accuracy"] = train_course_cnn(x, y, xt, yt, args.cnn_epochs,
                                                             args.seed, limit=args.cnn_limit)
        for v, key in ((fresh, "fresh"), (persistent, "persistent")):
            p = cnn.predict(v, batch_size=500, verbose=0)
            confident = p.max(1) > 0.9
            out[f"{key}_share_confident_0.9"] = float(confident.mean())
            out[f"{key}_wilson95_lower"] = float(_wilson_lower(confident.sum(), len(confident)))
            out[f"{key}_classes"] = np.bincount(p.argmax(1), minlength=10).tolist()
    log(json.dumps(out))


def exact_check(args):
    """AIS and the bound against exact enumeration on a trained DBM small enough to enumerate:
    64-12-20 on the embedded digits, binarized once (seed 0), default fit with 30 joint epochs."""
    from tfrbm.data.images import load_digits
    x, _ = load_digits("train", holdout="stratified")
    xt, _ = load_digits("test", holdout="stratified")
    rng = np.random.default_rng(0)
    x = (rng.random(x.shape) < x).astype("float32")
    xt = (rng.random(xt.shape) < xt).astype("float32")
    dbm = DBMModel(hidden=[12, 20], seed=0)
    dbm.fit(x, epochs=30, batch_size=30, verbose=0)
    exact = dbm.log_partition("exact")
    r = dbm_likelihood.ais_with_doubling(dbm, 1000, n_runs=100, seed=1)
    log(f"exact log Z {exact}, AIS {r!r}, change on doubling {r.change_on_doubling}")
    log(f"test: exact mean log p {dbm.log_likelihood(xt, method='exact')}, "
        f"bound (exact Z) {dbm.log_likelihood(xt, method='bound', log_z=exact)}")


def _wilson_lower(k, n, z=1.96):
    p = k / n
    return (p + z * z / (2 * n) - z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="part", required=True)
    t = sub.add_parser("train")
    t.add_argument("--hidden", default="500,1000")
    t.add_argument("--pretrain-epochs", type=int, default=5)
    t.add_argument("--pretrain-lr", type=float, default=0.05)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--lr", type=float, default=0.005)
    t.add_argument("--lr-end", type=float, default=0.1, help="final rate as a fraction of --lr")
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--batch-size", type=int, default=100)
    t.add_argument("--chains", type=int, default=100)
    t.add_argument("--gibbs-steps", type=int, default=5)
    t.add_argument("--mean-field-steps", type=int, default=30)
    t.add_argument("--cpu-minutes", type=float, default=0.0)
    t.add_argument("--save")
    t.add_argument("--init", help="a saved DBM (.keras) to continue training")
    for q in (sub.add_parser("bound"), sub.add_parser("classify"), sub.add_parser("samples")):
        q.add_argument("model")
    b = sub.choices["bound"]
    b.add_argument("--n-betas", type=int, default=20000)
    b.add_argument("--runs", type=int, default=100)
    b.add_argument("--single", action="store_true", help="only the --n-betas schedule")
    c = sub.choices["classify"]
    c.add_argument("--epochs", type=int, default=30)
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--dropout", type=float, default=0.0)
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
    {"train": train, "bound": bound, "classify": classify, "samples": samples,
     "exact-check": exact_check}[args.part](args)


if __name__ == "__main__":
    main()
