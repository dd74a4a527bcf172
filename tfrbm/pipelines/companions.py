"""Training pipelines of the course companions: load the data, ``fit``, evaluate, report.

    from tfrbm.pipelines.companions import CNNTrainingConfig, train_cnn
    metrics = train_cnn(CNNTrainingConfig(epochs=1, limit=500))
    metrics["test_accuracy"]

Each ``train_*`` function takes its frozen config (the one place its defaults live, checked
once when it is made) or single fields as keywords (``train_cnn(epochs=1)``), loads its data
through :mod:`tfrbm.data`, trains with ``fit`` (seeded tf.data order), evaluates on held-out
data and returns a dict of the final metrics (``test_accuracy``, ``test_perplexity``,
``val_bits_per_char``, ``test_mse`` ...) with ``seconds_per_epoch``. ``limit=N`` trains and
evaluates on the first N examples (images) or tokens (text) so that a smoke run is fast.
``output`` saves the model atomically (``.keras``). The ``tfrbm cnn|seqcnn|ae|lm|char train``
commands and ``benchmarks/bench_companions.py`` call these. Importing this module loads no
TensorFlow: each pipeline imports the models when it runs.
"""
import dataclasses
import pathlib
import time
from numbers import Real

from tfrbm.data.images import load_mnist
from tfrbm.data.pipeline import make_dataset
from tfrbm.data.text import char_dataset, load_ptb, load_tiny_shakespeare, ptb_dataset
from tfrbm.errors import UserError
from tfrbm.pipelines.config import DATA_DIR, SEED, PipelineConfig
from tfrbm.pipelines.outputs import save_models
from tfrbm.validation import POSITIVE, POSITIVE_INT, SIZES, Interval, Options

__all__ = ["CNNTrainingConfig", "SequenceClassifierConfig", "AutoencoderConfig", "WordLMConfig",
           "CharLMConfig", "AUTOENCODER_DEFAULTS", "train_cnn", "train_sequence_classifier",
           "train_autoencoder", "train_word_lm", "train_char_lm", "EpochTimer"]

#: what every companion config shares: the data folder, epochs, a smoke-run limit, the seed
_COMMON = {"data_dir": DATA_DIR, "epochs": POSITIVE_INT, "limit": [None] + POSITIVE_INT,
           "seed": SEED}
#: the LSTM configurations' overridable entries (None: the configuration's own value)
_LSTM = {"epochs": [None] + POSITIVE_INT, "batch_size": [None] + POSITIVE_INT,
         "num_steps": [None] + POSITIVE_INT, "hidden_sizes": [None, SIZES]}


@dataclasses.dataclass(frozen=True)
class CNNTrainingConfig(PipelineConfig):
    """Every setting of :func:`train_cnn`: the course CNN on MNIST (Adam)."""
    data_dir: str = None
    epochs: int = 15
    limit: int = None
    batch_size: int = 50
    learning_rate: float = 1e-4
    seed: int = 1234

    _parameter_constraints = {**_COMMON, "batch_size": POSITIVE_INT, "learning_rate": POSITIVE}


@dataclasses.dataclass(frozen=True)
class SequenceClassifierConfig(PipelineConfig):
    """Every setting of :func:`train_sequence_classifier`: MNIST read row by row by an LSTM of
    ``units`` units (Adam)."""
    data_dir: str = None
    epochs: int = 10
    limit: int = None
    batch_size: int = 100
    learning_rate: float = 1e-3
    units: int = 128
    seed: int = 1234

    _parameter_constraints = {**_COMMON, "batch_size": POSITIVE_INT, "learning_rate": POSITIVE,
                              "units": POSITIVE_INT}


#: each autoencoder kind's (batch size, learning rate) when the config leaves them at None
AUTOENCODER_DEFAULTS = {"course": (256, 0.01), "deep": (50, 1e-4), "denoising": (256, 0.01)}


