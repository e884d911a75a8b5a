"""The automatic engine choice: the face prior where the hole sits in a face, the scene engine elsewhere.

Decided when the hole is planned, so the canvas and the status bar name the engine before
anything runs:

- thin parts of the hole (scratches, dust) go to the scene engine's thin fill: no face is ever
  painted into a scratch;
- every other group of holes is planned by the face engine (its framings), and the *face check*
  (``engines/gan/facecheck.py``, a small CNN) judges those windows: when its best three look
  like a face framed as the prior was trained (mean p >= ``FACE_THRESHOLD``) the face engine
  fills the group, otherwise the scene engine does.

An exclusion ("don't copy from") goes to every engine's plan; only the scene engine uses it.
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


def plan(
    image: np.ndarray, mask: np.ndarray, settings: Any, engines: Any, *, exclude: np.ndarray | None = None
) -> list[Region]:
    """The regions for ``mask``, each planned by the engine chosen for it (``exclude``: pixels
    never to copy from, none of them hole, or None)."""
    scene = engines["scene"]  # the face engine (and torch) only once a hole is not thin
    scene_settings, common = settings.of("scene"), settings.common
    thin = [r for r in scene.plan(image, mask, scene_settings, common) if r.plan.kind == "thin"]  # copy nothing
    rest = mask.copy()
    for r in thin:
        sl, hole = r.hole_in(mask.shape)
        rest[sl] &= ~hole
    regions = list(thin)
    if not rest.any():
        return regions
    face = engines["face"]
    from inpaint_gui.core.engines.gan.facecheck import FACE_THRESHOLD  # torch: only when a hole is not thin

    face_settings = settings.of("face")
    try:  # the coarse framings first: the check judges those (as calibrated), and it is quick
        face_regions = face.plan(image, rest, replace(face_settings, framing_prior=False), common, exclude=exclude)
    except MaskError:  # too large a hole for any face framing: not a face to fill
        scene_regions = scene.plan(image, rest, scene_settings, common, exclude=exclude)
        return regions + _labelled(scene_regions, "too large for a face")
    proposed = None  # the same regions with the framings the face check proposes, planned if needed
    for face_region in face_regions:
        alone = _only(rest, face_region)
        if not alone.any():
            continue
        p = face.face_probability(image, rest, face_region)
        if p >= FACE_THRESHOLD:
            if face_settings.framing_prior:
                if proposed is None:
                    proposed = {
                        r.plan.window: r for r in face.plan(image, rest, face_settings, common, exclude=exclude)
                    }
                face_region = proposed.get(face_region.plan.window, face_region)
            regions += _labelled([face_region], f"face check {p:.2f}")
        else:
            scene_regions = scene.plan(image, alone, scene_settings, common, exclude=exclude)
            regions += _labelled(scene_regions, f"face check {p:.2f}")
    return regions
