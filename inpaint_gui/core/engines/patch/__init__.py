"""Exemplar-based "scene" fill: PatchMatch synthesis for object removal, fast thin-hole repair.

- :func:`synthesize` (:mod:`.synthesis`): coarse-to-fine PatchMatch + voting on a region,
  a generator of :class:`PatchStep` with progress, previews and cancellation.
- :func:`fill_thin`, :func:`split_thin`, :func:`is_thin` (:mod:`.thin`): scratches, dust and
  dots, filled in a narrow band on the full photo.
- :func:`fill_scene` (:mod:`.scene`): both together on a whole photo (thin parts first, then
  a region around the rest), blocking.
"""

from inpaint_gui.core.engines.patch.synthesis import PatchSettings, PatchStep, synthesize

__all__ = ["PatchSettings", "PatchStep", "synthesize"]
