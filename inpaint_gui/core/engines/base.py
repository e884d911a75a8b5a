"""The fill-engine contract: plan regions, run one as a generator of steps, finish a candidate.

An engine fills holes of one kind (faces with the latent search of a GAN prior, scenes with
exemplar patches). It is one folder and one :class:`Engine` subclass, registered under the
``inpaint_gui.engines`` entry point group; everything the rest of the app knows of it is
its :class:`EngineInfo` and the answers of its methods. The pipeline (``core/pipeline.py``)
is its only caller::

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
nothing is excluded. An engine that copies from the photo (``info.uses_exclude``) keeps it in
its regions' plans, so that ``run`` never copies from there; one that draws the fill from a
model ignores it. Engines never change their inputs, and every array they hand out is freshly
allocated, so a consumer may pass it to another thread. ``Region.plan`` and
``Candidate.payload`` are the engine's own; what reports print is in ``Step.info``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
    plan: Any = field(default=None, compare=False)  # the engine's own: nobody else reads it
    window: tuple[int, int, int] | None = None  # the square (x, y, size) the engine works in, if it
    # takes placed windows: the canvas frames it and the user may move it

    @property
    def frame(self) -> Rect:
        """The rectangle to show for this region: its square window, or its rect."""
        if self.window is not None:
            x, y, s = self.window
            return (x, y, x + s, y + s)
        return self.rect

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
    window: tuple[int, int, int] | None = None  # the square (x, y, size) the best candidate fills now
    done: bool = False
    cancelled: bool = False
    candidates: list[Candidate] = field(default_factory=list)  # on the last step
    info: dict = field(default_factory=dict)  # engine-specific figures for reports (JSON-safe)


@dataclass(frozen=True)
class EngineInfo:
    """What the pipeline, ``auto``, the GUI and the commands know of an engine: all of it."""

    name: str  # the --engine choice, the settings group, the QSettings group; no "auto" or "common"
    title: str  # for menus, the toolbar and reports
    settings: type  # its settings dataclass (fields made with core.settings.setting)
    summary: str = ""  # one line for --engine's help ("objects and scratches, from the photo's texture")
    placed_window: bool = False  # takes a square window the user placed (--window, the canvas's square)
    uses_exclude: bool = False  # copies from the photo, so the "don't copy from" layer changes its fill
    models: bool = False  # has models to choose from: ``models()`` lists them, ``load`` loads one; its
    # settings then have a ``model`` field ("auto" or a name / folder)
    auto: int | None = None  # its turn in the automatic choice, lower first; None: auto never picks it
    fallback: bool = False  # auto gives it whatever the other engines decline (one engine has it)


@dataclass(frozen=True)
class Suitability:
    """How well an engine suits a region it planned (for ``auto``)."""

    score: float  # in [0, 1], higher is better
    suits: bool  # the engine's own calibrated verdict: it should fill this region
    note: str = ""  # for the region's label ("face check 0.97")


class Engine:
    """The fill-engine contract. Subclass it, set ``info``, implement ``plan``, ``run``, ``finish``;
    the other methods have defaults that an engine overrides when ``info`` says it can do more.
    Register the class once, under the ``inpaint_gui.engines`` entry point group (README,
    "Adding an engine"); nothing else in the app names it. The module that defines the class
    should import quickly (no torch at the top): the CLI reads ``info`` to build its flags.
    """

    info: ClassVar[EngineInfo]

    # -- the work ----------------------------------------------------------------------------------
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
        square the user placed (x, y, size; only when ``info.placed_window``), or None to choose;
        ``exclude``: pixels never to copy from (none of them hole), or None."""
        raise NotImplementedError

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
        raise NotImplementedError

    def finish(self, image: np.ndarray, region: Region, candidate: Candidate) -> Fill:
        """The pixels ``candidate`` puts in the region's hole."""
        raise NotImplementedError

    def check_window(self, window: Sequence[int], mask: np.ndarray) -> None:
        """Check a placed window (``info.placed_window``) before any work: a MaskError when it
        cannot be used with ``mask``."""

    # -- models (when ``info.models``) -----------------------------------------------------------
    @classmethod
    def models(cls) -> list[str]:
        """The installed models' names, for a menu and ``--model``'s help."""
        return []

    def load(self, spec: Any = None, device: str = "cpu") -> Any:
        """Load a model by name or folder (None: the default) and make it the default; returns
        the model (``name``, ``resolution`` and ``mean_face``, a framing guide or None)."""
        raise NotImplementedError(f"the {self.info.name} engine has no models to load")

    # -- the automatic choice (when ``info.auto`` is set) --------------------------------------
    def claim(self, image: np.ndarray, mask: np.ndarray, settings: Any, common: Any) -> list[Region]:
        """Parts of ``mask`` this engine fills whatever the others offer (the scene engine's
        scratches), planned; asked first, in ``info.auto`` order."""
        return []

    def propose(
        self, image: np.ndarray, mask: np.ndarray, settings: Any, common: Any, *, exclude: np.ndarray | None = None
    ) -> list[Region]:
        """Regions for ``mask`` to be judged by :meth:`suitability` (a quick plan will do; the
        chosen ones go through :meth:`refine`). A MaskError: the engine cannot take the hole."""
        return self.plan(image, mask, settings, common, exclude=exclude)

    def suitability(self, image: np.ndarray, mask: np.ndarray, region: Region) -> Suitability:
        """How well this engine suits ``region`` (one of its proposals over ``mask``)."""
        return Suitability(0.0, False)

    def refine(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        regions: list[Region],
        settings: Any,
        common: Any,
        *,
        exclude: np.ndarray | None = None,
    ) -> list[Region]:
        """The proposals ``auto`` chose for this engine, planned as a run needs them."""
        return regions

    # -- many images at once (``eval``) -----------------------------------------------------------
    def fill_batch(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        settings: Any,
        common: Any,
        windows: Sequence[Sequence[int]] | None = None,
    ) -> tuple[list[Fill], dict]:
        """One hole per image (uint8 (B, H, W, 3), bool (B, H, W)): the best candidate's fill of
        each, and figures for the report. This default plans and runs one image after another;
        an engine that can batch its work overrides it."""
        fills = []
        for b, (image, mask) in enumerate(zip(images, masks)):
            window = None if windows is None else windows[b]
            region = self.plan(image, mask, settings, common, window)[0]
            final = deque(self.run(image, mask, region, settings, common), maxlen=1)[0]  # the last step
            assert final.done
            fills.append(self.finish(image, region, final.candidates[final.best]))
        return fills, {}
