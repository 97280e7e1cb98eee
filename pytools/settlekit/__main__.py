"""``python -m settlekit`` runs the CLI."""

import sys

from settlekit.cli.main import main

sys.exit(main())
