"""``python -m tfrbm`` runs the same command line as the ``tfrbm`` script."""
import sys

from tfrbm.cli import main

sys.exit(main())
