"""What the ``tfrbm`` sub-commands share: the training options, ``--backup`` callbacks and the
closing ``--json`` line.

This module registers no command (it has no ``register``); :mod:`tfrbm.cli` builds the parser
from the other modules of this package, which import from here, never from :mod:`tfrbm.cli`.
Importing it loads no TensorFlow (``tfrbm --help`` stays instant).
"""
import argparse
import dataclasses
import json
import math
import pathlib
import sys

from tfrbm import argtypes

__all__ = ["add_noun", "config_from_args", "add_training_options", "add_deep_model_outputs", "deep_model_outputs", "add_image_data_options", "add_finetune_options",
           "add_verbosity_options", "verbosity", "add_json_option", "add_seed_option",
           "backup_callbacks", "json_line", "print_json", "report_resume", "IMAGE_DATA"]

#: the image data sets of the image commands' ``--data``
IMAGE_DATA = ("digits", "mnist", "fashion_mnist")


def add_noun(subparsers, name, help):
    """The noun ``name`` of ``tfrbm NOUN VERB`` (``help``: what it is and its verbs); returns the
    sub-parsers its verbs are added to. The noun alone prints its help and exits with status 2."""
    parser = subparsers.add_parser(name, help=help)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    return parser.add_subparsers(dest=f"{name}_command", metavar="VERB")


def config_from_args(config_class, args, **settings):
    """A pipeline's frozen config (``config_class``, a dataclass) from the parsed ``args``: each
    field takes the option of the same name (dest), where the command has one, else its default;
    ``settings`` give the fields whose option has another name or form. The config checks them."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)
             if hasattr(args, f.name)}
    return config_class(**{**given, **settings})


def add_training_options(parser, backup=True):
    """Options every training command shares: ``--backup DIR``; marks the command as training
    (the device it runs on is printed at start)."""
    if backup:
        parser.add_argument(
            "--backup", metavar="DIR", type=argtypes.backup_dir, default=None,
            help="back up the full training state to DIR (a new or empty folder) after every "
                 "epoch; if the run is killed, the same command with the same --backup resumes "
                 "where it stopped (the backup's own files are removed when training ends; a "
                 "folder holding other files is refused)")
    parser.set_defaults(trains=True)


def add_image_data_options(parser, default, data_dir_help):
    """``--data`` (one of :data:`IMAGE_DATA`, default ``default``) and ``--data-dir``."""
    parser.add_argument("--data", choices=IMAGE_DATA, default=default,
                        help=f"data set (default {default}"
                             + (": the embedded 8x8 digits)" if default == "digits" else ")"))
    parser.add_argument("--data-dir", type=argtypes.existing_dir, default=None, help=data_dir_help)


def add_finetune_options(parser, defaults):
    """``--finetune-epochs`` and ``--finetune-learning-rate`` (``--finetune-lr``) of a classifier
    fine-tuned from a deep model; ``defaults``: the pipeline's config (``finetune_updates``,
    ``finetune_lr``)."""
    parser.add_argument("--finetune-epochs", type=argtypes.positive_int, default=None,
                        help=f"default: about {defaults.finetune_updates:,} fine-tuning updates")
    parser.add_argument("--finetune-learning-rate", "--finetune-lr", dest="finetune_lr",
                        type=argtypes.positive_float, default=defaults.finetune_lr,
                        help=f"Adam learning rate (default {defaults.finetune_lr})")


class _Verbosity(argparse.Action):
    """``--quiet`` and ``--verbose [N]`` set both ``quiet`` and ``verbose``, so they agree:
    ``--quiet`` is ``--verbose 0``, a bare ``--verbose`` is ``--verbose 1``."""

    def __call__(self, parser, namespace, values, option_string=None):
        level = 0 if self.nargs == 0 else values
        namespace.verbose, namespace.quiet = level, level == 0


def add_verbosity_options(parser, default):
    """``--quiet`` / ``--verbose [N]``: the one verbosity scheme of every command that shows
    training progress. ``default`` (the command's own, in words) goes in the help; read the
    level with :func:`verbosity`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action=_Verbosity, nargs=0, default=False,
                       help="no progress output (the same as --verbose 0)")
    group.add_argument("--verbose", action=_Verbosity, nargs="?", const=1, metavar="N", default=None,
                       type=argtypes.verbosity_level,
                       help="progress output: 1 a progress bar (a bare --verbose), 2 one line "
                            f"per epoch, 0 none (default: {default})")


