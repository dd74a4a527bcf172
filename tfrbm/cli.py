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


def build_parser():
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
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
