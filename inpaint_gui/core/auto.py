"""The automatic engine choice: each hole goes to the engine that says it suits it best.

Decided when the hole is planned, so the canvas and the status bar name the engine before
anything runs. Only what the engines say is used (``EngineInfo.auto``, ``fallback`` and the
methods ``claim``, ``propose``, ``suitability``, ``refine``); no engine is named here:

1. every engine that takes part (``info.auto`` set), in that order, may *claim* parts of the
   hole outright (the scene engine's scratches and dust: no face is ever painted into them);
2. each other engine in turn *proposes* regions for what is left, and a proposal the engine
   says it suits (its calibrated ``suitability``: the face engine's face check) is *refined*
   and taken; what it declines passes to the next engine (a MaskError from ``propose``: the
   engine cannot take the hole at all);
3. the *fallback* engine (``info.fallback``) plans whatever no engine took, in one plan.

An exclusion ("don't copy from") goes to every engine's plan. The regions' labels say what
the engines found ("face check 0.97"). Regions come in that order: claims, the taken
proposals, the fallback's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from inpaint_gui.core.engines import infos
from inpaint_gui.core.engines.base import Region
from inpaint_gui.core.errors import MaskError


def _only(mask: np.ndarray, region: Region) -> np.ndarray:
    """A photo-sized mask holding just ``region``'s hole (as far as ``mask`` marks it)."""
    out = np.zeros(mask.shape, bool)
    sl, hole = region.hole_in(mask.shape)
    out[sl] = hole & mask[sl]
    return out


def _labelled(region: Region, note: str) -> Region:
    return replace(region, label=f"{region.label} · {note}" if region.label else note) if note else region


def participants() -> tuple[list[str], str | None]:
    """(the engines auto asks, in order, the fallback excluded; the fallback engine or None)."""
    taking = sorted(((i.auto, name) for name, i in infos().items() if i.auto is not None))
    fallback = next((name for _, name in taking if infos()[name].fallback), None)
    return [name for _, name in taking if name != fallback], fallback


def plan(
    image: np.ndarray, mask: np.ndarray, settings: Any, engines: Any, *, exclude: np.ndarray | None = None
) -> list[Region]:
    """The regions for ``mask``, each planned by the engine chosen for it (``exclude``: pixels
    never to copy from, none of them hole, or None)."""
    asked, fallback = participants()
    common = settings.common
    order = [*([fallback] if fallback else []), *asked]
    order.sort(key=lambda name: infos()[name].auto)
    rest = mask.copy()
    regions: list[Region] = []
    for name in order:  # 1. claims
        if not rest.any():
            break
        for r in engines[name].claim(image, rest, settings.of(name), common):
            regions.append(r)
            rest &= ~_only(rest, r)
    notes: list[tuple[np.ndarray, str]] = []  # (hole, why an engine declined it), for the labels
    for name in asked:  # 2. proposals: what one engine declines, the next is asked about
        if not rest.any():
            break
        engine, own = engines[name], settings.of(name)
        try:
            proposals = engine.propose(image, rest, own, common, exclude=exclude)
        except MaskError:  # e.g. too large a hole for any face framing
            notes.append((rest.copy(), f"too large for {name}"))
            continue
        taken: list[tuple[Region, str]] = []
        left = rest.copy()
        for proposal in proposals:
            alone = _only(rest, proposal)
            if not alone.any():
                continue
            verdict = engine.suitability(image, rest, proposal)
            if verdict.suits:
                taken.append((proposal, verdict.note))
                left &= ~alone
            elif verdict.note:
                notes.append((alone, verdict.note))
        refined = engine.refine(image, rest, [r for r, _ in taken], own, common, exclude=exclude)
        regions += [_labelled(r, note) for r, (_, note) in zip(refined, taken)]
        rest = left
    if not rest.any():
        return regions
    if fallback is None:
        raise MaskError("no engine takes this hole: choose an engine instead of auto")
    for r in engines[fallback].plan(image, rest, settings.of(fallback), common, exclude=exclude):  # 3.
        found = [note for hole, note in notes if _only(hole, r).any()]
        regions.append(_labelled(r, " · ".join(dict.fromkeys(found))))
    return regions
