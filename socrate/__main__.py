"""``python -m socrate``: the admin CLI (socrate/cli/)."""

import sys

from socrate.cli import main

sys.exit(main())
