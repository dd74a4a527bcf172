"""Command line for the companion models: ``tfrbm cnn|seqcnn|lm|char|ae ...``.

Each ``train`` command loads its data through :mod:`tfrbm.data`, trains with ``fit``, evaluates on
held-out data and, with ``--json``, ends with one JSON line of the final metrics
(``test_accuracy``, ``test_perplexity``, ``val_bits_per_char``, ``test_mse`` ...). ``--limit N``
trains and evaluates on the first N examples (images) or tokens (text) so a smoke run is fast.
The ``run_*`` functions do the work and are what the benchmarks call.
"""
import pathlib
import time

__all__ = ["register", "run_cnn", "run_seqcnn", "run_lm", "run_char", "run_ae", "EpochTimer"]


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
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"--epochs must be a positive integer, got {epochs!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"--limit must be a positive integer, got {limit!r}")


def _head(arrays, limit):
    return arrays if limit is None else tuple(a[:limit] for a in arrays)


def _save(model, output):
    if output:
        path = pathlib.Path(output)
        if path.suffix != ".keras":
            raise ValueError(f"--output must end in .keras, got {str(path)!r}")
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
    from tfrbm.data.images import load_mnist
    train = _head(load_mnist("train", data_dir=data_dir, source=source), limit)
    test = _head(load_mnist("test", data_dir=data_dir, source=source), limit)
    return train, test


def _run_classifier(model, lr, batch_size, data_dir, epochs, limit, output, verbose, seed,
                    callbacks=()):
    from tfrbm.data.pipeline import make_dataset
    from tfrbm.models.cnn import compile_classifier
    (x, y), (xt, yt) = _mnist(data_dir, limit)
    compile_classifier(model, lr)
    timer = EpochTimer()
    model.fit(make_dataset(x, y, batch_size=batch_size, shuffle=True, seed=seed), epochs=epochs,
              callbacks=[timer, *callbacks], shuffle=False, verbose=verbose)
    loss, acc = model.evaluate(make_dataset(xt, yt, batch_size=500, shuffle=False), verbose=0)
    return _finish({"test_accuracy": acc, "test_loss": loss}, timer, epochs, limit,
                   _save(model, output))


def run_cnn(data_dir=None, epochs=15, limit=None, batch_size=50, learning_rate=1e-4, output=None,
            verbose=2, seed=1234, plot=None, callbacks=()):
    """Train the course CNN on MNIST; returns test accuracy/loss and seconds per epoch."""
    _check_common(epochs, limit)
    from tfrbm.models.cnn import build_cnn, plot_conv1
    model = build_cnn()
    metrics = _run_classifier(model, learning_rate, batch_size, data_dir, epochs, limit, output,
                              verbose, seed, callbacks)
    if plot:
        from tfrbm.data.images import load_mnist
        plot_conv1(model, load_mnist("test", data_dir=data_dir)[0][0], path=plot)
    return metrics


def run_seqcnn(data_dir=None, epochs=10, limit=None, batch_size=100, learning_rate=1e-3, units=128,
               output=None, verbose=2, seed=1234, callbacks=()):
    """Train the row-by-row MNIST LSTM; returns test accuracy/loss and seconds per epoch."""
    _check_common(epochs, limit)
    from tfrbm.models.sequence import build_sequence_classifier
    return _run_classifier(build_sequence_classifier(units=units), learning_rate, batch_size,
                           data_dir, epochs, limit, output, verbose, seed, callbacks)


def run_ae(kind="course", data_dir=None, epochs=20, limit=None, batch_size=None, learning_rate=None,
           noise=0.3, output=None, plots=None, verbose=2, seed=1234, callbacks=()):
    """Train an autoencoder on MNIST ("course", "deep" on digits 1/5/6, or "denoising").

    Returns the test reconstruction MSE (clean inputs) and seconds per epoch; ``plots`` is a
    folder for the reconstruction grid (and, for "deep", the latent scatter and manifold).
    """
    _check_common(epochs, limit)
    from tfrbm.data.pipeline import make_dataset
    from tfrbm.models import autoencoders as ae
    defaults = {"course": (256, 0.01), "deep": (50, 1e-4), "denoising": (256, 0.01)}
    if kind not in defaults:
        raise ValueError(f"--kind must be 'course', 'deep' or 'denoising', got {kind!r}")
    batch_size = batch_size or defaults[kind][0]
    learning_rate = learning_rate or defaults[kind][1]
    (x, y), (xt, yt) = _mnist(data_dir, None)
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
    model.fit(make_dataset(x, x, batch_size=batch_size, shuffle=True, seed=seed), epochs=epochs,
              callbacks=[timer, *callbacks], shuffle=False, verbose=verbose)
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

