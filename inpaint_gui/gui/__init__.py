"""The desktop app (PySide6). Nothing outside this package imports Qt.

Entry point: :func:`inpaint_gui.gui.app.run_app`.
"""

from inpaint_gui.gui import _pyside_fix

_pyside_fix.apply()  # must run before the app makes many Qt calls (see the module)
