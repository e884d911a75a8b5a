"""The automatic engine choice: the face prior where the hole sits in a face, the scene engine elsewhere.

Decided when the hole is planned, so the canvas and the status bar name the engine before
anything runs:

- thin parts of the hole (scratches, dust) go to the scene engine's thin fill: no face is ever
  painted into a scratch;
- every other group of holes is planned by the face engine (its framings), and the *face check*
  (``engines/gan/facecheck.py``, a small CNN) judges those windows: when its best three look
  like a face framed as the prior was trained (mean p >= ``FACE_THRESHOLD``) the face engine
  fills the group, otherwise the scene engine does.

The regions' labels say what the check found ("face check 0.97"). The short latent search's
contextual loss was tried first as the criterion and does not separate faces from photos
(README, "Engine choice").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from inpaint_gui.core.engines.base import Region
from inpaint_gui.core.errors import MaskError


def _only(mask: np.ndarray, region: Region) -> np.ndarray:
    """A photo-sized mask holding just ``region``'s hole."""
    out = np.zeros(mask.shape, bool)
    sl, hole = region.hole_in(mask.shape)
    out[sl] = hole & mask[sl]
    return out


def _labelled(regions: list[Region], note: str) -> list[Region]:
    return [replace(r, label=f"{r.label} · {note}" if r.label else note) for r in regions]


def plan(image: np.ndarray, mask: np.ndarray, settings: Any, engines: Any) -> list[Region]:
    """The regions for ``mask``, each planned by the engine chosen for it."""
    scene = engines["scene"]  # the face engine (and torch) only once a hole is not thin
    scene_settings, common = settings.of("scene"), settings.common
    thin = [r for r in scene.plan(image, mask, scene_settings, common) if r.plan.kind == "thin"]
    rest = mask.copy()
    for r in thin:
        sl, hole = r.hole_in(mask.shape)
        rest[sl] &= ~hole
    regions = list(thin)
    if not rest.any():
        return regions
    face = engines["face"]
    try:
        face_regions = face.plan(image, rest, settings.of("face"), common)
    except MaskError:  # too large a hole for any face framing: not a face to fill
        return regions + _labelled(scene.plan(image, rest, scene_settings, common), "too large for a face")
    from inpaint_gui.core.engines.gan.facecheck import FACE_THRESHOLD  # torch: only when a hole is not thin

    for face_region in face_regions:
        alone = _only(rest, face_region)
        if not alone.any():
            continue
        p = face.face_probability(image, rest, face_region)
        if p >= FACE_THRESHOLD:
            regions += _labelled([face_region], f"face check {p:.2f}")
        else:
            regions += _labelled(scene.plan(image, alone, scene_settings, common), f"face check {p:.2f}")
    return regions
