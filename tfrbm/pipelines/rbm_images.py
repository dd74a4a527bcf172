"""An RBM trained on an image data set, with its figures: the pipeline behind ``tfrbm train``.

    from tfrbm.pipelines.rbm_images import train_rbm_on_images
    result = train_rbm_on_images("digits", epochs=2, hidden=16, output="/tmp/rbm")
    result.metrics["reconstruction_error"]

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
from tfrbm.data.pipeline import binarize as binarize_array, make_dataset
from tfrbm.validation import (BOOLEAN, POSITIVE, POSITIVE_INT, Instance, Interval, Integral, Options, Real,
                              validate_params)

__all__ = ["IMAGE_DEFAULTS", "RBMImageTrainingResult", "train_rbm_on_images"]

#: data set -> (hidden units, epochs, batch size, learning rate) used where those are None
IMAGE_DEFAULTS = {
    "digits": (64, 30, 32, 0.05),
    "mnist": (500, 5, 100, 0.05),
    "fashion_mnist": (500, 5, 100, 0.05),
}

#: rows of the training set whose pixel means set the visible biases
_INIT_ROWS = 20000

_PARAMETER_CONSTRAINTS = {
    "data": [Options(*IMAGE_DEFAULTS)],
    "data_dir": [None, Instance((str, pathlib.PurePath), "a path")],
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
    "seed": [Interval(Integral, None, None)],
    "output": [Instance((str, pathlib.PurePath), "a folder path")],
    "hidden_units": [Options("bernoulli", "gaussian", "relu")],
}


@dataclasses.dataclass
class RBMImageTrainingResult:
    """What :func:`train_rbm_on_images` made: ``metrics`` (final training and ``test_`` values,
    ``epochs``, ``seconds``, ``seconds_per_epoch``), the trained ``model``, its Keras ``history``
    and the ``output`` folder holding the model and figures."""
    metrics: dict
    model: object
    history: object
    output: pathlib.Path


def train_rbm_on_images(data="digits", data_dir=None, hidden=None, epochs=None, batch_size=None,
                        learning_rate=None, momentum=0.9, cd_k=1, persistent=False, n_chains=100,
                        binarize="stochastic", limit=None, seed=0, output="tfrbm_output",
                        callbacks=(), verbose="auto", on_start=None, hidden_units="bernoulli"):
    """Train an RBM on ``data`` ("digits", "mnist", "fashion_mnist"), write the model and figures.

    ``hidden``, ``epochs``, ``batch_size`` and ``learning_rate`` left at None take the data set's
    values in :data:`IMAGE_DEFAULTS`. ``binarize``: "stochastic" (a fresh draw each epoch),
    "threshold", or "none"/None for the grey levels. ``limit`` keeps the first N training images.
    The test split (binarized once with ``seed``) is the validation data, so its metrics come
    back as ``test_*``. ``callbacks`` go to ``fit``. ``on_start``, if given, is called before
    training with a dict of the resolved settings (``n_visible``, ``n_examples``, ``hidden``,
    ``epochs``, ``batch_size``, ...). ``hidden_units``: the hidden unit family, "bernoulli"
    (default), "gaussian" or "relu" (:class:`tfrbm.units.SteppedSigmoidUnits`). Returns an
    :class:`RBMImageTrainingResult`.
    """
    settings = validate_params(
        dict(data=data, data_dir=data_dir, hidden=hidden, epochs=epochs, batch_size=batch_size,
             learning_rate=learning_rate, momentum=momentum, cd_k=cd_k, persistent=persistent,
             n_chains=n_chains, binarize=binarize, limit=limit, seed=seed, output=output,
             hidden_units=hidden_units),
        _PARAMETER_CONSTRAINTS)
    import keras

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.safety import atomic_save

    default_hidden, default_epochs, default_batch, default_lr = IMAGE_DEFAULTS[data]
    hidden, epochs = settings["hidden"] or default_hidden, settings["epochs"] or default_epochs
    batch_size = settings["batch_size"] or default_batch
    learning_rate = settings["learning_rate"] or default_lr
    mode = None if binarize in (None, "none") else binarize
    keras.utils.set_random_seed(seed)
    x_train, _ = images.load_images(data, split="train", data_dir=data_dir)
    x_test, _ = images.load_images(data, split="test", data_dir=data_dir)
    if limit:
        x_train = x_train[:limit]
    train_ds = make_dataset(x_train, batch_size=batch_size, shuffle=True, seed=seed, binarize=mode)
    x_test_bin = binarize_array(x_test, mode, seed=seed) if mode else x_test

    model = RBMModel(RBMLayer(hidden, hidden=hidden_units), cd_k=cd_k, persistent=persistent, n_chains=n_chains,
                     seed=seed)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum))
    model.build((None, x_train.shape[1]))
    head = x_train[:_INIT_ROWS]
    model.initialize_from_data(binarize_array(head, mode, seed=seed) if mode else head)
    out = pathlib.Path(output)
    out.mkdir(parents=True, exist_ok=True)
    if on_start is not None:
        on_start(dict(data=data, n_visible=x_train.shape[1], n_examples=len(x_train),
                      hidden=hidden, epochs=epochs, batch_size=batch_size,
                      learning_rate=learning_rate, cd_k=cd_k, persistent=persistent))
    start = time.perf_counter()
    history = model.fit(train_ds, epochs=epochs, validation_data=(x_test_bin,), verbose=verbose,
                        callbacks=list(callbacks))
    seconds = time.perf_counter() - start

    atomic_save(model, out / "model.keras")
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
