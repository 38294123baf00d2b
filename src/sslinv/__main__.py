"""``python -m sslinv <stage>`` runs the same command line as ``sslinv <stage>``."""

import sys

from sslinv.cli import main

sys.exit(main())
