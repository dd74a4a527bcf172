"""An RBM trained on an image data set, with its figures: the pipeline behind ``tfrbm rbm train``.

    from tfrbm.pipelines.rbm_images import RBMImageConfig, train_rbm_on_images
    result = train_rbm_on_images(RBMImageConfig(data="digits", epochs=2, hidden=16,
                                                output="/tmp/rbm"))
    result.metrics["reconstruction_error"]

:class:`RBMImageConfig` is the one place the pipeline's defaults live (the command's options take
theirs from it) and where they are checked; ``hidden``, ``epochs``, ``batch_size`` and
``learning_rate`` left at None take the data set's values in :data:`IMAGE_DEFAULTS`.

Training is CD-k (or PCD with ``persistent=True``) under SGD with momentum, on images binarized
afresh every epoch (``binarize="stochastic"``); the visible biases start at the log-odds of the
training pixels' means. The output folder receives ``model.keras``, ``weights.png`` (the hidden
units' filters), ``samples.png`` (64 chains after 1,000 Gibbs steps), ``reconstructions.png``,
``training.png``, ``metrics.json`` and ``history.json``.
"""
import dataclasses
import json
import pathlib
import time

from tfrbm import viz
from tfrbm.data import images
from tfrbm.data.pipeline import binarize as binarize_array
from tfrbm.pipelines.config import DATA_DIR, PipelineConfig, SEED
from tfrbm.validation import (BOOLEAN, POSITIVE, POSITIVE_INT, Instance, Interval, Options,
                              Real)

__all__ = ["IMAGE_DEFAULTS", "RBMImageConfig", "RBMImageTrainingResult", "train_rbm_on_images"]

#: data set -> (hidden units, epochs, batch size, learning rate) used where those are None
IMAGE_DEFAULTS = {
    "digits": (64, 30, 32, 0.05),
    "mnist": (500, 5, 100, 0.05),
    "fashion_mnist": (500, 5, 100, 0.05),
}

#: rows of the training set whose pixel means set the visible biases
_INIT_ROWS = 20000


@dataclasses.dataclass(frozen=True)
class RBMImageConfig(PipelineConfig):
    """Every setting of :func:`train_rbm_on_images`, with its default.

    data: "digits", "mnist" or "fashion_mnist"; data_dir: the folder holding it. hidden, epochs,
    batch_size, learning_rate: None for the data set's values in :data:`IMAGE_DEFAULTS` (see
    :meth:`resolved`). momentum: SGD momentum. cd_k, persistent, n_chains: CD-k or PCD with that
    many chains. binarize: "stochastic" (a fresh draw each epoch), "threshold", or "none"/None
    for the grey levels. limit: keep the first N training images. seed: every random draw's.
    output: the folder for the model and figures. hidden_units: the hidden unit family,
    "bernoulli", "gaussian" or "relu" (:class:`tfrbm.units.SteppedSigmoidUnits`).
    """
    data: str = "digits"
    data_dir: str = None
    hidden: int = None
    epochs: int = None
    batch_size: int = None
    learning_rate: float = None
    momentum: float = 0.9
    cd_k: int = 1
    persistent: bool = False
    n_chains: int = 100
    binarize: str = "stochastic"
    limit: int = None
    seed: int = 0
    output: str = "tfrbm_output"
    hidden_units: str = "bernoulli"

    _parameter_constraints = {
        "data": [Options(*IMAGE_DEFAULTS)],
        "data_dir": DATA_DIR,
        "hidden": [None] + POSITIVE_INT,
        "epochs": [None] + POSITIVE_INT,
        "batch_size": [None] + POSITIVE_INT,
        "learning_rate": [None] + POSITIVE,
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "cd_k": POSITIVE_INT,
        "persistent": [BOOLEAN],
        "n_chains": POSITIVE_INT,
        "binarize": [None, Options("stochastic", "threshold", "none")],
        "limit": [None] + POSITIVE_INT,
        "seed": SEED,
        "output": [Instance((str, pathlib.PurePath), "a folder path")],
        "hidden_units": [Options("bernoulli", "gaussian", "relu")],
    }

    def resolved(self):
        """(hidden, epochs, batch_size, learning_rate) with the data set's defaults filled in."""
        defaults = IMAGE_DEFAULTS[self.data]
        return tuple(given or default for given, default in
                     zip((self.hidden, self.epochs, self.batch_size, self.learning_rate), defaults))


