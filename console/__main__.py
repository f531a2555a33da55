"""`python -m console ...`: see console/cli.py."""

import sys

from console.cli import main

sys.exit(main())
