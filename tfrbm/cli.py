"""The ``tfrbm`` command line: ``tfrbm train``, ``tfrbm init``, ``tfrbm cnn train`` and so on.

Sub-commands live in :mod:`tfrbm.commands`; each module there registers its own. Errors that
are the user's (:class:`tfrbm.errors.UserError` and its subclasses: bad files, bad arguments,
bad data) print one clear line and exit with status 2. Any other exception is a bug and keeps
its traceback.
"""
import argparse
import importlib
import json
import math
import os
import pkgutil
import sys


from tfrbm.errors import UserError  # noqa: F401  (re-exported: commands raise cli.UserError)


class _Parser(argparse.ArgumentParser):
    """argparse with tfrbm's one-line errors: ``tfrbm: error: rbm train: argument --epochs: ...``."""

    def error(self, message):
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        where = f"{command}: " if command else ""
        hint = f" (see `{self.prog} --help`)"
        self.exit(2, f"tfrbm: error: {where}{message}{hint}\n")


def build_parser():
    parser = _Parser(
        prog="tfrbm",
        description="Restricted Boltzmann machines, DBNs and companion models on TensorFlow 2.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import tfrbm.commands as commands
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"tfrbm.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def add_training_options(parser, backup=True):
    """Options every training command shares: ``--backup DIR``; marks the command as training
    (the device it runs on is printed at start)."""
    from tfrbm import argtypes
    if backup:
        parser.add_argument(
            "--backup", metavar="DIR", type=argtypes.backup_dir, default=None,
            help="back up the full training state to DIR (a new or empty folder) after every "
                 "epoch; if the run is killed, the same command with the same --backup resumes "
                 "where it stopped (the backup's own files are removed when training ends; a "
                 "folder holding other files is refused)")
    parser.set_defaults(trains=True)


def backup_callbacks(args):
    """``[TrainingBackup(args.backup)]`` when ``--backup`` is given, else ``[]``."""
    folder = getattr(args, "backup", None)
    if not folder:
        return []
    from tfrbm.resume import TrainingBackup
    return [TrainingBackup(folder)]


def report_resume(callbacks):
    """Say on stderr when a ``--backup`` run resumed from an earlier, killed run."""
    for cb in callbacks:
        restored = getattr(cb, "restored_from", None)
        if restored:
            print(f"tfrbm: resumed from the backup in {cb.backup_dir} at epoch "
                  f"{restored['epoch'] + 1}", file=sys.stderr, flush=True)


def device_line():
    """Where TensorFlow will run: the GPUs it sees, or the CPU."""
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            try:
                names.append(tf.config.experimental.get_device_details(gpu).get("device_name")
                             or gpu.name)
            except (ValueError, RuntimeError):
                names.append(gpu.name)
        return f"tfrbm: running on GPU ({', '.join(names)})"
    return f"tfrbm: running on CPU ({os.cpu_count()} cores; TensorFlow sees no GPU)"


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


def check_finite_arguments(args):
    """Refuse NaN/Inf in any float option (argparse's ``type=float`` accepts "nan" and "inf")."""
    for name, value in sorted(vars(args).items()):
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"--{name.replace('_', '-')} must be a finite number, got {value}")


def one_line(exc, limit=600):
    """An error message as one line (Keras's load errors span many), at most ``limit`` chars."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def main(argv=None):
    """Run one command; user errors print ``tfrbm: error: ...`` and return 2, Ctrl-C returns 130."""
    parser = build_parser()
    try:   # every argument, input file and output path is checked here, before any training
        args = parser.parse_args(argv)
    except SystemExit as exc:   # argparse's error (status 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    if args.version:
        from tfrbm import __version__
        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # TensorFlow loads only now that a command runs (``--help``/``--version`` never load it)
    from tfrbm._quiet import import_tensorflow_quietly
    import_tensorflow_quietly()
    import tfrbm
    tfrbm.register_keras_classes()
    if getattr(args, "trains", False):
        print(device_line(), file=sys.stderr, flush=True)
    try:
        check_finite_arguments(args)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"tfrbm: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfrbm: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # the file system said no (full disk, permissions, a name too long): the user's to fix
        print(f"tfrbm: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        # the backstop for sizes no explicit check caught: out of memory is the user's to fix
        tf = sys.modules.get("tensorflow")
        if tf is not None and isinstance(exc, tf.errors.ResourceExhaustedError):
            print(f"tfrbm: error: out of memory: {one_line(exc, 300)}; ask for fewer "
                  "units, samples or runs", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
