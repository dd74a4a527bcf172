"""Training pipelines of the course companions: load the data, ``fit``, evaluate, report.

Each ``train_*`` function loads its data through :mod:`tfrbm.data`, trains with ``fit`` (seeded
tf.data order), evaluates on held-out data and returns a dict of the final metrics
(``test_accuracy``, ``test_perplexity``, ``val_bits_per_char``, ``test_mse`` ...) with
``seconds_per_epoch``. ``limit=N`` trains and evaluates on the first N examples (images) or
tokens (text) so that a smoke run is fast. ``output`` saves the model atomically (``.keras``).
The ``tfrbm cnn|seqcnn|ae|lm|char train`` commands and ``benchmarks/bench_companions.py`` call
these.
"""
import pathlib
import time

from tfrbm.data.images import load_mnist
from tfrbm.data.pipeline import make_dataset
from tfrbm.data.text import char_dataset, load_ptb, load_tiny_shakespeare, ptb_dataset
from tfrbm.errors import UserError
from tfrbm.validation import POSITIVE_INT, check_param

__all__ = ["train_cnn", "train_sequence_classifier", "train_autoencoder", "train_word_lm",
           "train_char_lm", "EpochTimer"]


def _keras():
    import keras
    return keras


def EpochTimer():  # noqa: N802 - behaves like a class
    """A keras callback recording wall-clock seconds per epoch in ``.epoch_seconds``."""
    keras = _keras()

    class _EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_seconds.append(time.perf_counter() - self._start)

    return _EpochTimer()


def _check_common(epochs, limit):
    check_param("epochs", epochs, POSITIVE_INT)
    check_param("limit", limit, [None] + POSITIVE_INT)


def _head(arrays, limit):
    return arrays if limit is None else tuple(a[:limit] for a in arrays)


def _seed_everything(seed):
    """Seed Python, NumPy and Keras (initial weights, dropout) so that a run is repeatable and a
    run resumed from a backup is the run it continues."""
    _keras().utils.set_random_seed(int(seed))


