"""The Context Encoder as a fill engine: one pass of the network per group of holes.

Plan: for each group of nearby holes (the face engine's ``windows.auto_windows``, the hole plus
``CONTEXT`` of its extent on every side), the window in which the face engine's check and framer
frame the face as CelebA crops are framed (``planning.face_framing``; the network was trained on
such crops), or that context window when there is no such framing or the hole does not fit the
64x64 block in it; a hole the block cannot hold is a one-line MaskError. Run: the window area-resized to 128, one pass, one
candidate (milliseconds on one CPU thread). Finish: the network's own pixels over its block,
resized back to the window, for the pipeline's Poisson seat (their gradients guide it).

This module imports no torch; the network loads on the first plan or run. Not in ``auto`` yet:
when ``auto`` should prefer it is a measurement still to make (issue 24).
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

ARCH = "ce"
DEFAULT_MODEL = "ce128"  # the shipped Context Encoder
CONTEXT = 0.6  # context on each side of the hole, as a share of its extent (the hole spans < 1/2 of the window)


@dataclass(frozen=True)
class ContextEncoderSettings:
    model: str = setting(
        "auto",
        f"the Context Encoder: a name in weights/ or a model folder (auto: {DEFAULT_MODEL}, the shipped one)",
        metavar="NAME",
        label="Model",
    )


class ContextEncoderEngine(Engine):
    """Fills each group of holes with one pass of a Context Encoder (Pathak et al. 2016)."""

    info = EngineInfo(
        name=ARCH,
        title="Context Encoder (feed-forward)",
        settings=ContextEncoderSettings,
        summary="one pass of a network trained on faces: a fill in milliseconds, softer than the search's",
        placed_window=True,
        models=True,
    )

    def __init__(self) -> None:
        self._nets: dict[str, Any] = {}
        self._face = None  # a face engine for its framing machinery (check, framer), made on first use
        self.default: str | None = None

    # -- models ----------------------------------------------------------------------------------
    @classmethod
    def models(cls) -> list[str]:
        """The installed model folders that hold a Context Encoder."""
        import json

        from inpaint_gui.core.engines.gan.weights import CARD_NAME, weights_dirs  # one weights/ for every engine

        names = set()
        for d in weights_dirs():
            for card in d.glob(f"*/{CARD_NAME}") if d.is_dir() else []:
                try:
                    arch = json.loads(card.read_text(encoding="utf-8")).get("architecture", {}).get("type")
                except (OSError, ValueError, AttributeError):
                    continue
                if arch == ARCH:
                    names.add(card.parent.name)
        return sorted(names)

    def load(self, spec: Any = None, device: str = "cpu") -> Any:
        from inpaint_gui.core.devices import apply_compute_threads
        from inpaint_gui.core.engines.feedforward.weights import load_net

        name = str(spec) if spec not in (None, "", "auto") else DEFAULT_MODEL
        net = load_net(name, arch=ARCH, resolution=128, device=device)
        apply_compute_threads()
        self._nets[name] = net
        self.default = name
        return net

    def net(self, settings: ContextEncoderSettings) -> Any:
        name = DEFAULT_MODEL if settings.model == "auto" else settings.model
        return self._nets[name] if name in self._nets else self.load(name)

    # -- the protocol --------------------------------------------------------------------------------
    def check_window(self, window: Sequence[int], mask: np.ndarray) -> None:
        from inpaint_gui.core.engines.gan.windows import validate_window

        x, y, size = validate_window(window, mask.shape)
        if not mask[y : y + size, x : x + size].any():
            raise MaskError(f"the window {x},{y},{size} contains no hole pixel: place it over the hole")

    def plan(self, image, mask, settings, common, window=None, *, exclude=None) -> list[Region]:
        from inpaint_gui.core.engines.feedforward.fill import plan_block
        from inpaint_gui.core.engines.gan.resample import to_model
        from inpaint_gui.core.engines.gan.windows import auto_windows

        net = self.net(settings)
        res, block = net.resolution, net.config.block
        if window is not None:
            self.check_window(window, mask)
            windows = [tuple(int(v) for v in window)]
        else:
            windows = [
                self._framed(image, mask, w, res, block)
                for w in auto_windows(mask, context=CONTEXT, min_size=min(res, *mask.shape))
            ]
        regions = []
        for x, y, size in windows:
            _small, missing = to_model(image, mask, (x, y, size), res)
            if plan_block(missing, block) is None:
                raise MaskError(
                    f"the hole at {x},{y} is too large for the Context Encoder: at most half the side of its "
                    f"window ({size} px here); use another engine or a larger window"
                )
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

    def _framed(self, image, mask, window, res: int, block: int):
        """The face engine's framing of the face around the hole (the network was trained on
        CelebA crops, like the priors), when there is one and the hole fits the block in it;
        else ``window``."""
        from inpaint_gui.core.engines.feedforward.fill import plan_block
        from inpaint_gui.core.engines.gan import planning
        from inpaint_gui.core.engines.gan.engine import FaceEngine
        from inpaint_gui.core.engines.gan.resample import to_model

        if self._face is None:
            self._face = FaceEngine()  # its face check and framer only
        framed = planning.face_framing(self._face, image, mask, window)
        if framed is None:
            return window
        _small, missing = to_model(image, mask, framed, res)
        return framed if plan_block(missing, block) is not None and missing.any() else window

    def run(self, image, mask, region, settings, common, cancel: threading.Event | None = None) -> Iterator[Step]:
        from inpaint_gui.core.engines.feedforward.fill import predict_windows
        from inpaint_gui.core.engines.gan.resample import to_model

        start = time.perf_counter()
        net = self.net(settings)
        x, y, size = region.plan
        small, missing = to_model(image, mask, (x, y, size), net.resolution)
        pixels = predict_windows(net, small[None], missing[None])[0]  # float32 (S, S, 3) in [0, 255]
        thumb = np.clip(np.rint(np.where(missing[..., None], pixels, small)), 0, 255).astype(np.uint8)
        candidate = Candidate(0, "one pass", 0.0, thumb, ((x, y, size), pixels))
        yield Step(
            1,
            1,
            np.zeros(1),
            0,
            time.perf_counter() - start,
            thumbnails=thumb[None],
            stage=region.label,
            window=(x, y, size),
            done=True,
            candidates=[candidate],
            info={"model": net.name, "window": [x, y, size]},
        )

    def finish(self, image, region, candidate) -> Fill:
        from inpaint_gui.core.engines.gan.resample import from_model

        (x, y, size), pixels = candidate.payload
        return Fill((x, y, x + size, y + size), from_model(pixels, size))
