"""``python -m hub`` is ``crisis-hub``."""

import sys

from hub.cli import main

if __name__ == "__main__":
    sys.exit(main())
