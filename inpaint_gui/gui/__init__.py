"""The desktop app (PySide6). Nothing outside this package imports Qt.

Entry point: :func:`inpaint_gui.gui.app.run_app`.
"""
