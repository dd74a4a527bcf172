"""Argument types for the ``tfrbm`` command line: every value is checked while parsing.

argparse calls these on the raw strings before any command runs, so a bad number, a missing input
file or an output path of the wrong kind ends the command at once with one line
(``tfrbm train: error: argument --epochs: must be an integer >= 1, got '0'``), never after
training. No TensorFlow here: parsing stays instant.

Output conventions: ``--output`` is always a folder (created if needed); the model file a command
reads or writes is ``--model PATH.keras``. For scripts written before this convention,
``--output NAME.keras`` and ``--model-file NAME.keras`` still mean ``--model NAME.keras`` (see
:func:`add_output_options`). An old option spelling is registered with :func:`add_hidden_alias`:
it parses to the same value as the new one and is not shown by ``--help``.
"""
import argparse
import math
import os
import pathlib
import tempfile

from tfrbm.backupdir import check_backup_dir
from tfrbm.errors import UserError

__all__ = ["positive_int", "nonnegative_int", "positive_float", "nonnegative_float",
           "unit_interval", "existing_file", "existing_dir", "output_dir", "output_file",
           "keras_file", "input_file", "add_output_options", "model_path", "backup_dir",
           "probe_writable", "seed", "MAX_SEED", "export_version", "model_to_update",
           "comma_separated_ints", "layer_sizes", "class_ids", "model_in_or_out",
           "verbosity_level", "add_hidden_alias"]

#: the largest seed every random generator here takes (NumPy's and Keras's: 32 bits)
MAX_SEED = 2**32 - 1
#: the largest export version (TF Serving reads versions as int64)
MAX_VERSION = 2**63 - 1


def _number(text, kind):
    if not str(text).isascii():   # int("١") is 1: a non-ASCII digit is refused, not reinterpreted
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'} in ASCII digits, got {text!r}")
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _at_least(name, kind, low, strict=False):
    """An argparse type: a number of ``kind`` (int or float) >= ``low`` (> ``low`` if strict)."""
    what = f"{'an integer' if kind is int else 'a number'} {'>' if strict else '>='} {low}"

    def check(text):
        value = _number(text, kind)
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value
    check.__name__ = name
    check.__doc__ = f"{what[0].upper()}{what[1:]}."
    return check


positive_int = _at_least("positive_int", int, 1)
nonnegative_int = _at_least("nonnegative_int", int, 0)
positive_float = _at_least("positive_float", float, 0, strict=True)
nonnegative_float = _at_least("nonnegative_float", float, 0)


def comma_separated_ints(name, low, what, kind=tuple):
    """An argparse type: comma-separated integers >= ``low`` ('500,200' -> ``kind([500, 200])``);
    ``what`` names them in the error (``must be comma-separated {what}``)."""
    def check(text):
        try:
            values = [int(s) for s in str(text).split(",") if s.strip()] if str(text).isascii() \
                else None
        except ValueError:
            values = None
        if not values or min(values) < low:
            raise argparse.ArgumentTypeError(f"must be comma-separated {what}, got {text!r}")
        return kind(values)
    check.__name__ = name
    check.__doc__ = f"Comma-separated {what}."
    return check


#: hidden layer sizes, bottom first: '500,200,50' -> [500, 200, 50]
layer_sizes = comma_separated_ints("layer_sizes", 1, "positive integers", list)
#: class ids: '0,1,2' -> (0, 1, 2)
class_ids = comma_separated_ints("class_ids", 0, "class ids >= 0")


def seed(text):
    """A random seed: an integer in [0, 2**32 - 1]."""
    value = _number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**32 - 1, got {text!r}")
    return value


def export_version(text):
    """An export version: an integer in [0, 2**63 - 1] (TF Serving's int64)."""
    value = _number(text, int)
    if not 0 <= value <= MAX_VERSION:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63 - 1, got {text!r}")
    return value


