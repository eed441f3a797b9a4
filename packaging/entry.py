"""Entry script of the standalone bundle: the same `flowdesk` command line."""

import sys

from flowdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
