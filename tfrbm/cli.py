"""The ``tfrbm`` command line: ``tfrbm train``, ``tfrbm init``, ``tfrbm cnn train`` and so on.

Sub-commands live in :mod:`tfrbm.commands`; each module there registers its own. Errors that
are the user's (bad files, bad arguments) print one clear line and exit with status 2, never a
traceback.
"""
import argparse
import importlib
import json
import math
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
        check_finite_arguments(args)
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError, OSError) as exc:
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