def unit_interval(text):
    """A number in [0, 1) (momentum, dropout)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text!r}")
    return value


def existing_file(text):
    path = pathlib.Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"file {text!r} does not exist")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return str(path)


def model_to_update(text):
    """An existing model file that the command trains and saves back: its folder must be
    writable (proved with a real file) before any training."""
    path = existing_file(text)
    probe_writable(pathlib.Path(path).parent, text)
    return path


def model_in_or_out(text):
    """A model file that is either there (read, trained and saved back: :func:`model_to_update`)
    or to be written (a new ``.keras`` file whose folder is writable: :data:`keras_file`)."""
    if pathlib.Path(text).expanduser().exists():
        return model_to_update(text)
    return keras_file(text)


def verbosity_level(text):
    """Keras's verbosity: 0 (silent), 1 (a progress bar) or 2 (one line per epoch)."""
    value = _number(text, int)
    if value not in (0, 1, 2):
        raise argparse.ArgumentTypeError(f"must be 0, 1 or 2, got {text!r}")
    return value


def input_file(text):
    """An existing file, or '-' for standard input."""
    return text if text == "-" else existing_file(text)


def existing_dir(text):
    path = pathlib.Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"folder {text!r} does not exist" if not path.exists() else f"{text!r} is not a folder")
    return str(path)


def probe_writable(folder, text):
    """Prove ``folder`` writable by creating and removing a real temporary file in it.

    ``os.access`` says yes for root and on pseudo-filesystems (``/proc``) where no file can be
    made, so the only proof is a file: ``.tfrbm-probe-*`` is created exclusively (mkstemp) and
    unlinked at once; it is the one file this check deletes, and it made it.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".tfrbm-probe-", dir=folder)
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: {folder} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _writable_parent(path, text):
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create {text!r}: {parent} is not a folder")
    probe_writable(parent, text)


def output_dir(text, what="--output"):
    """A folder to write into: an existing writable folder, or one that can be created."""
    path = pathlib.Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a file; {what} is a folder")
        probe_writable(path, text)
    else:
        _writable_parent(path, text)
    return str(path)


def backup_dir(text):
    """``--backup DIR``: a new or empty folder, or an earlier tfrbm backup, that is writable.

    A folder holding anything tfrbm's backup did not write is refused here, before training:
    the backup is deleted when training ends, and tfrbm deletes only what it created.
    """
    try:
        check_backup_dir(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--backup ", "", 1)) from None
    return output_dir(text, "--backup")


def output_file(suffix):
    """A file path ending in ``suffix`` whose folder exists or can be created."""
    def check(text):
        path = pathlib.Path(text).expanduser()
        if not path.name.endswith(suffix):
            raise argparse.ArgumentTypeError(f"must end in {suffix}, got {text!r}")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder; expected a {suffix} file")
        _writable_parent(path, text)
        return str(path)
    check.__name__ = f"output_file({suffix!r})"
    return check


keras_file = output_file(".keras")


class _OutputAction(argparse.Action):
    """``--output DIR``; the older ``--output NAME.keras`` (a model file) sets ``model_file``."""

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            if str(values).endswith(".keras"):
                setattr(namespace, "model_file", keras_file(values))
            else:
                setattr(namespace, self.dest, output_dir(values))
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument {option_string}: {exc}")


def add_hidden_alias(parser, *old, dest, **kwargs):
    """Register the old spellings ``old`` of an option: they set ``dest`` as the new spelling
    does (pass its ``type``/``action``), and ``--help`` does not show them."""
    return parser.add_argument(*old, dest=dest, help=argparse.SUPPRESS,
                               default=argparse.SUPPRESS, **kwargs)


def add_output_options(parser, what, default=None):
    """``--output DIR`` (a folder for everything the command writes) and ``--model PATH.keras``
    (the trained model alone; old spelling ``--model-file``); ``what`` says what the folder
    receives."""
    parser.add_argument("--output", action=_OutputAction, default=default, metavar="DIR",
                        help=f"folder for {what} (created if needed)")
    parser.add_argument("--model", dest="model_file", type=keras_file, default=None,
                        metavar="PATH.keras", help="save the trained model to this .keras file")
    add_hidden_alias(parser, "--model-file", dest="model_file", type=keras_file)


def model_path(args, name="model.keras"):
    """Where a command saves its model: ``--model``, else ``--output``/``name``, else None."""
    if getattr(args, "model_file", None):
        return args.model_file
    if getattr(args, "output", None):
        return str(pathlib.Path(args.output) / name)
    return None