def verbosity(args, default):
    """The Keras verbosity that ``--quiet``/``--verbose`` asked for, else ``default``."""
    return default if getattr(args, "verbose", None) is None else args.verbose


def add_json_option(parser, what="the final metrics"):
    """``--json``: end with one line of strict JSON."""
    parser.add_argument("--json", action="store_true", help=f"end with one JSON line of {what}")


def add_seed_option(parser, default, what="random seed"):
    """``--seed N`` (0 to 2**32 - 1)."""
    shown = "none: a fresh draw each run" if default is None else default
    parser.add_argument("--seed", type=argtypes.seed, default=default,
                        help=f"{what} (default {shown})")


def add_deep_model_outputs(parser, noun, defaults, classifier, model_help, steps_help):
    """The closing options of a deep model's ``train`` (``noun``: "dbn", "dbm"): ``--limit``,
    ``--seed``, ``--output DIR``/``--model`` (the fine-tuned ``classifier``), ``--{noun}-output``
    (the model itself, ``model_help``), ``--samples``/``--sample-steps`` (``steps_help``: what a
    step is), ``--quiet``/``--verbose`` and ``--json``; ``defaults``: the pipeline's config.
    :func:`deep_model_outputs` reads the paths back."""
    parser.add_argument("--limit", type=argtypes.positive_int, default=None,
                        help="use the first N train/test examples")
    add_seed_option(parser, defaults.seed)
    argtypes.add_output_options(parser, f"model.keras ({classifier}), {noun}.keras and samples.png")
    parser.add_argument(f"--{noun}-output", type=argtypes.keras_file, default=None,
                        metavar="PATH.keras", help=model_help)
    parser.add_argument("--samples", type=argtypes.output_file(".png"), default=None,
                        metavar="PATH.png", help=f"save an 8x8 grid of {noun.upper()} samples")
    parser.add_argument("--sample-steps", type=argtypes.positive_int, default=defaults.sample_steps,
                        help=f"{steps_help} for --samples (default {defaults.sample_steps})")
    add_verbosity_options(parser, "0, none")
    add_json_option(parser)


def deep_model_outputs(args, noun):
    """(classifier, model, samples): the paths :func:`add_deep_model_outputs`' options name, each
    None when not asked for. ``--output DIR`` (created here) holds model.keras, {noun}.keras and
    samples.png; the file options (``--model``, ``--{noun}-output``, ``--samples``) name single
    files instead."""
    folder = pathlib.Path(args.output) if args.output else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    model = getattr(args, f"{noun}_output") or (folder / f"{noun}.keras" if folder else None)
    samples = args.samples or (folder / "samples.png" if folder else None)
    return argtypes.model_path(args), model, samples


def backup_callbacks(args):
    """``[TrainingBackup(args.backup)]`` when ``--backup`` is given, else ``[]``."""
    folder = getattr(args, "backup", None)
    if not folder:
        return []
    from tfrbm.resume import TrainingBackup  # loads TensorFlow: only when --backup is given
    return [TrainingBackup(folder)]


def report_resume(callbacks):
    """Say on stderr when a ``--backup`` run resumed from an earlier, killed run."""
    for cb in callbacks:
        restored = getattr(cb, "restored_from", None)
        if restored:
            print(f"tfrbm: resumed from the backup in {cb.backup_dir} at epoch "
                  f"{restored['epoch'] + 1}", file=sys.stderr, flush=True)


def _json_safe(value, path, non_finite):
    """``value`` with numbers made floats and NaN/Inf made ``null`` (their keys recorded)."""
    if isinstance(value, dict):
        return {k: _json_safe(v, f"{path}.{k}" if path else str(k), non_finite)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, f"{path}[{i}]", non_finite) for i, v in enumerate(value)]
    if isinstance(value, (str, bool)) or value is None:
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if not math.isfinite(number):
        non_finite[path] = str(number)       # "nan", "inf" or "-inf"
        return None
    return int(value) if isinstance(value, int) else number


def json_line(metrics):
    """The ``--json`` line: strict JSON. NaN and Inf (not JSON) become ``null``, and a field
    ``"non_finite"`` maps each such key to "nan", "inf" or "-inf" so the reason is not lost."""
    non_finite = {}
    clean = _json_safe(dict(metrics), "", non_finite)
    if non_finite:
        clean["non_finite"] = non_finite
    return json.dumps(clean, sort_keys=True, allow_nan=False)


def print_json(metrics):
    """Print the one closing JSON line that ``--json`` promises (see :func:`json_line`)."""
    print(json_line(metrics), flush=True)
