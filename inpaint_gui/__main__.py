"""``python -m inpaint_gui`` is the same as the ``inpaint-gui`` command."""

import sys

from inpaint_gui.cli import main

sys.exit(main())
