"""A fill engine from outside the package, as a third party would ship it (``tests/test_plugins.py``).

The scene engine's fill under another name, which ``auto`` may choose: it says it suits every
hole it is asked about. It is registered by the ``inpaint_gui.engines`` entry point of a
distribution that the tests lay out next to this file's copy, never by inpaint_gui itself.
"""

from __future__ import annotations

from dataclasses import replace

from inpaint_gui.core.engines.base import Suitability
from inpaint_gui.core.engines.patch.engine import SceneEngine


class BlurEngine(SceneEngine):
    info = replace(
        SceneEngine.info,
        name="blur",
        title="Blur (a plugin)",
        summary="a plugin engine",
        auto=5,
        fallback=False,
    )

    def suitability(self, image, mask, region):
        return Suitability(1.0, True, "blur suits")
