"""Sub-commands of the ``tfrbm`` command line.

Every module in this package defines ``register(subparsers)``, which adds its sub-commands to
the top-level argparse parser. Each sub-command sets ``func(args) -> int`` with ``set_defaults``.
Modules are discovered automatically, so a new family of commands is one new file. Commands
are ``tfrbm NOUN VERB`` (README.md's table; tests/test_cli_grammar.py); a module keeps the old
spellings of its commands in ``ALIASES = {"old words": "noun verb"}``, which :mod:`tfrbm.cli`
rewrites before parsing, and those of its options with :func:`tfrbm.argtypes.add_hidden_alias`.
"""
