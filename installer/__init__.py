"""Sets up Neural Style for GIMP on an artist's machine (``python3 -m installer``). Standard library only."""

import sys

if sys.version_info < (3, 8):  # written so that even Python 2 reaches this line
    sys.stderr.write(
        "Installation failed: Python %d.%d is too old to run the installer; install Python 3.13 "
        "from https://www.python.org/downloads/ and run the installer with it.\n" % sys.version_info[:2]
    )
    sys.exit(1)
