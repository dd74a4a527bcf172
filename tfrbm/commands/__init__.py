"""Sub-commands of the ``tfrbm`` command line.

Every module in this package defines ``register(subparsers)``, which adds its sub-commands to
the top-level argparse parser. Each sub-command sets ``func(args) -> int`` with ``set_defaults``.
Modules are discovered automatically, so a new family of commands is one new file.
"""