def _save(model, output):
    if output:
        path = pathlib.Path(output)
        if path.suffix != ".keras":
            raise UserError(f"output must end in .keras, got {str(path)!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        from tfrbm.safety import atomic_save
        atomic_save(model, path)  # temp file + rename; refuses NaN weights
        return str(path)
    return None


def _finish(metrics, timer, epochs, limit, output_path):
    metrics.update(epochs=epochs, limit=limit, output=output_path,
                   seconds_per_epoch=(sum(timer.epoch_seconds) / len(timer.epoch_seconds)
                                      if timer.epoch_seconds else None))
    return metrics


# ------------------------------------------------------------------------------------- images

def _mnist(data_dir, limit, source="auto"):
    train = _head(load_mnist("train", data_dir=data_dir, source=source), limit)
    test = _head(load_mnist("test", data_dir=data_dir, source=source), limit)
    return train, test


def _run_classifier(model, lr, batch_size, data_dir, epochs, limit, output, verbose, seed,
                    callbacks=()):
    from tfrbm.resume import epoch_keyed_dataset   # loads TensorFlow: only when training
    from tfrbm.course.cnn import compile_classifier
    (x, y), (xt, yt) = _mnist(data_dir, limit)
    compile_classifier(model, lr)
    timer = EpochTimer()
    train, callbacks = epoch_keyed_dataset(x, y, [timer, *callbacks], batch_size=batch_size,
                                           shuffle=True, seed=seed)
    model.fit(train, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=verbose)
    loss, acc = model.evaluate(make_dataset(xt, yt, batch_size=500, shuffle=False), verbose=0)
    return _finish({"test_accuracy": acc, "test_loss": loss}, timer, epochs, limit,
                   _save(model, output))


def train_cnn(data_dir=None, epochs=15, limit=None, batch_size=50, learning_rate=1e-4, output=None,
            verbose=2, seed=1234, plot=None, callbacks=()):
    """Train the course CNN on MNIST; returns test accuracy/loss and seconds per epoch."""
    _check_common(epochs, limit)
    from tfrbm.course.cnn import build_cnn, plot_conv1
    _seed_everything(seed)   # the initial weights too: a rerun (or a resume) is the same run
    model = build_cnn()
    metrics = _run_classifier(model, learning_rate, batch_size, data_dir, epochs, limit, output,
                              verbose, seed, callbacks)
    if plot:
        plot_conv1(model, load_mnist("test", data_dir=data_dir)[0][0], path=plot)
    return metrics


def train_sequence_classifier(data_dir=None, epochs=10, limit=None, batch_size=100, learning_rate=1e-3, units=128,
               output=None, verbose=2, seed=1234, callbacks=()):
    """Train the row-by-row MNIST LSTM; returns test accuracy/loss and seconds per epoch."""
    _check_common(epochs, limit)
    from tfrbm.course.sequence import build_sequence_classifier
    _seed_everything(seed)
    return _run_classifier(build_sequence_classifier(units=units), learning_rate, batch_size,
                           data_dir, epochs, limit, output, verbose, seed, callbacks)


def train_autoencoder(kind="course", data_dir=None, epochs=20, limit=None, batch_size=None, learning_rate=None,
           noise=0.3, output=None, plots=None, verbose=2, seed=1234, callbacks=()):
    """Train an autoencoder on MNIST ("course", "deep" on digits 1/5/6, or "denoising").

    Returns the test reconstruction MSE (clean inputs) and seconds per epoch; ``plots`` is a
    folder for the reconstruction grid (and, for "deep", the latent scatter and manifold).
    """
    _check_common(epochs, limit)
    from tfrbm.resume import epoch_keyed_dataset
    from tfrbm.course import autoencoders as ae
    defaults = {"course": (256, 0.01), "deep": (50, 1e-4), "denoising": (256, 0.01)}
    if kind not in defaults:
        raise UserError(f"kind must be 'course', 'deep' or 'denoising', got {kind!r}")
    batch_size = batch_size or defaults[kind][0]
    learning_rate = learning_rate or defaults[kind][1]
    (x, y), (xt, yt) = _mnist(data_dir, None)
    _seed_everything(seed)
    if kind == "deep":
        (x, y), (xt, yt) = ae.select_digits(x, y), ae.select_digits(xt, yt)
        model = ae.build_deep_autoencoder()
    elif kind == "denoising":
        model = ae.build_denoising_autoencoder("course", noise=noise)
    else:
        model = ae.build_course_autoencoder()
    (x, y), (xt, yt) = _head((x, y), limit), _head((xt, yt), limit)
    ae.compile_autoencoder(model, learning_rate)
    timer = EpochTimer()
    train, callbacks = epoch_keyed_dataset(x, x, [timer, *callbacks], batch_size=batch_size,
                                           shuffle=True, seed=seed)
    model.fit(train, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=verbose)
    metrics = {"test_mse": ae.reconstruction_mse(model, xt), "train_mse": ae.reconstruction_mse(model, x),
               "kind": kind}
    if plots:
        folder = pathlib.Path(plots)
        folder.mkdir(parents=True, exist_ok=True)
        ae.plot_reconstructions(model, xt, path=folder / f"{kind}_reconstructions.png")
        if kind == "deep":
            ae.plot_latent_scatter(model, xt, yt, path=folder / "deep_latent_scatter.png")
            ae.plot_latent_manifold(model, xt, yt, path=folder / "deep_latent_manifold.png")
    return _finish(metrics, timer, epochs, limit, _save(model, output))


# --------------------------------------------------------------------------------------- text

def train_word_lm(config="course", data_dir=None, epochs=None, limit=None, output=None, verbose=2,
           callbacks=(), seed=1234, **overrides):
    """Train a PTB word LM for a named configuration; returns valid/test perplexity.

    Test perplexity is measured in one pass with batch 1 and the state carried (as the labs);
    ``overrides`` change configuration entries (``hidden_sizes``, ``batch_size``, ``num_steps``...).
    """
    from tfrbm.course.language import build_word_lm, compile_word_lm, evaluate_perplexity
    data = load_ptb(data_dir)
    _seed_everything(seed)
    model, cfg = build_word_lm(config, vocab_size=data.vocab_size, vocabulary=data.vocabulary,
                               **{k: v for k, v in overrides.items() if v is not None})
    epochs = epochs or cfg["epochs"]
    _check_common(epochs, limit)
    train, valid, test = (s if limit is None else s[:limit] for s in (data.train, data.valid, data.test))
    model_callbacks = compile_word_lm(model, cfg)
    timer = EpochTimer()
    history = model.fit(ptb_dataset(train, cfg["batch_size"], cfg["num_steps"]), epochs=epochs,
                        validation_data=ptb_dataset(valid, cfg["batch_size"], cfg["num_steps"]),
                        callbacks=model_callbacks + [timer, *callbacks], shuffle=False,
                        verbose=verbose)
    metrics = {"config": config if isinstance(config, str) else "custom",
               "train_perplexity": history.history["perplexity"][-1],
               "valid_perplexity": evaluate_perplexity(model, valid),
               "test_perplexity": evaluate_perplexity(model, test),
               "valid_perplexity_by_epoch": [round(float(v), 2) for v in history.history["val_perplexity"]]}
    return _finish(metrics, timer, epochs, limit, _save(model, output))


def train_char_lm(data_dir=None, epochs=None, limit=None, output=None, verbose=2, source="auto",
             sample_chars=200, callbacks=(), seed=1234, **overrides):
    """Train the char LSTM on tiny-shakespeare; returns validation bits per character and a sample."""
    from tfrbm.course.char import build_char_model, compile_char_model
    data = load_tiny_shakespeare(data_dir, source=source)
    _seed_everything(seed)
    model, cfg = build_char_model(data.chars, **{k: v for k, v in overrides.items() if v is not None})
    epochs = epochs or cfg["epochs"]
    _check_common(epochs, limit)
    train, valid = (s if limit is None else s[:limit] for s in (data.train, data.valid))
    model_callbacks = compile_char_model(model, cfg)
    timer = EpochTimer()
    val_ds = char_dataset(valid, cfg["batch_size"], cfg["num_steps"])
    history = model.fit(char_dataset(train, cfg["batch_size"], cfg["num_steps"]), epochs=epochs,
                        validation_data=val_ds, callbacks=model_callbacks + [timer, *callbacks],
                        shuffle=False,
                        verbose=verbose)
    metrics = {"val_bits_per_char": history.history["val_bits_per_char"][-1],
               "train_bits_per_char": history.history["bits_per_char"][-1],
               "sample": model.sample("The ", sample_chars, mode="weighted", seed=0)}
    return _finish(metrics, timer, epochs, limit, _save(model, output))
