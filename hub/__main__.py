"""``python -m hub`` is ``crisis-hub``."""

import sys

from hub.cli import main

sys.exit(main())
