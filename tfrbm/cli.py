"""The ``tfrbm`` command line: ``tfrbm train``, ``tfrbm init``, ``tfrbm cnn train`` and so on.

Sub-commands live in :mod:`tfrbm.commands`; each module there registers its own. Errors that
are the user's (bad files, bad arguments) print one clear line and exit with status 2, never a
traceback.
"""
import argparse
import importlib
import json
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
            "--backup", metavar="DIR", type=argtypes.output_dir, default=None,
            help="back up the full training state to DIR after every epoch; if the run is "
                 "killed, the same command with the same --backup resumes where it stopped "
                 "(the backup is removed when training ends)")
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


def print_json(metrics):
    """Print the one closing JSON line that ``--json`` promises (floats made JSON-safe)."""
    clean = {}
    for key, value in metrics.items():
        try:
            clean[key] = float(value)
        except (TypeError, ValueError):
            clean[key] = value
    print(json.dumps(clean, sort_keys=True), flush=True)


def main(argv=None):
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
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError, OSError) as exc:
        print(f"tfrbm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfrbm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
