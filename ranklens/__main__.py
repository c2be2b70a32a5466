"""Entry point for `python -m ranklens`.

See ranklens.cli for the commands.
"""

import sys

from ranklens.cli import main

sys.exit(main())
