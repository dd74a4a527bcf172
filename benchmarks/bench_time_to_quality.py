"""Time to quality (issue 33, item 1): how soon each library has a good MNIST RBM-500.

Each library trains an MNIST RBM with 500 hidden units in its own process, and saves its
weights whenever the process's CPU time (user + system, all threads) passes a checkpoint
(``--checkpoints``, CPU-minutes). Every checkpoint is then loaded into a ``tfrbm.RBMModel`` and
judged by the same sandwich (``bench_likelihood.py --load``: RAISE below, AIS above, on the
schedule K/2 and K, 100 runs, on the test set binarized once), in a process of its own.
The table reports the conservative bound, RAISE minus 1.96 standard errors, against CPU time,
with the AIS diagnostics (ESS, change of log Z when the betas doubled) beside it.

Sides (``--sides``):

* ``tfrbm-cli``: the recipe of ``tfrbm rbm train --data mnist`` (``RBMModel`` defaults: CD-1 with
  centering; SGD 0.05, momentum 0.9; batch 100; images binarized afresh every epoch; visible
  biases at the pixels' log-odds), checkpointed at epoch ends. It is built from the public API
  step by step, as ``tfrbm.pipelines.rbm_images.train_rbm_on_images`` builds it, because that
  pipeline also evaluates the test set every epoch and draws figures, CPU time that is not
  training.
* ``tfrbm-pcd``: the same with ``persistent=True`` (100 chains), the recipe that won at an equal
  CPU budget (HISTORY.md "Likelihoods with both sides").
* ``sklearn``: ``sklearn.neural_network.BernoulliRBM`` with its defaults (batch 10) at the
  learning rate that wins a short sweep (``--sweep-lrs``, judged at ``--sweep-minutes``),
  trained through ``partial_fit`` one batch at a time over the rows in order, as its ``fit``
  does, on the training images binarized once; native BLAS kernels (printed).

    python benchmarks/bench_time_to_quality.py run --checkpoints 1,2,5,10 --out /tmp/ttq

Every process runs on one thread (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and TensorFlow's
intra- and inter-op pools set to 1), so CPU time is the clock and two jobs (``--jobs``) can run
side by side on two cores without one library's spinning thread pool charging the other's time.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import sys
import time

from harness import (binarized_mnist, blas_kernels, command_line, cpu_seconds, kernel_tag, log,
                     run_side, uptime_line)

HERE = pathlib.Path(__file__).resolve().parent
HIDDEN = 500
#: every process of this benchmark runs on one thread (see the module docstring)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def _checkpoints(text):
    marks = sorted(float(m) for m in text.split(","))
    if not marks or marks[0] <= 0:
        raise argparse.ArgumentTypeError("checkpoints are positive CPU-minutes, e.g. 1,2,5,10")
    return marks


def _save_npz(path, kernel, visible_bias, hidden_bias, **meta):
    import numpy as np
    np.savez(path, kernel=kernel, visible_bias=visible_bias, hidden_bias=hidden_bias,
             meta=json.dumps(meta))


# ---------------------------------------------------------------------------- training sides
def train_tfrbm(args):
    import keras

    from tfrbm.data import images
    from tfrbm.data.pipeline import binarize
    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.pipelines.rbm_images import RBMImageConfig
    from tfrbm.resume import epoch_keyed_dataset

    # the settings `tfrbm rbm train --data mnist` takes by default (its config holds them)
    config = RBMImageConfig(data="mnist")
    _, _, batch_size, learning_rate = config.resolved()
    keras.utils.set_random_seed(args.seed)
    c0 = cpu_seconds()
    x, _ = images.load_images("mnist", split="train")
    data, _ = epoch_keyed_dataset(x, callbacks=[], batch_size=batch_size, shuffle=True,
                                  seed=args.seed, binarize=config.binarize)
    model = RBMModel(RBMLayer(HIDDEN), persistent=args.side == "tfrbm-pcd", seed=args.seed)
    model.compile(optimizer=keras.optimizers.SGD(args.lr or learning_rate,
                                                 momentum=config.momentum))
    model.build((None, x.shape[1]))
    model.initialize_from_data(binarize(x[:20000], config.binarize, seed=args.seed))
    marks, out = list(args.checkpoints), pathlib.Path(args.out)

    class Checkpoints(keras.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            Checkpoints.epochs += 1
            used = cpu_seconds() - c0
            while marks and used >= 60 * marks[0]:
                layer = model.layer
                _save_npz(out / f"{args.side}_{marks.pop(0):g}min.npz", layer.kernel.numpy(),
                          layer.visible_bias.numpy(), layer.hidden_bias.numpy(),
                          side=args.side, cpu_s=round(used, 1), epochs=Checkpoints.epochs,
                          examples=Checkpoints.epochs * len(x), centering=model.centering)
            if not marks:
                model.stop_training = True

    model.fit(data, epochs=10 ** 6, verbose=0, callbacks=[Checkpoints()])
    return {"side": args.side, "blas": "TensorFlow (oneDNN)", "epochs": Checkpoints.epochs}


def train_sklearn(args):
    import numpy as np
    from sklearn.neural_network import BernoulliRBM

    c0 = cpu_seconds()
    x = binarized_mnist("train")
    rbm = BernoulliRBM(n_components=HIDDEN, learning_rate=args.lr or 0.1, random_state=args.seed)
    batch = rbm.batch_size
    marks, out, updates = list(args.checkpoints), pathlib.Path(args.out), 0
    tag = args.tag or f"sklearn-lr{args.lr or 0.1:g}"
    while marks:
        for start in range(0, len(x), batch):    # fit's batches: the rows in order
            rbm.partial_fit(x[start:start + batch])
            updates += 1
            if updates % 100:
                continue
            used = cpu_seconds() - c0
            while marks and used >= 60 * marks[0]:
                _save_npz(out / f"{tag}_{marks.pop(0):g}min.npz", rbm.components_.T,
                          rbm.intercept_visible_, rbm.intercept_hidden_, side=tag,
                          cpu_s=round(used, 1), examples=updates * batch,
                          learning_rate=rbm.learning_rate)
            if not marks:
                break
    return {"side": tag, "blas": blas_kernels(), "updates": updates,
            "dtype": str(np.asarray(rbm.components_).dtype)}


# ---------------------------------------------------------------------------- judging
def to_keras(npz_path):
    """A checkpoint's weights as an ``RBMModel`` saved beside it (.keras)."""
    import numpy as np

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel

    w = np.load(npz_path)
    model = RBMModel(RBMLayer(w["kernel"].shape[1]), centering=False)
    model.build((None, w["kernel"].shape[0]))
    model.layer.kernel.assign(w["kernel"].astype("float32"))
    model.layer.visible_bias.assign(w["visible_bias"].astype("float32"))
    model.layer.hidden_bias.assign(w["hidden_bias"].astype("float32"))
    path = str(npz_path).replace(".npz", ".keras")
    model.save(path)
    return path


