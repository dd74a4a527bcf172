"""``tfrbm dbn train``: greedy DBN pre-training, then a fine-tuned classifier (and optional samples).

    tfrbm dbn train --json                     # embedded 8x8 digits, defaults from the data size
    tfrbm dbn train --data mnist --data-dir ../shared/datasets --layers 500,200,50 \\
        --epochs 5 --finetune-epochs 10 --output dbn_classifier.keras --samples samples.png
"""
import pathlib
import time
from tfrbm.errors import UserError

from tfrbm import argtypes as at
from tfrbm.cli import add_training_options

__all__ = ["register", "run_dbn_train", "parse_layers"]


def parse_layers(text):
    """'500,200,50' -> [500, 200, 50]; ValueError for anything but positive integers."""
    try:
        sizes = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--layers must be comma-separated positive integers, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise UserError(f"--layers must be comma-separated positive integers, got {text!r}")
    return sizes


#: fine-tuning updates when --finetune-epochs is not given (epochs follow from the data size)
FINETUNE_UPDATES = 3000


def run_dbn_train(data="digits", data_dir=None, layers=(500, 200, 50), epochs=None, cd_k=1,
                  persistent=False, learning_rate=0.1, batch_size=None, finetune_epochs=None,
                  finetune_lr=1e-3, limit=None, seed=0, output=None, dbn_output=None,
                  samples=None, sample_steps=1000, verbose=0, backup=None):
    """Pre-train a DBN on ``data``, fine-tune a classifier, evaluate it; returns a metrics dict.

    ``epochs`` (per layer), ``batch_size`` and ``finetune_epochs`` default to values that follow
    from the data size (:func:`tfrbm.models.dbn.default_schedule`): about 3,000 CD updates per
    layer and 3,000 fine-tuning updates, with batches of 100 (or n/50 for small sets).
    """
    import keras
    import numpy as np

    from tfrbm.data.images import image_shape, load_images
    from tfrbm.models.dbn import DBNModel

    for name, value in (("--epochs", epochs), ("--finetune-epochs", finetune_epochs),
                        ("--batch-size", batch_size)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise UserError(f"{name} must be a positive integer, got {value!r}")
    for path, what in ((output, "--output"), (dbn_output, "--dbn-output")):
        if path and not str(path).endswith(".keras"):
            raise UserError(f"{what} must end in .keras, got {str(path)!r}")
    keras.utils.set_random_seed(seed)
    split_train, split_test = "train", "test"
    x, y = load_images(data, split_train, data_dir=data_dir)
    xt, yt = load_images(data, split_test, data_dir=data_dir)
    if limit is not None:
        if limit < 1:
            raise UserError(f"--limit must be a positive integer, got {limit!r}")
        x, y, xt, yt = x[:limit], y[:limit], xt[:limit], yt[:limit]
    from tfrbm.models.dbn import default_schedule
    batch_size, default_epochs = default_schedule(len(x), batch_size)
    epochs = epochs or default_epochs
    if finetune_epochs is None:
        finetune_epochs = max(1, -(-FINETUNE_UPDATES // -(-len(x) // batch_size)))
    dbn = DBNModel(list(layers), seed=seed)
    t0 = time.time()
    pretrain_callbacks, finetune_callbacks = [], []
    if backup:   # finished layers are restored and skipped; fine-tuning resumes by epoch
        from tfrbm.resume import DBNPretrainBackup, TrainingBackup
        # the pre-training backup is kept until fine-tuning ends, so a kill during fine-tuning
        # does not pre-train again
        pretrain_callbacks = [DBNPretrainBackup(dbn, str(pathlib.Path(backup) / "pretrain"),
                                                delete_checkpoint=False)]
        finetune_callbacks = [TrainingBackup(str(pathlib.Path(backup) / "finetune"))]
    histories = dbn.pretrain(x, epochs=epochs, cd_k=cd_k, persistent=persistent,
                             learning_rate=learning_rate, batch_size=batch_size, verbose=verbose,
                             callbacks=pretrain_callbacks)
    pretrain_seconds = time.time() - t0
    metrics = {"data": data, "layers": ",".join(map(str, layers)), "epochs": epochs,
               "batch_size": batch_size, "pretrain_seconds": round(pretrain_seconds, 2)}
    for i, h in enumerate(histories):
        err = h.history["reconstruction_error"]
        metrics[f"layer{i + 1}_reconstruction_error"] = err[-1]
        print(f"layer {i + 1}: reconstruction error {err[0]:.4f} -> {err[-1]:.4f}", flush=True)
    clf = dbn.to_classifier(int(max(y.max(), yt.max())) + 1,
                            optimizer=keras.optimizers.Adam(finetune_lr))
    t0 = time.time()
    clf.fit(x, y, epochs=finetune_epochs, batch_size=batch_size, verbose=verbose,
            callbacks=finetune_callbacks)
    metrics["finetune_seconds"] = round(time.time() - t0, 2)
    if backup:
        import shutil
        shutil.rmtree(pathlib.Path(backup) / "pretrain", ignore_errors=True)
    loss, acc = clf.evaluate(xt, yt, verbose=0, batch_size=1000)
    metrics.update(test_accuracy=float(acc), test_loss=float(loss),
                   finetune_epochs=finetune_epochs)
    print(f"fine-tuned classifier: test accuracy {acc:.4f}", flush=True)
    if output:
        from tfrbm.safety import atomic_save
        atomic_save(clf, output)
        metrics["output"] = str(output)
    if dbn_output:
        from tfrbm.safety import atomic_save
        atomic_save(dbn, dbn_output)
        metrics["dbn_output"] = str(dbn_output)
    if samples:
        from tfrbm import viz
        fantasies = dbn.sample(64, steps=sample_steps, seed=seed)
        viz.image_grid(np.asarray(fantasies), nrows=8, ncols=8, shape=image_shape(data),
                       title=f"DBN samples ({sample_steps} Gibbs steps in the top RBM)", path=samples)
        metrics["samples"] = str(samples)
    return metrics


def _layers_arg(text):
    import argparse
    try:
        return parse_layers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--layers ", "")) from None


def _outputs(args):
    """``--output DIR`` holds model.keras, dbn.keras and samples.png; the file options
    (``--model-file``, ``--dbn-output``, ``--samples``) name single files instead."""
    folder = pathlib.Path(args.output) if args.output else None
    classifier = at.model_path(args)
    dbn = args.dbn_output or (folder / "dbn.keras" if folder else None)
    samples = args.samples or (folder / "samples.png" if folder else None)
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    return classifier, dbn, samples


def _train(args):
    from tfrbm.cli import print_json
    classifier, dbn_file, samples = _outputs(args)
    metrics = run_dbn_train(
        data=args.data, data_dir=args.data_dir, layers=args.layers,
        epochs=args.epochs, cd_k=args.cd_k, persistent=args.persistent,
        learning_rate=args.learning_rate, batch_size=args.batch_size,
        finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr, limit=args.limit,
        seed=args.seed, output=classifier, dbn_output=dbn_file, samples=samples,
        sample_steps=args.sample_steps, verbose=args.verbose, backup=args.backup)
    if args.json:
        print_json(metrics)
    return 0


def register(subparsers):
    p = subparsers.add_parser("dbn", help="deep belief networks: greedy pre-training + fine-tuning")
    sub = p.add_subparsers(dest="dbn_command", metavar="ACTION")
    t = sub.add_parser("train", help="pre-train a DBN, fine-tune a classifier, report test accuracy")
    t.add_argument("--data", choices=("digits", "mnist", "fashion_mnist"), default="digits")
    t.add_argument("--data-dir", type=at.existing_dir, default=None,
                   help="folder holding mnist/ (IDX .gz files)")
    t.add_argument("--layers", type=_layers_arg, default="500,200,50", help="hidden sizes, bottom first")
    t.add_argument("--epochs", type=at.positive_int, default=None,
                   help="pre-training epochs per layer (default: about 3,000 updates a layer)")
    t.add_argument("--cd-k", type=at.positive_int, default=1)
    t.add_argument("--persistent", action="store_true", help="persistent CD")
    t.add_argument("--learning-rate", "--lr", type=at.positive_float, default=0.1,
                   help="RBM SGD learning rate")
    t.add_argument("--batch-size", type=at.positive_int, default=None,
                   help="default 100, or n/50 (at least 10) for smaller data sets")
    t.add_argument("--finetune-epochs", type=at.positive_int, default=None,
                   help="default: about 3,000 fine-tuning updates")
    t.add_argument("--finetune-learning-rate", "--finetune-lr", dest="finetune_lr",
                   type=at.positive_float, default=1e-3, help="Adam learning rate")
    t.add_argument("--limit", type=at.positive_int, default=None,
                   help="use the first N train/test examples")
    t.add_argument("--seed", type=int, default=0)
    at.add_output_options(t, "model.keras (the fine-tuned classifier), dbn.keras and samples.png")
    t.add_argument("--dbn-output", type=at.keras_file, default=None,
                   help="save the pre-trained DBN (.keras)")
    t.add_argument("--samples", type=at.output_file(".png"), default=None,
                   help="save an 8x8 grid of DBN samples (.png)")
    t.add_argument("--sample-steps", type=at.positive_int, default=1000)
    t.add_argument("--verbose", type=int, default=0)
    t.add_argument("--json", action="store_true", help="end with one JSON line of metrics")
    add_training_options(t)
    t.set_defaults(func=_train)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
