"""The face engine: the latent search of Yeh et al. (2017) in a DCGAN prior, as a fill engine.

Plan (``planning.py``): a window per group of nearby holes and, by default, the framings of the
face to search in it. Run (``running.py``): the latent search, K restarts per window; every
surviving restart's G(z) is a candidate. Finish: the chosen G(z) is resized up to its window
(bicubic) and handed to the pipeline, which blends it into the hole. For the automatic choice
the engine proposes its coarse framings and the *face check* (``facecheck.py``) says whether a
face framed as the prior was trained is there.

This module imports no torch: the CLI reads the class's ``info`` to build its flags, and a run
that never needs the face engine (a scratch, a scene) never loads torch. The heavy modules load
on the first call that needs them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from inpaint_gui.core.engines.base import Candidate, Engine, EngineInfo, Fill, Region, Step, Suitability
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.errors import WeightsError

log = logging.getLogger(__name__)

AUTO_MODELS = ((128, "celeba128"), (64, "celeba64"))  # model="auto": the shipped face models, largest first
AUTO_MIN_SHARE = 0.75  # ... a model serves windows of at least this share of its resolution (96 px for 128)


def _heavy():
    """The modules that load torch, imported on first use; the thread count chosen before
    torch was loaded is applied then."""
    from inpaint_gui.core.devices import apply_compute_threads
    from inpaint_gui.core.engines.gan import planning, running, weights

    apply_compute_threads()
    return planning, running, weights


class FaceEngine(Engine):
    """Fills holes with a face prior. Holds the loaded models (loading is the slow part)."""

    info = EngineInfo(
        name="face",
        title="Face prior (DCGAN latent search)",
        settings=SearchSettings,
        summary="the latent search in a GAN prior of faces, where the hole sits in a face",
        placed_window=True,
        models=True,
        auto=1,
    )

    def __init__(self, model: Any = None):
        self._models: dict[str, Any] = {}  # name or path -> LoadedModel
        self._check = None  # the face check (facecheck.py), loaded on first use
        self._framer = None  # the framer (framer.py), loaded on first use; False: not installed
        self._nets: dict[str, Any] = {}  # feed-forward networks by name (network.py), loaded on first use
        self._encoders: dict[str, Any] = {}  # the priors' learned starts by prior name (encoder.py)
        self._proposed = None  # planning._framings' last answer: the engine choice and the plan ask in a row
        self.default: str | None = None
        if model is not None:
            self.load(model)

    # -- models ------------------------------------------------------------------------------
    @classmethod
    def models(cls) -> list[str]:
        """The installed DCGAN priors (weights/ also holds other engines' networks)."""
        from inpaint_gui.core.engines.gan.weights import available_models

        return available_models("dcgan")

    def load(self, spec: Any = None, device: str = "cpu") -> Any:
        """Load a model by name or folder (None: the default), or adopt a loaded one; it becomes
        the default for ``model()``."""
        _planning, _running, weights = _heavy()
        if isinstance(spec, weights.LoadedModel):
            model = spec
        else:
            requested = str(spec) if spec not in (None, "") else weights.default_model_name()
            model = weights.load_model(requested, device=device)
            self._models[requested] = model  # asked for by path or by name
        self._models[model.name] = model
        self.default = model.name
        return model

    def model(self, name: str | None = None) -> Any:
        """A loaded model by name (the default one when ``name`` is None)."""
        if name is None:
            if self.default is None:
                self.load(None)
            name = self.default
        if name not in self._models:
            self.load(name)
        return self._models[name]

    def model_for(self, settings: SearchSettings, side: int) -> Any:
        """The model that fills a window of ``side`` pixels: ``settings.model``, or with "auto"
        the shipped face model of the highest resolution the window is large enough for (a
        window of 96 px or more gets ``celeba128`` when it is installed); a model handed to the
        engine (tests, the GUI's model menu) is used as it is."""
        if settings.model != "auto":
            return self.model(settings.model)
        if self.default is not None and self.default not in {name for _, name in AUTO_MODELS}:
            return self.model()
        installed = [(res, name) for res, name in AUTO_MODELS if self.has_model(name)]
        for res, name in installed:
            if side >= AUTO_MIN_SHARE * res:
                return self._models[name] if name in self._models else self._adopt(name)
        return self.model(installed[-1][1]) if installed else self.model()

    def has_model(self, name: str) -> bool:
        """``name`` is loaded or installed."""
        if name in self._models:
            return True
        _planning, _running, weights = _heavy()
        try:
            weights.find_model(name)
        except WeightsError:
            return False
        return True

    def network_for(self, settings: SearchSettings, resolution: int | None = None) -> str | None:
        """The feed-forward network(s) ``settings.network`` names, joined by "+": with "auto"
        the shipped ones for a prior of ``resolution`` that are installed, else the default ones
        that are (None if none is); with names or a folder those (a one-line WeightsError when one
        is not installed or not a feed-forward network); None with "none"."""
        from inpaint_gui.core.engines.gan.network import JOIN, network_names

        names = network_names(settings.network, resolution)
        if settings.network == "auto":
            names = self._installed(names) or self._installed(network_names("auto"))
        for name in names:
            self.network(name)  # loaded and verified now: a wrong name fails before any work
        return JOIN.join(names) or None

    def _installed(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n for n in names if n in self._nets or self.has_model(n))

    def networks(self, label: str) -> list[Any]:
        """The networks a plan's ``network`` label names (``network_for``'s answer), loaded."""
        from inpaint_gui.core.engines.gan.network import network_names

        return [self.network(name) for name in network_names(label)]

    def network(self, name: str) -> Any:
        """A feed-forward network (``feedforward.weights.LoadedNet``) by name or folder, loaded
        on first use on the device of the priors."""
        if name not in self._nets:
            from inpaint_gui.core.engines.feedforward.weights import load_net

            device = (
                next(iter(self._models.values())).generator.parameters().__next__().device if self._models else "cpu"
            )
            self._nets[name] = load_net(name, device=device)
        return self._nets[name]

    def encoder_for(self, settings: SearchSettings, model) -> str | None:
        """The prior (its name) whose learned start (``encoder.py``) the search in ``model``
        takes under ``settings.start``: with "auto" when one made for this prior is installed,
        with "encoder" always (a one-line WeightsError when none is, or it was made for another
        latent size or resolution), None with "random"."""
        if settings.start == "random":
            return None
        name = model.name
        if name not in self._encoders:
            from inpaint_gui.core.engines.gan.encoder import encoder_name, load_encoder
            from inpaint_gui.core.engines.gan.facecheck import find_card_folder

            try:
                folder = find_card_folder(encoder_name(name), f"{name}'s encoder")
            except WeightsError:  # not installed: a broken one is an error below, whatever the setting
                if settings.start == "encoder":
                    raise
                return None
            self._encoders[name] = load_encoder(name, folder)
        config = self._encoders[name].net.config
        if (config.nz, config.resolution) != (model.config.nz, model.resolution):  # made for another prior
            if settings.start == "encoder":
                raise WeightsError(
                    f"{name}'s encoder maps {config.resolution}x{config.resolution} windows to {config.nz} "
                    f"latents; {name} takes {model.config.nz} and draws {model.resolution}x{model.resolution}"
                )
            return None
        return name

    def encoder(self, model_name: str) -> Any:
        """The learned start of the prior ``model_name`` (``encoder.LoadedEncoder``), loaded on first use."""
        if model_name not in self._encoders:
            from inpaint_gui.core.engines.gan.encoder import load_encoder

            self._encoders[model_name] = load_encoder(model_name)
        return self._encoders[model_name]

    def _adopt(self, name: str) -> Any:
        keep = self.default
        model = self.load(name)
        self.default = keep or model.name
        return model

    def face_check(self, required: bool = True):
        """The face check (loaded on first use); without ``required``, None if it is missing or broken."""
        from inpaint_gui.core.engines.gan.facecheck import load_check

        if self._check is None:
            try:
                self._check = load_check()
            except WeightsError as exc:
                if required:
                    raise
                log.warning("framing without the face check's prior: %s", exc)
                return None
        return self._check

    def framer(self):
        """The framer (framer.py), loaded on first use; None (the check's proposals are searched
        as they are) when it is missing or broken."""
        from inpaint_gui.core.engines.gan.framer import load_framer

        if self._framer is None:
            try:
                self._framer = load_framer()
            except WeightsError as exc:
                log.warning("framing without the framer: %s", exc)
                self._framer = False
        return self._framer or None

    # -- the protocol ------------------------------------------------------------------------------
    def check_window(self, window: Sequence[int], mask: np.ndarray) -> None:
        """A placed window fits the photo and holds hole pixels (before any model loads)."""
        from inpaint_gui.core.engines.gan.windows import check_placed_window

        check_placed_window(window, mask)

    def plan(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        settings: SearchSettings,
        common,
        window: Sequence[int] | None = None,
        *,
        exclude: np.ndarray | None = None,  # ignored: the fill comes from the prior, not the photo
    ) -> list[Region]:
        planning, _running, _weights = _heavy()
        return planning.plan(self, image, mask, settings, window)

    def run(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        region: Region,
        settings: SearchSettings,
        common,
        cancel: threading.Event | None = None,
    ) -> Iterator[Step]:
        _planning, running, _weights = _heavy()
        return running.run(self, image, mask, region, settings, common, cancel)

    def finish(self, image: np.ndarray, region: Region, candidate: Candidate) -> Fill:
        from inpaint_gui.core.engines.gan.resample import from_model

        (x, y, size), fill = candidate.payload
        return Fill((x, y, x + size, y + size), from_model(fill, size))

    def fill_batch(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        settings: SearchSettings,
        common,
        windows: Sequence[Sequence[int]] | None = None,
    ) -> tuple[list[Fill], dict]:
        """Every image's work in one batched search per model (``running.fill_batch``)."""
        _planning, running, _weights = _heavy()
        return running.fill_batch(self, images, masks, settings, common, windows)

    # -- the automatic choice ------------------------------------------------------------------
    def propose(self, image, mask, settings: SearchSettings, common, *, exclude=None) -> list[Region]:
        """The coarse framings: the face check judges those (as calibrated), and it is quick.
        A hole too large for any face framing is a MaskError: not a face to fill."""
        return self.plan(image, mask, replace(settings, framing_prior=False), common)

    def suitability(self, image: np.ndarray, mask: np.ndarray, region: Region) -> Suitability:
        """The face check's probability that the region's context is a face framed as the prior
        was trained (over the region's windows, and at the framing the search would use); the
        face engine suits it at ``FACE_THRESHOLD`` and above."""
        from inpaint_gui.core.engines.gan.facecheck import FACE_THRESHOLD

        planning, _running, _weights = _heavy()
        check = self.face_check()
        p = planning.face_probability(check, image, mask, region)
        if p >= FACE_THRESHOLD:  # ... and where the search would frame it, too (close-ups)
            p = planning.at_the_framing(self, check, image, mask, region, p)
        return Suitability(p, p >= FACE_THRESHOLD, f"face check {p:.2f}")

    def refine(self, image, mask, regions, settings: SearchSettings, common, *, exclude=None) -> list[Region]:
        """The chosen proposals with the framings the face check proposes (planned once for all)."""
        if not settings.framing_prior or not regions:
            return regions
        proposed = {r.window: r for r in self.plan(image, mask, settings, common)}
        return [proposed.get(r.window, r) for r in regions]
