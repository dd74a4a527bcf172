"""The ``tfrbm`` command line: one grammar, ``tfrbm NOUN VERB [--options]``.

``tfrbm rbm train``, ``tfrbm dbn train``, ``tfrbm model export`` and so on; the table of every
command is in README.md ("Command line"), and tests/test_cli_grammar.py holds the parser to it.
Sub-commands live in :mod:`tfrbm.commands`; each module there registers its own, and declares
the old spellings of its commands in ``ALIASES`` (``{"train": "rbm train", ...}``). Old spellings
are rewritten to the grammar's before parsing (:func:`canonical_argv`), so they behave exactly as
the new ones and ``--help`` does not list them. Errors that are the user's
(:class:`tfrbm.errors.UserError` and its subclasses: bad files, bad arguments, bad data) print one
clear line and exit with status 2. Any other exception is a bug and keeps its traceback.
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


#: the order of the nouns in ``tfrbm --help``: the energy-based models first, companions last
_NOUN_ORDER = ("rbm", "dbn", "dbm", "anomaly", "recommender", "model", "assignment", "cnn",
               "seqcnn", "lm", "char", "ae")


class _CommandLine(_Parser):
    """The top-level parser: it rewrites old spellings (``ALIASES`` of the command modules,
    echen's ``FILE VERB`` order) into the grammar's before parsing."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.aliases = {}

    def parse_known_args(self, args=None, namespace=None):
        argv = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(canonical_argv(argv, self), namespace)


def build_parser():
    parser = _CommandLine(
        prog="tfrbm",
        description="Restricted Boltzmann machines, DBNs and companion models on TensorFlow 2.",
        epilog="Every command is `tfrbm NOUN VERB [options]`; `tfrbm NOUN --help` lists a noun's "
               "verbs, `tfrbm NOUN VERB --help` its options. The same option means the same "
               "thing everywhere: --model (the model file), --output (a folder), --hidden, "
               "--epochs, --seed, --quiet/--verbose, --json.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="NOUN", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"tfrbm.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
            parser.aliases.update(getattr(module, "ALIASES", {}))
    # --help lists the nouns in this order (the modules register alphabetically)
    sub._choices_actions.sort(key=lambda a: _NOUN_ORDER.index(a.dest) if a.dest in _NOUN_ORDER
                              else len(_NOUN_ORDER))
    return parser


def subcommands(parser):
    """The sub-parsers action of ``parser`` (its nouns, or a noun's verbs), or None."""
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def command_paths(parser):
    """``{"rbm train": its parser, ...}``: every command a parser reaches (``--help`` lists them
    all: old spellings are aliases, not commands)."""
    paths = {}
    sub = subcommands(parser)
    for name, child in (sub.choices.items() if sub else ()):
        below = command_paths(child)
        paths.update({f"{name} {path}": p for path, p in below.items()} if below else {name: child})
    return paths


def canonical_argv(argv, parser):
    """``argv`` in the grammar's words: echen's ``FILE VERB`` order first (:func:`rbmcmd_order`),
    then the longest old spelling at its start replaced (``train`` -> ``rbm train``, ``char
    sample`` -> ``char generate``); a command already in the grammar is left as it is."""
    aliases = getattr(parser, "aliases", {})
    names = set(subcommands(parser).choices) | {old.split()[0] for old in aliases}
    argv = rbmcmd_order(argv, names)
    if " ".join(argv[:2]) in command_paths(parser):
        return argv
    for n in (2, 1):
        head = " ".join(argv[:n])
        if len(argv) >= n and head in aliases:
            return aliases[head].split() + argv[n:]
    return argv


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