@dataclasses.dataclass
class RBMImageTrainingResult:
    """What :func:`train_rbm_on_images` made: ``metrics`` (final training and ``test_`` values,
    ``epochs``, ``seconds``, ``seconds_per_epoch``), the trained ``model``, its Keras ``history``
    and the ``output`` folder holding the model and figures."""
    metrics: dict
    model: object
    history: object
    output: pathlib.Path


def train_rbm_on_images(config=None, *, model_file=None, callbacks=(), verbose="auto",
                        on_start=None, **settings):
    """Train an RBM on ``config.data``, write the model and figures to ``config.output``.

    ``config`` is an :class:`RBMImageConfig` (default: its defaults); keyword ``settings``
    replace single fields of it (``train_rbm_on_images(data="digits", epochs=2)``). The test
    split (binarized once with ``seed``) is the validation data, so its metrics come back as
    ``test_*``. ``callbacks`` go to ``fit``. ``on_start``, if given, is called before training
    with a dict of the resolved settings (``n_visible``, ``n_examples``, ``hidden``, ``epochs``,
    ``batch_size``, ...). ``model_file``: a ``.keras`` path that also receives the trained model
    (beside ``output``/model.keras). Returns an :class:`RBMImageTrainingResult`.
    """
    c = RBMImageConfig.resolve(config, **settings)
    import keras

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.resume import epoch_keyed_dataset
    from tfrbm.safety import atomic_save

    hidden, epochs, batch_size, learning_rate = c.resolved()
    data, data_dir, seed, cd_k, persistent = c.data, c.data_dir, c.seed, c.cd_k, c.persistent
    mode = None if c.binarize in (None, "none") else c.binarize
    keras.utils.set_random_seed(seed)
    x_train, _ = images.load_images(data, split="train", data_dir=data_dir)
    x_test, _ = images.load_images(data, split="test", data_dir=data_dir)
    if c.limit:
        x_train = x_train[:c.limit]
    # each epoch's order and binarization are keyed on (seed, epoch), so a run resumed from a
    # backup at epoch e sees what the uninterrupted run saw at epoch e (not epoch 0's again)
    train_ds, callbacks = epoch_keyed_dataset(x_train, callbacks=list(callbacks),
                                              batch_size=batch_size, shuffle=True, seed=seed,
                                              binarize=mode)
    x_test_bin = binarize_array(x_test, mode, seed=seed) if mode else x_test

    model = RBMModel(RBMLayer(hidden, hidden=c.hidden_units), cd_k=cd_k, persistent=persistent, n_chains=c.n_chains,
                     seed=seed)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate, momentum=c.momentum))
    model.build((None, x_train.shape[1]))
    head = x_train[:_INIT_ROWS]
    model.initialize_from_data(binarize_array(head, mode, seed=seed) if mode else head)
    out = pathlib.Path(c.output)
    out.mkdir(parents=True, exist_ok=True)
    if on_start is not None:
        on_start(dict(data=data, n_visible=x_train.shape[1], n_examples=len(x_train),
                      hidden=hidden, epochs=epochs, batch_size=batch_size,
                      learning_rate=learning_rate, cd_k=cd_k, persistent=persistent))
    start = time.perf_counter()
    history = model.fit(train_ds, epochs=epochs, validation_data=(x_test_bin,), verbose=verbose,
                        callbacks=callbacks)
    seconds = time.perf_counter() - start

    atomic_save(model, out / "model.keras")
    if model_file:
        atomic_save(model, model_file)
    shape = images.image_shape(data)
    viz.weight_tiles(model.layer.kernel.numpy(), shape=shape, n=min(100, hidden),
                     path=out / "weights.png", title="hidden units' weights")
    viz.image_grid(model.daydream(64, steps=1000, seed=seed), shape=shape,
                   path=out / "samples.png", title="daydream: 64 chains after 1,000 Gibbs steps")
    viz.reconstructions(x_test_bin[:10], model.reconstruct(x_test_bin[:10]), shape=shape,
                        path=out / "reconstructions.png", title="test digits and reconstructions")
    viz.training_curves(history, path=out / "training.png", title="training")
    metrics = {("test_" + k[4:] if k.startswith("val_") else k): float(v[-1])
               for k, v in history.history.items()}
    metrics.update({"epochs": epochs, "seconds": round(seconds, 2),
                    "seconds_per_epoch": round(seconds / epochs, 3)})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    (out / "history.json").write_text(json.dumps(history.history, indent=2) + "\n")
    return RBMImageTrainingResult(metrics, model, history, out)
