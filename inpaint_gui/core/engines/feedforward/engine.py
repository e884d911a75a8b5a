"""The papers' feed-forward networks as fill engines: one pass of a network per group of holes.

Two engines share this module: ``ce``, the Context Encoder (it fills a hole inside a 64x64 block
of its 128x128 window), and ``pggan``, PGGAN (it fills any hole of the window).

Plan: for each group of nearby holes (the face engine's ``windows.auto_windows``, the hole plus
``CONTEXT`` of its extent on every side), the window in which the face engine's check and framer
frame the face as CelebA crops are framed (``planning.face_framing``; the networks were trained
on such crops), or that context window when there is no such framing or the network cannot
fill the hole in it; a hole the network cannot fill is a one-line MaskError. Run: the window
area-resized to 128, one pass (milliseconds on one CPU thread); PGGAN also fills the mirrored
window, and the average of both is the first candidate. Finish: the network's own pixels,
resized back to the window, for the pipeline's Poisson seat (their gradients guide it).

This module imports no torch; the network loads on the first plan or run. Neither engine is in
``auto`` on its own: the face engine runs the network first and keeps its fill as a candidate
(``gan/running.py``), which is how ``auto`` offers both (README, "The feed-forward networks").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inpaint_gui.core.engines.base import Candidate, Engine, EngineInfo, Fill, Region, Step
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.settings import setting

CONTEXT = 0.6  # context on each side of the hole, as a share of its extent (the hole spans < 1/2 of the window)


@dataclass(frozen=True)
class ContextEncoderSettings:
    model: str = setting(
        "auto",
        "the Context Encoder: a name in weights/ or a model folder (auto: ce128, the shipped one)",
        metavar="NAME",
        label="Model",
    )


@dataclass(frozen=True)
class PGGANSettings:
    model: str = setting(
        "auto",
        "the PGGAN: a name in weights/ or a model folder (auto: pggan128, the shipped one)",
        metavar="NAME",
        label="Model",
    )
    mirrored: bool = setting(
        True,
        "also fill the mirrored window: the average of both (the first candidate) and each (twice the milliseconds)",
        label="Mirrored pass",
    )


class FeedForwardEngine(Engine):
    """Fills each group of holes with one pass of a feed-forward network (``arch``)."""

    arch = ""  # the model cards' architecture type this engine loads
    default_model = ""  # the shipped model "auto" names

    def __init__(self) -> None:
        self._nets: dict[str, Any] = {}
        self._face = None  # a face engine for its framing machinery (check, framer), made on first use
        self.default: str | None = None

    # -- models ----------------------------------------------------------------------------------
    @classmethod
    def models(cls) -> list[str]:
        """The installed model folders that hold this engine's architecture."""
        from inpaint_gui.core.engines.gan.weights import available_models  # one weights/ for every engine

        return available_models(cls.arch)

    def load(self, spec: Any = None, device: str = "cpu") -> Any:
        from inpaint_gui.core.devices import apply_compute_threads
        from inpaint_gui.core.engines.feedforward.weights import load_net

        name = str(spec) if spec not in (None, "", "auto") else self.default_model
        net = load_net(name, arch=self.arch, device=device)  # any resolution: its windows are resized to it
        apply_compute_threads()
        self._nets[name] = net
        self.default = name
        return net

    def net(self, settings) -> Any:
        name = self.default_model if settings.model == "auto" else settings.model
        return self._nets[name] if name in self._nets else self.load(name)

    # -- the protocol --------------------------------------------------------------------------------
    def check_window(self, window: Sequence[int], mask: np.ndarray) -> None:
        from inpaint_gui.core.engines.gan.windows import check_placed_window

        check_placed_window(window, mask)

    def plan(self, image, mask, settings, common, window=None, *, exclude=None) -> list[Region]:
        from inpaint_gui.core.engines.feedforward.fill import unfillable, window_input
        from inpaint_gui.core.engines.gan.windows import auto_windows

        net = self.net(settings)
        res = net.resolution
        if window is not None:
            self.check_window(window, mask)
            windows = [tuple(int(v) for v in window)]
        else:
            windows = [
                self._framed(image, mask, w, net)
                for w in auto_windows(mask, context=CONTEXT, min_size=min(res, *mask.shape))
            ]
        regions = []
        for x, y, size in windows:
            _small, missing = window_input(image, mask, (x, y, size), res)
            why = unfillable(net, missing)
            if why is not None:
                raise MaskError(f"the hole at {x},{y} in the window of {size} px: {why}")
            hole = mask[y : y + size, x : x + size].copy()
            regions.append(
                Region(
                    self.info.name,
                    (x, y, x + size, y + size),
                    hole,
                    f"{net.name} · window {x},{y},{size}",
                    (x, y, size),
                    window=(x, y, size),
                )
            )
        return regions

    def _framed(self, image, mask, window, net):
        """The face engine's framing of the face around the hole (the network was trained on
        CelebA crops, like the priors), when there is one and the network can fill the hole in
        it; else ``window``."""
        from inpaint_gui.core.engines.feedforward.fill import unfillable, window_input
        from inpaint_gui.core.engines.gan import planning
        from inpaint_gui.core.engines.gan.engine import FaceEngine

        if self._face is None:
            self._face = FaceEngine()  # its face check and framer only
        framed = planning.face_framing(self._face, image, mask, window)
        if framed is None:
            return window
        _small, missing = window_input(image, mask, framed, net.resolution)
        return framed if missing.any() and unfillable(net, missing) is None else window

    def run(self, image, mask, region, settings, common, cancel: threading.Event | None = None) -> Iterator[Step]:
        from inpaint_gui.core.engines.feedforward.fill import predict_mirrored, predict_windows, window_input

        start = time.perf_counter()
        net = self.net(settings)
        x, y, size = region.plan
        small, missing = window_input(image, mask, (x, y, size), net.resolution)
        if getattr(settings, "mirrored", False):
            one, mirrored = (f[0] for f in predict_mirrored(net, small[None], missing[None]))  # (S, S, 3) each
            # the average first: +0.3 dB on val faces (docs/feedforward.md, "PGGAN's candidates")
            fills = [("averaged with its mirror", (one + mirrored) / 2), ("one pass", one), ("mirrored", mirrored)]
        else:
            fills = [("one pass", predict_windows(net, small[None], missing[None])[0])]
        candidates = []
        for k, (label, pixels) in enumerate(fills):  # pixels: float32 (S, S, 3)
            thumb = np.clip(np.rint(np.where(missing[..., None], pixels, small)), 0, 255).astype(np.uint8)
            candidates.append(Candidate(k, label, float("nan"), thumb, ((x, y, size), pixels)))  # no loss
        yield Step(
            1,
            1,
            np.full(len(candidates), np.nan),
            0,
            time.perf_counter() - start,
            thumbnails=np.stack([c.thumbnail for c in candidates]),
            stage=region.label,
            window=(x, y, size),
            done=True,
            candidates=candidates,
            info={"model": net.name, "window": [x, y, size]},
        )

    def finish(self, image, region, candidate) -> Fill:
        from inpaint_gui.core.engines.gan.resample import from_model

        (x, y, size), pixels = candidate.payload
        return Fill((x, y, x + size, y + size), from_model(pixels, size))


class ContextEncoderEngine(FeedForwardEngine):
    """One pass of a Context Encoder (Pathak et al. 2016): a hole inside a 64x64 block."""

    arch = "ce"
    default_model = "ce128"
    info = EngineInfo(
        name="ce",
        title="Context Encoder (feed-forward)",
        settings=ContextEncoderSettings,
        summary="one pass of a network trained on faces: a fill in milliseconds, softer than the search's",
        placed_window=True,
        models=True,
    )


class PGGANEngine(FeedForwardEngine):
    """One pass of PGGAN (Demir & Unal 2018): any hole of the 128x128 window."""

    arch = "pggan"
    default_model = "pggan128"
    info = EngineInfo(
        name="pggan",
        title="PGGAN (feed-forward)",
        settings=PGGANSettings,
        summary="one pass of a dilated residual network trained on faces: any hole of the window, in milliseconds",
        placed_window=True,
        models=True,
    )
