"""A deep Boltzmann machine, its likelihood bound and its classifier: the pipeline behind
``tfrbm dbm train``.

    from tfrbm.pipelines.dbm import DBMTrainingConfig, train_dbm
    result = train_dbm(DBMTrainingConfig(data="digits"))
    result.metrics["test_accuracy"], result.metrics["test_bound"]

:class:`DBMTrainingConfig` holds the defaults. The steps, each public so that a benchmark runs
the same recipe piece by piece (:func:`build_dbm`, :func:`compile_dbm`,
:func:`finetune_classifier`, :func:`binarize_once`): greedy pretraining of the modified
RBM stack and joint training (:class:`tfrbm.DBMModel`), log Z by AIS with the schedule doubled
(:func:`tfrbm.likelihood.dbm.ais_with_doubling`), the mean-field lower bound on the training
and test data, and the classifier initialised from the DBM, fine-tuned by backprop.

Binary data: the bound is a bound on log p(v) for binary v, so it is computed on a copy of the
data binarized once by sampling (pixel ~ Bernoulli(intensity), fixed seed). ``binarize``
(default: True for MNIST and Fashion-MNIST, False for the 8x8 digits, whose 17 grey levels carry
much of their information) says whether training and the classifier use that binary copy too or
the intensities as probabilities.
"""
import dataclasses
import math
import time
from numbers import Integral, Real

import numpy as np

from tfrbm.data.images import load_images
from tfrbm.errors import UserError
from tfrbm.pipelines.config import (DIGITS_HOLDOUT, FINETUNE, IMAGE_DATA, SEED, PipelineConfig,
                                    check_digits_holdout, resolve_finetune_epochs)
from tfrbm.pipelines.outputs import save_models, save_samples
from tfrbm.validation import (BOOLEAN, POSITIVE, POSITIVE_INT, SIZES, Interval)

__all__ = ["DBMTrainingConfig", "DBMTrainingResult", "train_dbm", "binarize_once", "build_dbm",
           "compile_dbm", "finetune_classifier"]


@dataclasses.dataclass(frozen=True)
class DBMTrainingConfig(PipelineConfig):
    """Every setting of :func:`train_dbm`, with its default.

    data: "digits" (embedded 8x8), "mnist" or "fashion_mnist"; data_dir: the folder holding it;
    holdout: the digits' test images ("stratified" by default, or "last"). hidden: hidden layer
    sizes. pretrain_epochs: epochs per pretraining RBM (None: about 3,000 updates a layer).
    epochs: joint training epochs (None: about ``updates`` updates). learning_rate: the joint
    training's SGD rate (with ``momentum``), decaying linearly to ``final_lr_fraction`` of
    itself. n_chains, gibbs_steps, mean_field_steps, weight_decay, pretrain_learning_rate: as
    :class:`tfrbm.DBMModel`. batch_size: None for 100, or n/50 (at least
    10). ais_runs, ais_betas: AIS runs and the shorter schedule (it is doubled for the check).
    finetune_epochs: None for about ``finetune_updates`` updates; finetune_lr: Adam's rate.
    binarize: None for the data set's default (see the module docstring). limit: the first N
    train and test examples. sample_steps: Gibbs sweeps for the samples.
    """
    data: str = "digits"
    data_dir: str = None
    holdout: str = None
    hidden: tuple = (200, 200)
    pretrain_epochs: int = None
    epochs: int = None
    updates: int = 3000
    learning_rate: float = 0.005
    momentum: float = 0.9
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.0
    pretrain_learning_rate: float = 0.05
    n_chains: int = 100
    gibbs_steps: int = 5
    mean_field_steps: int = 30
    batch_size: int = None
    ais_runs: int = 100
    ais_betas: int = 2000
    finetune_epochs: int = None
    finetune_lr: float = 1e-3
    finetune_updates: int = 3000
    binarize: bool = None
    limit: int = None
    seed: int = 0
    sample_steps: int = 1000

    _parameter_constraints = {
        **IMAGE_DATA,
        **DIGITS_HOLDOUT,
        "hidden": [SIZES],
        "pretrain_epochs": [None, Interval(Integral, 0, None)],
        "epochs": [None] + POSITIVE_INT,
        "updates": POSITIVE_INT,
        "learning_rate": POSITIVE,
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "final_lr_fraction": [Interval(Real, 0, 1, closed="both")],
        "weight_decay": [Interval(Real, 0, None)],
        "pretrain_learning_rate": POSITIVE,
        "n_chains": POSITIVE_INT,
        "gibbs_steps": POSITIVE_INT,
        "mean_field_steps": POSITIVE_INT,
        "batch_size": [None] + POSITIVE_INT,
        "ais_runs": [Interval(Integral, 2, None)],
        "ais_betas": [Interval(Integral, 3, None)],
        **FINETUNE,
        "binarize": [None, BOOLEAN],
        "limit": [None] + POSITIVE_INT,
        "seed": SEED,
        "sample_steps": POSITIVE_INT,
    }

    def check(self):
        self.set_checked("hidden", tuple(self.hidden))
        check_digits_holdout(self)

    @property
    def binary_data(self):
        """Whether training uses the once-binarized data (the default depends on the data)."""
        return self.data != "digits" if self.binarize is None else bool(self.binarize)


