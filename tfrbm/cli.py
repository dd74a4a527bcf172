"""The ``tfrbm`` command line: ``tfrbm train``, ``tfrbm init``, ``tfrbm cnn train`` and so on.

Sub-commands live in :mod:`tfrbm.commands`; each module there registers its own. Errors that
are the user's (:class:`tfrbm.errors.UserError` and its subclasses: bad files, bad arguments,
bad data) print one clear line and exit with status 2. Any other exception is a bug and keeps
its traceback.
"""
import argparse
import importlib
import math
import os
import pkgutil
import sys

import tfrbm
from tfrbm._quiet import import_tensorflow_quietly
import tfrbm.commands as commands
from tfrbm.errors import UserError


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
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"tfrbm.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


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


def check_finite_arguments(args):
    """Refuse NaN/Inf in any float option (argparse's ``type=float`` accepts "nan" and "inf")."""
    for name, value in sorted(vars(args).items()):
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"--{name.replace('_', '-')} must be a finite number, got {value}")


def one_line(exc, limit=600):
    """An error message as one line (Keras's load errors span many), at most ``limit`` chars."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def rbmcmd_order(argv, commands):
    """echen's ``rbmcmd FILE VERB ARGS...`` order as tfrbm's ``VERB FILE ARGS...``.

    ``FILE train N`` becomes ``train --model FILE N`` (train takes its model file as ``--model``);
    anything whose second word is not a command, or whose first is one, is left as it is.
    """
    argv = list(argv)
    if len(argv) >= 2 and argv[0] not in commands and not argv[0].startswith("-") and argv[1] in commands:
        model, verb, *rest = argv
        return [verb, "--model", model, *rest] if verb == "train" else [verb, model, *rest]
    return argv


def main(argv=None):
    """Run one command; user errors print ``tfrbm: error: ...`` and return 2, Ctrl-C returns 130."""
    parser = build_parser()
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    argv = rbmcmd_order(sys.argv[1:] if argv is None else argv, commands)
    try:   # every argument, input file and output path is checked here, before any training
        args = parser.parse_args(argv)
    except SystemExit as exc:   # argparse's error (status 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    if args.version:
        print(tfrbm.__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # TensorFlow loads only now that a command runs (``--help``/``--version`` never load it)
    import_tensorflow_quietly()
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