def run_lm(config="course", data_dir=None, epochs=None, limit=None, output=None, verbose=2,
           callbacks=(), **overrides):
    """Train a PTB word LM for a named configuration; returns valid/test perplexity.

    Test perplexity is measured in one pass with batch 1 and the state carried (as the labs);
    ``overrides`` change configuration entries (``hidden_sizes``, ``batch_size``, ``num_steps``...).
    """
    from tfrbm.data.text import load_ptb, ptb_dataset
    from tfrbm.models.language import build_word_lm, compile_word_lm, evaluate_perplexity
    data = load_ptb(data_dir)
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


def run_char(data_dir=None, epochs=None, limit=None, output=None, verbose=2, source="auto",
             sample_chars=200, callbacks=(), **overrides):
    """Train the char LSTM on tiny-shakespeare; returns validation bits per character and a sample."""
    from tfrbm.data.text import char_dataset, load_tiny_shakespeare
    from tfrbm.models.char import build_char_model, compile_char_model
    data = load_tiny_shakespeare(data_dir, source=source)
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


def _load(path):
    keras = _keras()
    import tfrbm.models.char  # noqa: F401  (registers the serializable classes)
    import tfrbm.models.language  # noqa: F401
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    return keras.models.load_model(path)


# ---------------------------------------------------------------------------------------- CLI

def _common(p, epochs_help):
    from tfrbm import argtypes as at
    from tfrbm.cli import add_training_options
    p.add_argument("--data-dir", type=at.existing_dir, default=None,
                   help="folder holding the data sets (or the data set folder)")
    p.add_argument("--epochs", type=at.positive_int, default=None, help=epochs_help)
    at.add_output_options(p, "model.keras")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the final metrics")
    p.add_argument("--limit", type=at.positive_int, default=None,
                   help="use only the first N training/test examples (tokens for text): a fast smoke run")
    p.add_argument("--batch-size", type=at.positive_int, default=None)
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    add_training_options(p)


def _learning_rate(p, default, help_text=None):
    from tfrbm import argtypes as at
    p.add_argument("--learning-rate", "--lr", dest="lr", type=at.positive_float, default=default,
                   help=help_text)


def _output(args):
    from tfrbm import argtypes as at
    return at.model_path(args)


def _extra(args):
    from tfrbm.cli import backup_callbacks
    return backup_callbacks(args)


def _report(args, metrics):
    from tfrbm.cli import print_json
    if args.json:
        print_json(metrics)
    else:
        for key, value in metrics.items():
            if value is not None:
                print(f"{key}: {value}")
    return 0


def _verbose(args):
    return 0 if args.quiet else 2


def _cmd_cnn(args):
    return _report(args, run_cnn(args.data_dir, args.epochs or 15, args.limit, args.batch_size or 50,
                                 args.lr, _output(args), _verbose(args), plot=args.plot,
                                 callbacks=_extra(args)))


def _cmd_seqcnn(args):
    return _report(args, run_seqcnn(args.data_dir, args.epochs or 10, args.limit,
                                    args.batch_size or 100, args.lr, args.units, _output(args),
                                    _verbose(args), callbacks=_extra(args)))


def _cmd_ae(args):
    return _report(args, run_ae(args.kind, args.data_dir, args.epochs or 20, args.limit,
                                args.batch_size, args.lr, args.noise, _output(args), args.plots,
                                _verbose(args), callbacks=_extra(args)))


def _sizes(text):
    if text is None:
        return None
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ValueError(f"--hidden-sizes must be comma-separated integers, got {text!r}") from None
    return sizes


def _cmd_lm_train(args):
    return _report(args, run_lm(args.config, args.data_dir, args.epochs, args.limit, _output(args),
                                _verbose(args), callbacks=_extra(args), batch_size=args.batch_size,
                                num_steps=args.num_steps, hidden_sizes=_sizes(args.hidden_sizes),
                                embedding_dim=args.embedding_dim))


def _cmd_lm_generate(args):
    from tfrbm.models.language import WordLanguageModel
    model = _load(args.model)
    if not isinstance(model, WordLanguageModel):
        raise ValueError(f"{args.model} is not a word language model")
    words = model.generate(args.prime, args.n, mode=args.mode, temperature=args.temperature,
                           seed=args.seed)
    text = " ".join(args.prime.split() + words)
    next_words = model.predict_next(args.prime, k=5)
    if args.json:
        from tfrbm.cli import print_json
        print_json({"text": text, "next_words": [w for w, _ in next_words]})
    else:
        print(text)
    return 0