def judge(args):
    """Run the sandwich on one checkpoint in its own process; print its last row as JSON."""
    import numpy as np
    meta = json.loads(str(np.load(args.checkpoint)["meta"]))
    final = _run_script(HERE / "bench_likelihood.py",
                        ["--load", to_keras(args.checkpoint), "--n-betas", args.n_betas,
                         "--doublings", 1, "--raise-rows", args.raise_rows, "--seed", 1])
    conservative = final["test_ll_lower_raise"] - 1.96 * final["test_ll_lower_se"]
    return dict(meta, checkpoint=os.path.basename(args.checkpoint),
                conservative_bound=round(conservative, 2),
                raise_lower=round(final["test_ll_lower_raise"], 2),
                raise_se=round(final["test_ll_lower_se"], 2),
                ais_upper=round(final["test_ll_upper_ais"], 2),
                ais_ess=round(final["ais_ess"], 1), betas=final["betas"],
                log_z_change_on_doubling=round(final["log_z_change_on_doubling"], 3))


def _run_script(script, argv, native_blas=False):
    """``python SCRIPT ARGV`` in its own one-thread process (:data:`ONE_THREAD`); its last line,
    parsed as JSON."""
    return run_side(script, argv, native_blas=native_blas, env=ONE_THREAD)


# ---------------------------------------------------------------------------- the whole run
def run(args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    me = pathlib.Path(__file__).resolve()
    log(command_line(__file__), "|", uptime_line())
    sides = [s for s in args.sides.split(",") if s]

    def judged(tag, minutes):
        row = _run_script(me, ["judge", out / f"{tag}_{minutes:g}min.npz", "--n-betas",
                               args.n_betas, "--raise-rows", args.raise_rows])
        log(json.dumps(row))
        return row

    def side(name, lr=None, tag=None, marks=args.checkpoints):
        argv = ["train", "--side", name, "--out", out,
                "--checkpoints", ",".join(f"{m:g}" for m in marks)]
        if lr is not None:
            argv += ["--lr", lr]
        if tag is not None:
            argv += ["--tag", tag]
        t0 = time.perf_counter()
        info = _run_script(me, argv, native_blas=name == "sklearn")
        log(json.dumps(dict(info, train_wall_s=round(time.perf_counter() - t0, 1))))
        kernels = kernel_tag(info["blas"]) if isinstance(info["blas"], list) else info["blas"]
        return [dict(judged(info["side"], m), kernels=kernels) for m in marks]

    pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
    sweep = {}
    if "sklearn" in sides:     # its learning rate: a short sweep, judged like the rest
        sweep = {float(lr): pool.submit(side, "sklearn", lr, f"sweep-sklearn-lr{float(lr):g}",
                                        [args.sweep_minutes])
                 for lr in args.sweep_lrs.split(",")}
    runs = [pool.submit(side, name) for name in sides if name != "sklearn"]
    if sweep:
        scores = {lr: f.result()[-1]["conservative_bound"] for lr, f in sweep.items()}
        best_lr = max(scores, key=scores.get)
        log(f"scikit-learn's conservative bound at {args.sweep_minutes:g} CPU-minutes by "
            f"learning rate: {scores}; best {best_lr:g}")
        runs.append(pool.submit(side, "sklearn", best_lr))
    table = [row for f in runs for row in f.result()]
    pool.shutdown()
    log("\n| side | CPU-min (CPU s) | examples | conservative bound | RAISE | AIS | ESS | "
        "log Z change on doubling | kernels |\n|---|---|---|---|---|---|---|---|---|")
    for r in table:
        log(f"| {r['side']} | {r['checkpoint'].rsplit('_', 1)[1][:-7]} ({r['cpu_s']}) | "
            f"{r['examples']:,} | {r['conservative_bound']} | {r['raise_lower']} +- "
            f"{r['raise_se']} | {r['ais_upper']} | {r['ais_ess']} | "
            f"{r['log_z_change_on_doubling']:+} | {r['kernels']} |")
    for name in dict.fromkeys(r["side"] for r in table):
        first = [r for r in table if r["side"] == name and r["conservative_bound"] >= args.goal]
        log(f"{name}: first conservative bound >= {args.goal:g}: "
            + (f"{first[0]['cpu_s']} CPU s" if first else "not reached"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="part", required=True)
    t = sub.add_parser("train", help="one side, in this process")
    t.add_argument("--side", choices=("tfrbm-cli", "tfrbm-pcd", "sklearn"), required=True)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--tag", default=None)
    j = sub.add_parser("judge", help="the sandwich on one checkpoint (.npz)")
    j.add_argument("checkpoint")
    r = sub.add_parser("run", help="every side, then every checkpoint judged")
    r.add_argument("--sides", default="tfrbm-cli,tfrbm-pcd,sklearn")
    r.add_argument("--sweep-lrs", default="0.01,0.03,0.1")
    r.add_argument("--sweep-minutes", type=float, default=2.0)
    r.add_argument("--goal", type=float, default=-100.0)
    r.add_argument("--jobs", type=int, default=2, help="processes at once (one thread each)")
    for q in (t, r):
        q.add_argument("--checkpoints", type=_checkpoints, default=[1, 2, 5, 10, 30])
        q.add_argument("--out", required=True)
    for q in (j, r):
        q.add_argument("--n-betas", type=int, default=10000)
        q.add_argument("--raise-rows", type=int, default=100)
    for q in sub.choices.values():
        q.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    result = {"train": lambda a: train_tfrbm(a) if a.side.startswith("tfrbm") else train_sklearn(a),
              "judge": judge, "run": run}[args.part](args)
    if result is not None:
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
