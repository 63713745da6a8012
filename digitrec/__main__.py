"""``python -m digitrec IMAGE ...``: see :mod:`digitrec.cli`."""

import sys

from digitrec.cli import main

sys.exit(main())