@dataclasses.dataclass
class DBMTrainingResult:
    """What :func:`train_dbm` made: the metrics (one flat JSON-ready dict), the ``dbm``, the
    fine-tuned ``classifier``, the AIS result and the Keras histories."""
    metrics: dict
    dbm: object
    classifier: object
    ais: object
    history: object
    finetune_history: object


def binarize_once(x, seed):
    """``x`` (intensities in [0, 1]) binarized once by sampling: pixel ~ Bernoulli(intensity),
    numpy ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape) < x).astype(np.float32)


def build_dbm(config):
    """The (unbuilt) :class:`tfrbm.DBMModel` that ``config`` describes."""
    from tfrbm.models.dbm import DBMModel
    return DBMModel(hidden=list(config.hidden), seed=config.seed, n_chains=config.n_chains,
                    gibbs_steps=config.gibbs_steps, mean_field_steps=config.mean_field_steps,
                    pretrain_epochs=config.pretrain_epochs,
                    pretrain_learning_rate=config.pretrain_learning_rate,
                    weight_decay=config.weight_decay)


def compile_dbm(dbm, config, n_rows):
    """Compile ``dbm`` for joint training on ``n_rows`` rows: SGD with ``config.momentum``, the
    rate decaying linearly from ``config.learning_rate`` to ``final_lr_fraction`` of it over
    the run. Returns (epochs, batch_size) of the run (:func:`tfrbm.models.dbn.default_schedule`
    and ``config.updates`` where ``config`` leaves them None)."""
    import keras

    from tfrbm.models.dbn import default_schedule

    batch_size, _ = default_schedule(n_rows, config.batch_size)
    steps_per_epoch = math.ceil(n_rows / batch_size)
    epochs = config.epochs or max(1, math.ceil(config.updates / steps_per_epoch))
    rate = keras.optimizers.schedules.PolynomialDecay(
        config.learning_rate, epochs * steps_per_epoch,
        config.learning_rate * config.final_lr_fraction)
    dbm.compile(optimizer=keras.optimizers.SGD(rate, momentum=config.momentum))
    return epochs, batch_size


def finetune_classifier(dbm, x, y, xt, yt, config, batch_size, dropout=0.0, verbose=0):
    """The classifier initialised from ``dbm`` (:meth:`tfrbm.DBMModel.to_classifier`, Adam at
    ``config.finetune_lr``, ``dropout``), fine-tuned on (x, y) for ``config.finetune_epochs``
    epochs (None: about ``config.finetune_updates`` updates) and evaluated on (xt, yt).
    Returns (classifier, History, metrics)."""
    import keras

    n_classes = int(max(y.max(), yt.max())) + 1
    clf = dbm.to_classifier(n_classes, optimizer=keras.optimizers.Adam(config.finetune_lr),
                            dropout=dropout)
    epochs = resolve_finetune_epochs(config, math.ceil(len(x) / batch_size))
    t0 = time.time()
    history = clf.fit(dbm.classifier_inputs(x), y, epochs=epochs, batch_size=batch_size,
                      verbose=verbose)
    _, acc = clf.evaluate(dbm.classifier_inputs(xt), yt, verbose=0, batch_size=1000)
    return clf, history, {"test_accuracy": float(acc), "finetune_epochs": epochs,
                          "finetune_seconds": round(time.time() - t0, 2)}


def train_dbm(config=None, *, output=None, dbm_output=None, samples=None, verbose=0, **settings):
    """Train a DBM on ``config.data``, estimate its bound, fine-tune a classifier.

    ``config`` is a :class:`DBMTrainingConfig` (``settings`` replace single fields);
    ``output`` saves the classifier, ``dbm_output`` the DBM (``.keras``, atomically),
    ``samples`` writes an 8x8 grid of samples (``.png``). Returns a :class:`DBMTrainingResult`.
    """
    import keras

    from tfrbm.likelihood import dbm as dbm_likelihood

    config = DBMTrainingConfig.resolve(config, **settings)
    for path, what in ((output, "output"), (dbm_output, "dbm_output")):
        if path and not str(path).endswith(".keras"):
            raise UserError(f"{what} must end in .keras, got {str(path)!r}")
    keras.utils.set_random_seed(config.seed)
    holdout = (config.holdout or "stratified") if config.data == "digits" else None
    x, y = load_images(config.data, "train", data_dir=config.data_dir, holdout=holdout)
    xt, yt = load_images(config.data, "test", data_dir=config.data_dir, holdout=holdout)
    if config.limit is not None:
        x, y, xt, yt = (a[:config.limit] for a in (x, y, xt, yt))
    xb, xtb = binarize_once(x, config.seed), binarize_once(xt, config.seed + 1)
    if config.binary_data:
        x, xt = xb, xtb
    dbm = build_dbm(config)
    epochs, batch_size = compile_dbm(dbm, config, len(x))
    t0 = time.time()
    history = dbm.fit(x, epochs=epochs, batch_size=batch_size, verbose=verbose)
    metrics = {"data": config.data, "holdout": holdout, "hidden": ",".join(map(str, config.hidden)),
               "binary_data": config.binary_data, "epochs": epochs, "batch_size": batch_size,
               "train_seconds": round(time.time() - t0, 2),
               "loss": float(history.history["loss"][-1]),
               "mean_field_steps": float(history.history["mean_field_steps"][-1])}
    t0 = time.time()
    ais = dbm_likelihood.ais_with_doubling(dbm, config.ais_betas, n_runs=config.ais_runs,
                                           seed=config.seed)
    train_u = float(np.mean(dbm.variational_bound(xb)))
    test_u = float(np.mean(dbm.variational_bound(xtb)))
    metrics.update(
        log_z=ais.log_z, log_z_lower=ais.log_z_lower, log_z_upper=ais.log_z_upper,
        ais_ess=ais.ess, ais_runs=ais.n_runs, ais_betas=ais.n_betas,
        ais_change_on_doubling=ais.change_on_doubling, ais_problems=ais.problems(),
        train_bound=train_u - ais.log_z, test_bound=test_u - ais.log_z,
        test_bound_lower=test_u - ais.log_z_upper, test_bound_upper=test_u - ais.log_z_lower,
        bound_seconds=round(time.time() - t0, 2))
    clf, finetune_history, finetune_metrics = finetune_classifier(
        dbm, x, y, xt, yt, config, batch_size, verbose=verbose)
    metrics.update(finetune_metrics)
    save_models(metrics, ((clf, output, "output"), (dbm, dbm_output, "dbm_output")))
    save_samples(metrics, dbm, samples, config,
                 f"DBM samples ({config.sample_steps} Gibbs sweeps)")
    return DBMTrainingResult(metrics, dbm, clf, ais, history, finetune_history)
