"""Greedy DBN pre-training, then a fine-tuned classifier: the pipeline behind ``tfrbm dbn train``.

    from tfrbm.pipelines.dbn import DBNTrainingConfig, train_dbn
    result = train_dbn(DBNTrainingConfig(data="digits", layers=(64, 32)))
    result.metrics["test_accuracy"]

:class:`DBNTrainingConfig` is the one place the pipeline's defaults live; the command's options
take theirs from it. ``epochs`` (per layer), ``batch_size`` and ``finetune_epochs`` left at None
follow from the data size (:func:`tfrbm.models.dbn.default_schedule`): about 3,000 CD updates
per layer and ``finetune_updates`` fine-tuning updates, with batches of 100 (or n/50 for small
sets). The pre-training steps are public (:func:`build_dbn`, :func:`pretrain_dbn`), so that a
benchmark runs the same recipe with its own fine-tuning.
"""
import dataclasses
import math
import pathlib
import time

from tfrbm.backupdir import claim_backup_dir, remove_backup
from tfrbm.data.images import load_images
from tfrbm.errors import UserError
from tfrbm.pipelines.config import (DIGITS_HOLDOUT, FINETUNE, IMAGE_DATA, SEED, PipelineConfig,
                                    check_digits_holdout, resolve_finetune_epochs)
from tfrbm.pipelines.outputs import save_models, save_samples
from tfrbm.validation import (BOOLEAN, POSITIVE, POSITIVE_INT, SIZES)

__all__ = ["DBNTrainingConfig", "DBNTrainingResult", "train_dbn", "build_dbn", "pretrain_dbn"]


@dataclasses.dataclass(frozen=True)
class DBNTrainingConfig(PipelineConfig):
    """Every setting of :func:`train_dbn`, with its default.

    data: "digits" (embedded 8x8), "mnist" or "fashion_mnist"; data_dir: the folder holding it.
    layers: hidden sizes, bottom first. epochs: pre-training epochs per layer (None: about 3,000
    updates a layer). cd_k, persistent, learning_rate: each RBM's CD-k / PCD and SGD rate.
    batch_size: None for 100, or n/50 (at least 10) on smaller sets. finetune_epochs: None for
    about ``finetune_updates`` updates; finetune_lr: the classifier's Adam rate. limit: use the
    first N train and test examples. sample_steps: Gibbs steps in the top RBM for the samples.
    holdout: the digits' 297 test images (:func:`tfrbm.data.images.load_digits`): None or
    "stratified" for a fixed class-stratified draw, "last" for the last 297 (mostly unseen
    writers, a harder split); MNIST and Fashion-MNIST have one test split, so it must be None.
    """
    data: str = "digits"
    data_dir: str = None
    holdout: str = None
    layers: tuple = (500, 500)
    epochs: int = None
    cd_k: int = 1
    persistent: bool = False
    learning_rate: float = 0.1
    batch_size: int = None
    finetune_epochs: int = None
    finetune_lr: float = 1e-3
    finetune_updates: int = 3000
    limit: int = None
    seed: int = 0
    sample_steps: int = 1000

    _parameter_constraints = {
        **IMAGE_DATA,
        **DIGITS_HOLDOUT,
        "layers": [SIZES],
        "epochs": [None] + POSITIVE_INT,
        "cd_k": POSITIVE_INT,
        "persistent": [BOOLEAN],
        "learning_rate": POSITIVE,
        "batch_size": [None] + POSITIVE_INT,
        **FINETUNE,
        "limit": [None] + POSITIVE_INT,
        "seed": SEED,
        "sample_steps": POSITIVE_INT,
    }

    def check(self):
        check_digits_holdout(self)

    @property
    def digits_holdout(self):
        """The holdout used: "stratified" unless set, for the digits; None for the others."""
        return (self.holdout or "stratified") if self.data == "digits" else None


@dataclasses.dataclass
class DBNTrainingResult:
    """What :func:`train_dbn` made: the metrics (one flat dict, JSON-ready), the pre-trained
    ``dbn``, the fine-tuned ``classifier`` and the Keras histories (one per layer, then the
    fine-tuning's)."""
    metrics: dict
    dbn: object
    classifier: object
    pretrain_histories: list
    finetune_history: object


def _keras_path(path, what):
    if path and not str(path).endswith(".keras"):
        raise UserError(f"{what} must end in .keras, got {str(path)!r}")


def build_dbn(config):
    """The (unbuilt) :class:`tfrbm.DBNModel` of ``config.layers`` (seeded with ``config.seed``)."""
    from tfrbm.models.dbn import DBNModel
    return DBNModel(list(config.layers), seed=config.seed)