@dataclasses.dataclass(frozen=True)
class AutoencoderConfig(PipelineConfig):
    """Every setting of :func:`train_autoencoder`. kind: "course", "deep" (on digits 1/5/6) or
    "denoising" (masking ``noise``); batch_size and learning_rate left at None take the kind's
    (:data:`AUTOENCODER_DEFAULTS`)."""
    kind: str = "course"
    data_dir: str = None
    epochs: int = 20
    limit: int = None
    batch_size: int = None
    learning_rate: float = None
    noise: float = 0.3
    seed: int = 1234

    _parameter_constraints = {**_COMMON, "kind": [Options(*AUTOENCODER_DEFAULTS)],
                              "batch_size": [None] + POSITIVE_INT,
                              "learning_rate": [None] + POSITIVE,
                              "noise": [Interval(Real, 0, 1, closed="left")]}

    @property
    def schedule(self):
        """(batch size, learning rate): the config's, or the kind's where left at None."""
        batch_size, learning_rate = AUTOENCODER_DEFAULTS[self.kind]
        return self.batch_size or batch_size, self.learning_rate or learning_rate


@dataclasses.dataclass(frozen=True)
class WordLMConfig(PipelineConfig):
    """Every setting of :func:`train_word_lm`: a PTB word LM of a named ``configuration``
    (:data:`tfrbm.course.language.LM_CONFIGS`: "course", "small", "medium"); the fields left at
    None (epochs, batch_size, num_steps, hidden_sizes, embedding_dim) take the configuration's."""
    configuration: str = "course"
    data_dir: str = None
    epochs: int = None
    limit: int = None
    batch_size: int = None
    num_steps: int = None
    hidden_sizes: tuple = None
    embedding_dim: int = None
    seed: int = 1234

    _parameter_constraints = {**_COMMON, **_LSTM,
                              "configuration": [Options("course", "small", "medium")],
                              "embedding_dim": [None] + POSITIVE_INT}

    def overrides(self):
        """The configuration entries this config sets (the fields not left at None)."""
        return _set(self, "batch_size", "num_steps", "hidden_sizes", "embedding_dim")


@dataclasses.dataclass(frozen=True)
class CharLMConfig(PipelineConfig):
    """Every setting of :func:`train_char_lm`: the char LSTM on tiny-shakespeare; the fields left
    at None (epochs, batch_size, num_steps, hidden_sizes) take
    :data:`tfrbm.course.char.CHAR_CONFIG`'s. source: where the text is read ("auto", "files",
    "tfds"); sample_chars: the length of the sample reported."""
    data_dir: str = None
    epochs: int = None
    limit: int = None
    batch_size: int = None
    num_steps: int = None
    hidden_sizes: tuple = None
    source: str = "auto"
    sample_chars: int = 200
    seed: int = 1234

    _parameter_constraints = {**_COMMON, **_LSTM, "source": [Options("auto", "files", "tfds")],
                              "sample_chars": POSITIVE_INT}

    def overrides(self):
        """The :data:`~tfrbm.course.char.CHAR_CONFIG` entries this config sets."""
        return _set(self, "batch_size", "num_steps", "hidden_sizes")


def _set(config, *names):
    return {n: getattr(config, n) for n in names if getattr(config, n) is not None}


def EpochTimer():  # noqa: N802 - behaves like a class
    """A keras callback recording wall-clock seconds per epoch in ``.epoch_seconds``."""
    import keras

    class _EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_seconds.append(time.perf_counter() - self._start)

    return _EpochTimer()


def _head(arrays, limit):
    return arrays if limit is None else tuple(a[:limit] for a in arrays)


def _seed_everything(seed):
    """Seed Python, NumPy and Keras (initial weights, dropout) so that a run is repeatable and a
    run resumed from a backup is the run it continues."""
    import keras
    keras.utils.set_random_seed(int(seed))


def _check_output(output):
    if output and pathlib.Path(output).suffix != ".keras":
        raise UserError(f"output must end in .keras, got {str(output)!r}")


def _finish(metrics, timer, epochs, limit, model, output):
    """The run's metrics with its epochs, limit and seconds per epoch; saves ``model`` to
    ``output`` (atomically, refusing NaN weights) and records the path."""
    metrics.update(epochs=epochs, limit=limit, output=None,
                   seconds_per_epoch=(sum(timer.epoch_seconds) / len(timer.epoch_seconds)
                                      if timer.epoch_seconds else None))
    if output:
        pathlib.Path(output).parent.mkdir(parents=True, exist_ok=True)
    save_models(metrics, [(model, output, "output")])
    return metrics