def _cmd_char_train(args):
    return _report(args, run_char(args.data_dir, args.epochs, args.limit, _output(args),
                                  _verbose(args), callbacks=_extra(args), batch_size=args.batch_size,
                                  num_steps=args.num_steps, hidden_sizes=_sizes(args.hidden_sizes)))


def _cmd_char_sample(args):
    from tfrbm.models.char import CharLanguageModel
    model = _load(args.model)
    if not isinstance(model, CharLanguageModel):
        raise ValueError(f"{args.model} is not a character model")
    text = model.sample(args.prime, args.n, mode=args.mode, temperature=args.temperature,
                        seed=args.seed)
    if args.json:
        from tfrbm.cli import print_json
        print_json({"text": text})
    else:
        print(text)
    return 0


def _sampling(p, default_mode, modes, n):
    from tfrbm import argtypes as at
    p.add_argument("--model", required=True, type=at.existing_file,
                   help="a .keras file saved by the train command")
    p.add_argument("--prime", default="The " if n == 200 else "the")
    p.add_argument("--n", type=at.positive_int, default=n, help="how many tokens to generate")
    p.add_argument("--mode", default=default_mode, choices=modes)
    p.add_argument("--temperature", type=at.positive_float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--json", action="store_true")


def register(subparsers):
    """Add ``cnn``, ``seqcnn``, ``lm``, ``char`` and ``ae`` to the ``tfrbm`` command."""
    from tfrbm import argtypes as at
    def group(name, help_text):
        parser = subparsers.add_parser(name, help=help_text)
        return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    cnn = group("cnn", "the course CNN on MNIST").add_parser("train", help="train and test the CNN")
    _common(cnn, "epochs (default 15)")
    _learning_rate(cnn, 1e-4)
    cnn.add_argument("--plot", type=at.output_file(".png"), default=None,
                     help="save the conv1 filters/feature maps figure here (.png)")
    cnn.set_defaults(func=_cmd_cnn)

    seq = group("seqcnn", "MNIST read row by row by an LSTM").add_parser("train", help="train and test")
    _common(seq, "epochs (default 10)")
    _learning_rate(seq, 1e-3)
    seq.add_argument("--units", type=at.positive_int, default=128)
    seq.set_defaults(func=_cmd_seqcnn)

    lm = group("lm", "PTB word-level LSTM language model")
    lm_train = lm.add_parser("train", help="train on PTB and report perplexity")
    _common(lm_train, "epochs (default: the configuration's)")
    lm_train.add_argument("--config", default="course", choices=("course", "small", "medium"))
    lm_train.add_argument("--num-steps", type=at.positive_int, default=None)
    lm_train.add_argument("--hidden-sizes", default=None, help="e.g. 200,200")
    lm_train.add_argument("--embedding-dim", type=at.positive_int, default=None)
    lm_train.set_defaults(func=_cmd_lm_train)
    lm_gen = lm.add_parser("generate", help="continue a prime with a trained model")
    _sampling(lm_gen, "argmax", ("argmax", "weighted"), 20)
    lm_gen.set_defaults(func=_cmd_lm_generate)

    char = group("char", "character-level LSTM on tiny-shakespeare")
    char_train = char.add_parser("train", help="train and report validation bits per character")
    _common(char_train, "epochs (default 50)")
    char_train.add_argument("--num-steps", type=at.positive_int, default=None)
    char_train.add_argument("--hidden-sizes", default=None, help="e.g. 128,128")
    char_train.set_defaults(func=_cmd_char_train)
    char_sample = char.add_parser("sample", help="sample text from a trained model")
    _sampling(char_sample, "weighted", ("argmax", "weighted", "weighted-after-space"), 200)
    char_sample.set_defaults(func=_cmd_char_sample)

    ae = group("ae", "autoencoders on MNIST").add_parser("train", help="train and report test MSE")
    _common(ae, "epochs (default 20)")
    ae.add_argument("--kind", default="course", choices=("course", "deep", "denoising"))
    _learning_rate(ae, None, "default 0.01 (course), 1e-4 (deep)")
    ae.add_argument("--noise", type=at.unit_interval, default=0.3,
                    help="masking probability (denoising)")
    ae.add_argument("--plots", type=at.output_dir, default=None,
                    help="folder for reconstruction/latent figures")
    ae.set_defaults(func=_cmd_ae)
