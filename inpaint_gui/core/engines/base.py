"""The fill-engine protocol: plan regions, run one as a generator of steps, finish a candidate.

An engine fills holes of one kind (faces with the latent search of a GAN prior, scenes with
exemplar patches). The pipeline (``core/pipeline.py``) is its only caller::

    regions = engine.plan(image, mask, settings, common, window=None, exclude=None)   # list[Region]
    for step in engine.run(image, mask, region, settings, common, cancel):
        ...                                   # Step: progress, thumbnails, composite preview
    fill = engine.finish(image, region, step.candidates[i])   # Fill: pixels for the hole

``image`` is always the whole photo (uint8 (H, W, 3)) and ``mask`` the whole hole (bool
(H, W), True = missing); a region says which part of them the engine works on. ``settings``
is the engine's own settings dataclass (see ``core/settings.py``), ``common`` the
:class:`~inpaint_gui.core.pipeline.CommonSettings` every engine shares (device, seed).
``exclude`` (bool (H, W) or None) marks pixels the user does not want copied into the
hole ("don't copy from"); the pipeline hands it over already clear of the hole, or None when
nothing is excluded. An engine that copies from the photo (the scene engine) keeps it in its
regions' plans, so that ``run`` never copies from there; one that draws the fill from a
model (the face engine) ignores it. Engines never change their inputs, and every array they hand out is freshly allocated, so a
consumer may pass it to another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1) in photo pixels, x1/y1 exclusive; may extend past the photo


@dataclass(frozen=True)
class Region:
    """A piece of work: the hole pixels ``hole`` inside ``rect`` that one engine run fills.

    ``hole`` is bool (y1 - y0, x1 - x0) over ``rect``; pixels of ``rect`` outside the photo are
    never hole. ``plan`` holds what the engine decided (a model window, framings, ...).
    """

    engine: str  # the name of the engine that planned it
    rect: Rect
    hole: np.ndarray = field(repr=False, compare=False)
    label: str = ""  # short, for the status bar and reports ("window 140,44,170")
    plan: Any = field(default=None, compare=False)

    @property
    def hole_pixels(self) -> int:
        return int(self.hole.sum())

    def hole_in(self, shape: Sequence[int]) -> tuple[tuple[slice, slice], np.ndarray]:
        """(photo slices, bool hole over them): ``rect`` clipped to a photo of ``shape`` (H, W, ...)."""
        h, w = int(shape[0]), int(shape[1])
        x0, y0, x1, y1 = self.rect
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        sl = (slice(cy0, cy1), slice(cx0, cx1))
        return sl, self.hole[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]


@dataclass
class Candidate:
    """One fill the user can choose: a thumbnail, its loss, and what ``finish`` needs."""

    index: int
    label: str  # e.g. "restart 2" or "framing 129,13,190 · restart 1"
    loss: float
    thumbnail: np.ndarray  # uint8 (s, s, 3)
    payload: Any = field(default=None, repr=False)  # engine-specific


@dataclass
class Fill:
    """Pixels for a region's hole: float32 (y1 - y0, x1 - x0, 3) in [0, 255] over ``rect``
    (clipped to the photo). Values outside the hole only guide a Poisson blend."""

    rect: Rect
    pixels: np.ndarray


@dataclass
class Step:
    """Progress of one engine run. The last step has ``done=True`` and the candidates."""

    iteration: int  # work done so far (iterations, or the engine's own units)
    iterations: int  # the most work planned (for a progress bar)
    losses: np.ndarray  # float64 (K,): the loss of each candidate being worked on
    best: int  # index of the best candidate so far
    elapsed: float  # seconds since the run started
    thumbnails: np.ndarray | None = None  # uint8 (K, s, s, 3), fresh, or None
    composite: Callable[[int], Any] | None = field(default=None, repr=False)
    """``composite(max_side)`` -> :class:`~inpaint_gui.core.image.preview.Preview` of the best
    candidate in the hole, at most ``max_side`` pixels on a side; call it in the engine's
    thread (it is lazy, so only the previews a screen shows are made)."""
    stage: str = ""  # what the engine is doing ("framing 3 of 27", "level 2 of 5")
    done: bool = False
    cancelled: bool = False
    candidates: list[Candidate] = field(default_factory=list)  # on the last step
    info: dict = field(default_factory=dict)  # engine-specific figures for reports (JSON-safe)


class Engine(Protocol):
    """What the pipeline needs of a fill engine."""

    name: str  # "face", "scene": the --engine choice
    title: str  # for menus and reports
    settings_type: type  # its settings dataclass (fields made with core.settings.setting)

    def plan(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        settings: Any,
        common: Any,
        window: Sequence[int] | None = None,
        *,
        exclude: np.ndarray | None = None,
    ) -> list[Region]:
        """The regions that together cover ``mask``, in the order to fill them; ``window`` is a
        square the user placed (x, y, size), or None to choose; ``exclude``: pixels never to
        copy from (none of them hole), or None."""
        ...

    def run(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        region: Region,
        settings: Any,
        common: Any,
        cancel: threading.Event | None = None,
    ) -> Iterator[Step]:
        """Fill ``region``: yields steps; the last one has the candidates (best-so-far when
        cancelled). ``mask`` may be smaller than when planned (holes already filled)."""
        ...

    def finish(self, image: np.ndarray, region: Region, candidate: Candidate) -> Fill:
        """The pixels ``candidate`` puts in the region's hole."""
        ...
