"""inpaint-gui: semantic image inpainting with a deep generative prior.

Importing the package loads neither torch nor Qt; the heavy modules live in
``inpaint_gui.core`` (pure compute) and ``inpaint_gui.gui`` (PySide6).
"""

__version__ = "0.1.0"
