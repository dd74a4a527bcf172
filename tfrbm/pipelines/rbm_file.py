"""echen's ``rbmcmd`` workflow on a model file: the pipelines behind ``tfrbm rbm init`` and
``tfrbm rbm train --model FILE`` (old spellings ``tfrbm init``, ``tfrbm train --model``), and
the loader every command that reads an RBM file uses.

    from tfrbm.pipelines.rbm_file import RowTrainingConfig, create_rbm_file, train_rbm_file
    create_rbm_file("movies.keras", n_visible=6, n_hidden=2, learning_rate=0.1)
    result = train_rbm_file("movies.keras", rows, RowTrainingConfig(epochs=5000))

:class:`RowTrainingConfig` is the one place the row training's defaults live (the command's
options take theirs from it) and where they are checked. Settings left at None keep the file's
own (its CD-k and its optimizer's learning rate and momentum); a setting that the file's
model cannot take is an error, never silently ignored.
"""
import dataclasses
import pathlib
import zipfile

import tfrbm
from tfrbm.errors import UserError
from tfrbm.pipelines.config import PipelineConfig, SEED
from tfrbm.validation import POSITIVE, POSITIVE_INT, Interval, Real

__all__ = ["RowTrainingConfig", "RowTrainingResult", "create_rbm_file", "load_rbm_file",
           "train_rbm_file"]


@dataclasses.dataclass(frozen=True)
class RowTrainingConfig(PipelineConfig):
    """Every setting of :func:`train_rbm_file`, with its default.

    epochs: passes over the rows (echen's "epochs": one Keras epoch streams them all, so
    thousands cost no per-epoch overhead). batch_size: None for all rows in one batch.
    learning_rate, momentum, cd_k: None keeps the file's. seed: the shuffling's and sampling's.
    """
    epochs: int = 1
    batch_size: int = None
    learning_rate: float = None
    momentum: float = None
    cd_k: int = None
    seed: int = 0

    _parameter_constraints = {
        "epochs": POSITIVE_INT,
        "batch_size": [None] + POSITIVE_INT,
        "learning_rate": [None] + POSITIVE,
        "momentum": [None, Interval(Real, 0, 1, closed="left")],
        "cd_k": [None] + POSITIVE_INT,
        "seed": SEED,
    }


@dataclasses.dataclass
class RowTrainingResult:
    """What :func:`train_rbm_file` did: the final ``metrics`` of the run (one flat dict), the
    trained ``model`` (saved back to its file) and the ``epochs`` trained."""
    metrics: dict
    model: object
    epochs: int


def load_rbm_file(path, hint=""):
    """The RBMModel saved at ``path`` (``.keras``); a UserError for a missing, corrupt or
    foreign file, or one holding NaN weights. ``hint`` ends the messages about a missing or
    foreign file (what to do instead)."""
    import keras

    from tfrbm.models.rbm import RBMModel
    from tfrbm.safety import check_loaded_weights
    path = pathlib.Path(path)
    if not path.is_file():
        raise UserError(f"model file not found: {path}{hint}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"cannot load model file {path}: it is not a .keras model file (not a "
                        f"zip archive){hint}")
    tfrbm.register_keras_classes()
    try:
        model = keras.saving.load_model(path)
    except Exception as exc:   # a corrupt or foreign file
        raise UserError(f"cannot load model file {path}: {exc}") from None
    check_loaded_weights(model, path)
    if not isinstance(model, RBMModel):
        raise UserError(f"{path} holds a {type(model).__name__}, not an RBM{hint}")
    return model


def create_rbm_file(path, n_visible, n_hidden, learning_rate=0.1, seed=0):
    """A new Bernoulli RBM (weights ~ N(0, 0.1^2), SGD at ``learning_rate``) saved at ``path``,
    replacing what is there (atomically). Returns the model."""
    import keras

    from tfrbm.layers import RBMLayer
    from tfrbm.models.rbm import RBMModel
    from tfrbm.safety import atomic_save
    keras.utils.set_random_seed(seed)
    model = RBMModel(RBMLayer(n_hidden, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1)),
                     seed=seed)
    model.build((None, n_visible))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate))
    atomic_save(model, path)
    return model


def train_rbm_file(path, rows, config=None, *, model=None, callbacks=(), verbose="auto",
                   **settings):
    """Train the RBM saved at ``path`` on ``rows`` (an (N, n_visible) array) and save it back.

    ``config`` is a :class:`RowTrainingConfig` (default: its defaults); keyword ``settings``
    replace single fields of it. ``model``: the RBM already loaded from ``path``
    (:func:`load_rbm_file`), None to load it here. ``callbacks`` go to ``fit``. Returns a
    :class:`RowTrainingResult`.
    """
    import keras
    import tensorflow as tf

    from tfrbm.models.rbm import MAX_CD_K
    from tfrbm.safety import atomic_save

    config = RowTrainingConfig.resolve(config, **settings)
    if model is None:
        model = load_rbm_file(path)
    if config.cd_k is not None:
        if config.cd_k > MAX_CD_K:
            raise UserError(f"cd_k {config.cd_k} is above the cap of {MAX_CD_K}")
        model.cd_k = config.cd_k
    if config.learning_rate is not None:
        model.optimizer.learning_rate = config.learning_rate
    if config.momentum is not None:
        if not hasattr(model.optimizer, "momentum"):
            raise UserError(f"momentum: {path}'s optimizer {type(model.optimizer).__name__} has "
                            "no momentum")
        model.optimizer.momentum = config.momentum
    keras.utils.set_random_seed(config.seed)
    # echen's "epochs" are passes over a handful of rows: stream them as one Keras epoch of
    # epochs x batches updates instead of paying Keras's per-epoch overhead thousands of times
    stream = (tf.data.Dataset.from_tensor_slices(rows).shuffle(len(rows), seed=config.seed)
              .batch(config.batch_size or len(rows)).repeat(config.epochs)
              .prefetch(tf.data.AUTOTUNE))
    history = model.fit(stream, epochs=1, verbose=verbose, callbacks=list(callbacks))
    atomic_save(model, path)
    return RowTrainingResult({k: v[-1] for k, v in history.history.items()}, model, config.epochs)
