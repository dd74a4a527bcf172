"""Command line for the companion models: ``tfrbm cnn|seqcnn|lm|char|ae VERB``.

Each ``train`` command parses its arguments, builds its pipeline's config
(:mod:`tfrbm.pipelines.companions`, which owns the defaults), calls the pipeline
and prints its metrics; with ``--json`` it ends with one JSON line of them. ``--limit N`` trains
and evaluates on the first N examples (images) or tokens (text) so a smoke run is fast.
``lm generate`` and ``char generate`` continue a prime with a trained model.

Old spellings, kept as hidden aliases: ``char sample`` (``char generate``), ``--model-file``
(``--model``), ``--units`` and ``--hidden-sizes`` (``--hidden``), ``--plots`` (``--plot``),
``--n`` (``-n``).
"""
import pathlib

from tfrbm import argtypes as at
from tfrbm.commands.common import (add_json_option, add_noun, add_seed_option, add_training_options,
                                   add_verbosity_options, backup_callbacks, config_from_args,
                                   print_json, report_resume, verbosity)
from tfrbm.course import register_keras_classes
from tfrbm.errors import DataNotFoundError, UserError
from tfrbm.pipelines.companions import (AutoencoderConfig, CharLMConfig, CNNTrainingConfig,
                                        SequenceClassifierConfig, WordLMConfig, train_autoencoder,
                                        train_char_lm, train_cnn, train_sequence_classifier,
                                        train_word_lm)

__all__ = ["register"]

#: old spellings -> the grammar's
ALIASES = {"char sample": "char generate"}

#: the pipelines' defaults (:mod:`tfrbm.pipelines.companions`), shown in --help
_CNN, _SEQ, _AE = CNNTrainingConfig(), SequenceClassifierConfig(), AutoencoderConfig()


def _keras():
    import keras
    return keras


def _load(path):
    from tfrbm.safety import check_loaded_weights
    keras = _keras()
    register_keras_classes()
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"model file {str(path)!r} does not exist")
    try:
        model = keras.models.load_model(path)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise UserError(f"cannot load {path}: {exc}") from None
    return check_loaded_weights(model, path)


# ---------------------------------------------------------------------------------------- CLI

def _common(p, defaults, epochs_help=None):
    """The options every ``train`` shares; ``defaults``: the pipeline's config."""
    p.add_argument("--data-dir", type=at.existing_dir, default=defaults.data_dir,
                   help="folder holding the data sets (or the data set folder)")
    p.add_argument("--epochs", type=at.positive_int, default=defaults.epochs,
                   help=epochs_help or f"epochs (default {defaults.epochs})")
    at.add_output_options(p, "model.keras")
    add_json_option(p)
    p.add_argument("--limit", type=at.positive_int, default=defaults.limit,
                   help="use only the first N training/test examples (tokens for text): a fast smoke run")
    add_seed_option(p, defaults.seed, "random seed of the initial weights and the data order")
    add_verbosity_options(p, "2, one line per epoch")
    add_training_options(p)


def _batch_size(p, default, shown=None):
    p.add_argument("--batch-size", type=at.positive_int, default=default,
                   help=f"batch size (default {shown or default})")


def _learning_rate(p, default, help_text=None):
    p.add_argument("--learning-rate", "--lr", dest="lr", type=at.positive_float, default=default,
                   help=help_text or f"learning rate (default {default:g})")


def _hidden_sizes(p, old, default):
    p.add_argument("--hidden", type=at.layer_sizes, default=None, metavar="SIZES",
                   help=f"LSTM layer sizes, bottom first (default {default})")
    at.add_hidden_alias(p, old, dest="hidden", type=at.layer_sizes)


def _output(args):
    return at.model_path(args)


def _extra(args):
    args.backup_callbacks = backup_callbacks(args)
    return args.backup_callbacks


def _report(args, metrics):
    report_resume(getattr(args, "backup_callbacks", []))
    if args.json:
        print_json(metrics)
    else:
        for key, value in metrics.items():
            if value is not None:
                print(f"{key}: {value}")
    return 0


def _verbose(args):
    return verbosity(args, 2)


def _run(pipeline, config_class, args, figures=None, **settings):
    """Build the pipeline's config from ``args`` (``settings``: fields whose option has another
    name), run it with the command's outputs (``figures``: its figure arguments) and print its
    metrics."""
    config = config_from_args(config_class, args, **settings)
    return _report(args, pipeline(config, output=_output(args), verbose=_verbose(args),
                                  callbacks=_extra(args), **(figures or {})))


def _cmd_cnn(args):
    return _run(train_cnn, CNNTrainingConfig, args, {"plot": args.plot}, learning_rate=args.lr)


def _cmd_seqcnn(args):
    return _run(train_sequence_classifier, SequenceClassifierConfig, args, learning_rate=args.lr,
                units=args.hidden)


def _cmd_ae(args):
    return _run(train_autoencoder, AutoencoderConfig, args, {"plots": args.plot},
                learning_rate=args.lr)


def _sizes(args):
    return None if args.hidden is None else tuple(args.hidden)


def _cmd_lm_train(args):
    return _run(train_word_lm, WordLMConfig, args, configuration=args.config,
                hidden_sizes=_sizes(args))


def _load_kind(path, cls, what):
    model = _load(path)
    if not isinstance(model, cls):
        raise UserError(f"{path} is not a {what}")
    return model


def _print_text(args, text, **extra):
    if args.json:
        print_json({"text": text, **extra})
    else:
        print(text)
    return 0


def _cmd_lm_generate(args):
    from tfrbm.course.language import WordLanguageModel
    model = _load_kind(args.model, WordLanguageModel, "word language model")
    words = model.generate(args.prime, args.n, mode=args.mode, temperature=args.temperature,
                           seed=args.seed)
    next_words = model.predict_next(args.prime, k=5)
    return _print_text(args, " ".join(args.prime.split() + words),
                       next_words=[w for w, _ in next_words])


