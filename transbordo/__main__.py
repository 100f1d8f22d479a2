"""`python -m transbordo` is the `transbordo` command."""

import sys

from transbordo.cli import main

sys.exit(main())
