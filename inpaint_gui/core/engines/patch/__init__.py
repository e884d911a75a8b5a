"""Exemplar-based "scene" fill: PatchMatch synthesis for object removal, fast thin-hole repair.

- :func:`synthesize` (:mod:`.synthesis`): coarse-to-fine PatchMatch + voting on a region,
  a generator of :class:`PatchStep` with progress, previews and cancellation.
- :func:`fill_thin`, :func:`split_thin`, :func:`is_thin` (:mod:`.thin`): scratches, dust and
  dots, found by width and filled in a narrow band of the full photo.
- :func:`scene_regions` (:mod:`.scene`): the box around each group of thick holes that the
  engine (:mod:`.engine`, behind the pipeline) synthesises in.

Pure compute (numpy, scipy, numba, Pillow): nothing here imports Qt.
"""

from inpaint_gui.core.engines.patch.scene import SCENE_MARGIN, scene_regions
from inpaint_gui.core.engines.patch.synthesis import (
    PatchSettings,
    PatchStep,
    synthesize,
    warm_up,
)
from inpaint_gui.core.engines.patch.thin import (
    THIN_RADIUS,
    fill_thin,
    is_thin,
    split_thin,
)

__all__ = [
    "SCENE_MARGIN",
    "THIN_RADIUS",
    "PatchSettings",
    "PatchStep",
    "fill_thin",
    "is_thin",
    "scene_regions",
    "split_thin",
    "synthesize",
    "warm_up",
]