# ------------------------------------------------------------------------------------- images

def _mnist(data_dir, limit, source="auto"):
    train = _head(load_mnist("train", data_dir=data_dir, source=source), limit)
    test = _head(load_mnist("test", data_dir=data_dir, source=source), limit)
    return train, test


def _run_classifier(model, config, output, verbose, callbacks):
    from tfrbm.course.cnn import compile_classifier
    from tfrbm.resume import epoch_keyed_dataset   # loads TensorFlow: only when training
    (x, y), (xt, yt) = _mnist(config.data_dir, config.limit)
    compile_classifier(model, config.learning_rate)
    timer = EpochTimer()
    train, callbacks = epoch_keyed_dataset(x, y, [timer, *callbacks], batch_size=config.batch_size,
                                           shuffle=True, seed=config.seed)
    model.fit(train, epochs=config.epochs, callbacks=callbacks, shuffle=False, verbose=verbose)
    loss, acc = model.evaluate(make_dataset(xt, yt, batch_size=500, shuffle=False), verbose=0)
    return _finish({"test_accuracy": acc, "test_loss": loss}, timer, config.epochs, config.limit,
                   model, output)


def train_cnn(config=None, *, output=None, plot=None, verbose=2, callbacks=(), **settings):
    """Train the course CNN on MNIST; returns test accuracy/loss and seconds per epoch.

    ``config`` is a :class:`CNNTrainingConfig` (default: its defaults); keyword ``settings``
    replace single fields. ``output`` saves the model (``.keras``); ``plot`` the conv1 figure.
    """
    config = CNNTrainingConfig.resolve(config, **settings)
    _check_output(output)
    from tfrbm.course.cnn import build_cnn, plot_conv1
    _seed_everything(config.seed)   # the initial weights too: a rerun (or a resume) is the same run
    model = build_cnn()
    metrics = _run_classifier(model, config, output, verbose, callbacks)
    if plot:
        plot_conv1(model, load_mnist("test", data_dir=config.data_dir)[0][0], path=plot)
    return metrics


def train_sequence_classifier(config=None, *, output=None, verbose=2, callbacks=(), **settings):
    """Train the row-by-row MNIST LSTM (:class:`SequenceClassifierConfig`); returns test
    accuracy/loss and seconds per epoch."""
    config = SequenceClassifierConfig.resolve(config, **settings)
    _check_output(output)
    from tfrbm.course.sequence import build_sequence_classifier
    _seed_everything(config.seed)
    return _run_classifier(build_sequence_classifier(units=config.units), config, output, verbose,
                           callbacks)


def train_autoencoder(config=None, *, output=None, plots=None, verbose=2, callbacks=(),
                      **settings):
    """Train an autoencoder on MNIST (:class:`AutoencoderConfig`: "course", "deep" on digits
    1/5/6, or "denoising").

    Returns the test reconstruction MSE (clean inputs) and seconds per epoch; ``plots`` is a
    folder for the reconstruction grid (and, for "deep", the latent scatter and manifold).
    """
    config = AutoencoderConfig.resolve(config, **settings)
    _check_output(output)
    from tfrbm.course import autoencoders as ae
    from tfrbm.resume import epoch_keyed_dataset
    kind, limit = config.kind, config.limit
    batch_size, learning_rate = config.schedule
    (x, y), (xt, yt) = _mnist(config.data_dir, None)
    _seed_everything(config.seed)
    if kind == "deep":
        (x, y), (xt, yt) = ae.select_digits(x, y), ae.select_digits(xt, yt)
        model = ae.build_deep_autoencoder()
    elif kind == "denoising":
        model = ae.build_denoising_autoencoder("course", noise=config.noise)
    else:
        model = ae.build_course_autoencoder()
    (x, y), (xt, yt) = _head((x, y), limit), _head((xt, yt), limit)
    ae.compile_autoencoder(model, learning_rate)
    timer = EpochTimer()
    train, callbacks = epoch_keyed_dataset(x, x, [timer, *callbacks], batch_size=batch_size,
                                           shuffle=True, seed=config.seed)
    model.fit(train, epochs=config.epochs, callbacks=callbacks, shuffle=False, verbose=verbose)
    metrics = {"test_mse": ae.reconstruction_mse(model, xt), "train_mse": ae.reconstruction_mse(model, x),
               "kind": kind}
    if plots:
        folder = pathlib.Path(plots)
        folder.mkdir(parents=True, exist_ok=True)
        ae.plot_reconstructions(model, xt, path=folder / f"{kind}_reconstructions.png")
        if kind == "deep":
            ae.plot_latent_scatter(model, xt, yt, path=folder / "deep_latent_scatter.png")
            ae.plot_latent_manifold(model, xt, yt, path=folder / "deep_latent_manifold.png")
    return _finish(metrics, timer, config.epochs, limit, model, output)