def _cmd_char_train(args):
    return _run(train_char_lm, CharLMConfig, args, hidden_sizes=_sizes(args))


def _cmd_char_generate(args):
    from tfrbm.course.char import CharLanguageModel
    model = _load_kind(args.model, CharLanguageModel, "character model")
    return _print_text(args, model.sample(args.prime, args.n, mode=args.mode,
                                          temperature=args.temperature, seed=args.seed))


def _generation(p, default_mode, modes, n):
    p.add_argument("--model", required=True, type=at.existing_file, metavar="PATH.keras",
                   help="a .keras file saved by the train command")
    prime = "The " if n == 200 else "the"
    p.add_argument("--prime", default=prime, help=f"the text to continue (default {prime!r})")
    p.add_argument("-n", type=at.positive_int, default=n,
                   help=f"how many tokens to generate (default {n})")
    at.add_hidden_alias(p, "--n", dest="n", type=at.positive_int)
    p.add_argument("--mode", default=default_mode, choices=modes,
                   help="argmax: the likeliest token each step; weighted: drawn from the "
                        "softmax" + ("; weighted-after-space: drawn only right after a space, "
                                     "else argmax" if "weighted-after-space" in modes else "")
                        + f" (default {default_mode})")
    p.add_argument("--temperature", type=at.positive_float, default=1.0,
                   help="softmax temperature of weighted draws (default 1.0)")
    add_seed_option(p, None, "seed of the weighted draws")
    add_json_option(p, "the text")


def register(subparsers):
    """Add ``cnn``, ``seqcnn``, ``lm``, ``char`` and ``ae`` to the ``tfrbm`` command."""
    cnn = add_noun(subparsers, "cnn", "the course CNN on MNIST: train").add_parser("train", help="train and test the CNN")
    _common(cnn, _CNN)
    _batch_size(cnn, _CNN.batch_size)
    _learning_rate(cnn, _CNN.learning_rate)
    cnn.add_argument("--plot", type=at.output_file(".png"), default=None,
                     help="save the conv1 filters/feature maps figure here (.png)")
    cnn.set_defaults(func=_cmd_cnn)

    seq = add_noun(subparsers, "seqcnn", "MNIST read row by row by an LSTM: train").add_parser(
        "train", help="train and test")
    _common(seq, _SEQ)
    _batch_size(seq, _SEQ.batch_size)
    _learning_rate(seq, _SEQ.learning_rate)
    seq.add_argument("--hidden", type=at.positive_int, default=_SEQ.units,
                     help=f"LSTM units (default {_SEQ.units})")
    at.add_hidden_alias(seq, "--units", dest="hidden", type=at.positive_int)
    seq.set_defaults(func=_cmd_seqcnn)

    lm = add_noun(subparsers, "lm", "PTB word-level LSTM language model: train, generate")
    lm_train = lm.add_parser("train", help="train on PTB and report perplexity")
    _common(lm_train, WordLMConfig(), "epochs (default: the configuration's)")
    _batch_size(lm_train, None, "the configuration's")
    lm_train.add_argument("--config", default="course", choices=("course", "small", "medium"),
                          help="model size and schedule: the course's, or Zaremba et al.'s small "
                               "or medium (default course)")
    lm_train.add_argument("--num-steps", type=at.positive_int, default=None,
                          help="tokens per unrolled sequence (default: the configuration's)")
    _hidden_sizes(lm_train, "--hidden-sizes", "the configuration's, course: 256,128")
    lm_train.add_argument("--embedding-dim", type=at.positive_int, default=None,
                          help="word embedding size (default: the configuration's)")
    lm_train.set_defaults(func=_cmd_lm_train)
    lm_gen = lm.add_parser("generate", help="continue a prime with a trained model")
    _generation(lm_gen, "argmax", ("argmax", "weighted"), 20)
    lm_gen.set_defaults(func=_cmd_lm_generate)

    char = add_noun(subparsers, "char", "character-level LSTM on tiny-shakespeare: train, generate")
    char_train = char.add_parser("train", help="train and report validation bits per character")
    _common(char_train, CharLMConfig(), "epochs (default 50)")
    _batch_size(char_train, None, 60)
    char_train.add_argument("--num-steps", type=at.positive_int, default=None,
                            help="characters per unrolled sequence (default 50)")
    _hidden_sizes(char_train, "--hidden-sizes", "128,128")
    char_train.set_defaults(func=_cmd_char_train)
    char_gen = char.add_parser("generate", help="continue a prime with a trained model")
    _generation(char_gen, "weighted", ("argmax", "weighted", "weighted-after-space"), 200)
    char_gen.set_defaults(func=_cmd_char_generate)

    ae = add_noun(subparsers, "ae", "autoencoders on MNIST: train").add_parser("train", help="train and report test MSE")
    _common(ae, _AE)
    _batch_size(ae, None, "the kind's")
    ae.add_argument("--kind", default=_AE.kind, choices=("course", "deep", "denoising"),
                    help="the course's autoencoder, a deep one, or a denoising one (default course)")
    _learning_rate(ae, None, "default 0.01 (course), 1e-4 (deep)")
    ae.add_argument("--noise", type=at.unit_interval, default=_AE.noise,
                    help="masking probability (denoising)")
    ae.add_argument("--plot", type=at.output_dir, default=None, metavar="DIR",
                    help="folder for the reconstruction and latent-space figures")
    at.add_hidden_alias(ae, "--plots", dest="plot", type=at.output_dir)
    ae.set_defaults(func=_cmd_ae)