def pretrain_dbn(dbn, x, config, epochs, batch_size, verbose=0, callbacks=(), **rbm_kwargs):
    """Greedy layer-wise pre-training of ``dbn`` on ``x``: each RBM by CD-``config.cd_k`` (PCD
    with ``config.persistent``) under SGD at ``config.learning_rate`` (momentum 0.5), ``epochs``
    per layer, batches of ``batch_size``; ``rbm_kwargs`` are further RBMModel arguments for
    every layer (``weight_decay``, ...). Returns the per-layer Histories."""
    return dbn.pretrain(x, epochs=epochs, cd_k=config.cd_k, persistent=config.persistent,
                        learning_rate=config.learning_rate, batch_size=batch_size,
                        verbose=verbose, callbacks=list(callbacks), **rbm_kwargs)


def train_dbn(config=None, *, output=None, dbn_output=None, samples=None, backup=None, verbose=0,
              **settings):
    """Pre-train a DBN on ``config.data``, fine-tune a classifier and evaluate it on the test split.

    ``config`` is a :class:`DBNTrainingConfig` (default: its defaults); keyword ``settings``
    replace single fields of it (``train_dbn(layers=(64, 32), epochs=5)``). ``output`` saves the
    fine-tuned classifier and ``dbn_output`` the pre-trained DBN (``.keras``, atomically);
    ``samples`` writes an 8x8 grid of DBN fantasies (``.png``). ``backup`` is a folder for
    resumable training: finished layers are restored and skipped, fine-tuning resumes by epoch.
    Returns a :class:`DBNTrainingResult`.
    """
    import keras

    from tfrbm.models.dbn import default_schedule
    from tfrbm.resume import epoch_keyed_dataset

    config = DBNTrainingConfig.resolve(config, **settings)
    _keras_path(output, "output")
    _keras_path(dbn_output, "dbn_output")
    keras.utils.set_random_seed(config.seed)
    holdout = config.digits_holdout
    x, y = load_images(config.data, "train", data_dir=config.data_dir, holdout=holdout)
    xt, yt = load_images(config.data, "test", data_dir=config.data_dir, holdout=holdout)
    if config.limit is not None:
        x, y, xt, yt = (a[:config.limit] for a in (x, y, xt, yt))
    batch_size, default_epochs = default_schedule(len(x), config.batch_size)
    epochs = config.epochs or default_epochs
    finetune_epochs = resolve_finetune_epochs(config, math.ceil(len(x) / batch_size))
    dbn = build_dbn(config)
    pretrain_callbacks, finetune_callbacks = [], []
    if backup:
        from tfrbm.resume import DBNPretrainBackup, TrainingBackup
        claim_backup_dir(backup)   # a new, empty or tfrbm backup folder: nothing of the user's
        # the pre-training backup is kept until fine-tuning ends, so a kill during fine-tuning
        # does not pre-train again
        pretrain_callbacks = [DBNPretrainBackup(dbn, str(pathlib.Path(backup) / "pretrain"),
                                                delete_checkpoint=False)]
        finetune_callbacks = [TrainingBackup(str(pathlib.Path(backup) / "finetune"))]
    t0 = time.time()
    histories = pretrain_dbn(dbn, x, config, epochs, batch_size, verbose=verbose,
                             callbacks=pretrain_callbacks)
    metrics = {"data": config.data, "holdout": holdout, "layers": ",".join(map(str, config.layers)), "epochs": epochs,
               "batch_size": batch_size, "pretrain_seconds": round(time.time() - t0, 2)}
    for i, h in enumerate(histories):
        metrics[f"layer{i + 1}_reconstruction_error"] = h.history["reconstruction_error"][-1]
    clf = dbn.to_classifier(int(max(y.max(), yt.max())) + 1,
                            optimizer=keras.optimizers.Adam(config.finetune_lr))
    t0 = time.time()
    # keyed on the epoch: a fine-tuning resumed from the backup replays the right order
    train, finetune_callbacks = epoch_keyed_dataset(x, y, finetune_callbacks, batch_size=batch_size,
                                                    shuffle=True, seed=config.seed)
    finetune_history = clf.fit(train, epochs=finetune_epochs, verbose=verbose, shuffle=False,
                               callbacks=finetune_callbacks)
    metrics["finetune_seconds"] = round(time.time() - t0, 2)
    if backup:
        remove_backup(backup)   # the sub-backups and the marker, by name; never a user's file
    loss, acc = clf.evaluate(xt, yt, verbose=0, batch_size=1000)
    metrics.update(test_accuracy=float(acc), test_loss=float(loss), finetune_epochs=finetune_epochs)
    save_models(metrics, ((clf, output, "output"), (dbn, dbn_output, "dbn_output")))
    save_samples(metrics, dbn, samples, config,
                 f"DBN samples ({config.sample_steps} Gibbs steps in the top RBM)")
    return DBNTrainingResult(metrics, dbn, clf, histories, finetune_history)