# --------------------------------------------------------------------------------------- text

def train_word_lm(config=None, *, output=None, verbose=2, callbacks=(), **settings):
    """Train a PTB word LM (:class:`WordLMConfig`); returns valid/test perplexity.

    Test perplexity is measured in one pass with batch 1 and the state carried (as the labs).
    """
    config = WordLMConfig.resolve(config, **settings)
    _check_output(output)
    from tfrbm.course.language import build_word_lm, compile_word_lm, evaluate_perplexity
    data = load_ptb(config.data_dir)
    _seed_everything(config.seed)
    model, cfg = build_word_lm(config.configuration, vocab_size=data.vocab_size,
                               vocabulary=data.vocabulary, **config.overrides())
    epochs, limit = config.epochs or cfg["epochs"], config.limit
    train, valid, test = (s if limit is None else s[:limit] for s in (data.train, data.valid, data.test))
    model_callbacks = compile_word_lm(model, cfg)
    timer = EpochTimer()
    history = model.fit(ptb_dataset(train, cfg["batch_size"], cfg["num_steps"]), epochs=epochs,
                        validation_data=ptb_dataset(valid, cfg["batch_size"], cfg["num_steps"]),
                        callbacks=model_callbacks + [timer, *callbacks], shuffle=False,
                        verbose=verbose)
    metrics = {"config": config.configuration,
               "train_perplexity": history.history["perplexity"][-1],
               "valid_perplexity": evaluate_perplexity(model, valid),
               "test_perplexity": evaluate_perplexity(model, test),
               "valid_perplexity_by_epoch": [round(float(v), 2) for v in history.history["val_perplexity"]]}
    return _finish(metrics, timer, epochs, limit, model, output)


def train_char_lm(config=None, *, output=None, verbose=2, callbacks=(), **settings):
    """Train the char LSTM on tiny-shakespeare (:class:`CharLMConfig`); returns validation bits
    per character and a sample."""
    config = CharLMConfig.resolve(config, **settings)
    _check_output(output)
    from tfrbm.course.char import build_char_model, compile_char_model
    data = load_tiny_shakespeare(config.data_dir, source=config.source)
    _seed_everything(config.seed)
    model, cfg = build_char_model(data.chars, **config.overrides())
    epochs, limit = config.epochs or cfg["epochs"], config.limit
    train, valid = (s if limit is None else s[:limit] for s in (data.train, data.valid))
    model_callbacks = compile_char_model(model, cfg)
    timer = EpochTimer()
    val_ds = char_dataset(valid, cfg["batch_size"], cfg["num_steps"])
    history = model.fit(char_dataset(train, cfg["batch_size"], cfg["num_steps"]), epochs=epochs,
                        validation_data=val_ds, callbacks=model_callbacks + [timer, *callbacks],
                        shuffle=False, verbose=verbose)
    metrics = {"val_bits_per_char": history.history["val_bits_per_char"][-1],
               "train_bits_per_char": history.history["bits_per_char"][-1],
               "sample": model.sample("The ", config.sample_chars, mode="weighted", seed=0)}
    return _finish(metrics, timer, epochs, limit, model, output)
