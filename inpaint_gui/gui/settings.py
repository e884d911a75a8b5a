"""Job settings shown in the Settings dock and remembered between runs (QSettings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import QSettings

from inpaint_gui.core.devices import DEVICE_CHOICES as DEVICES
from inpaint_gui.core.pipeline import BLENDS
from inpaint_gui.core.engines.gan.search import SearchSettings

GROUP = "search"
WEIGHTINGS = ("importance", "plain")
_CORE = SearchSettings()  # one set of defaults: the core's


@dataclass(frozen=True)
class JobSettings:
    """What the user chooses for one inpainting job (the search plus the blend)."""

    iterations: int = _CORE.iterations  # the most Adam steps on z
    restarts: int = _CORE.restarts
    lam: float = _CORE.lam
    lr: float = _CORE.lr
    weighting: str = _CORE.weighting
    weight_window: int = _CORE.weight_window
    stop_patience: int = _CORE.stop_patience  # stop after this many iterations without improvement (0: never)
    blend: str = "poisson"
    device: str = "auto"
    seed: int = 0

    def validated(self) -> JobSettings:
        """A copy with every field forced into its allowed range."""
        d = JobSettings()
        return JobSettings(
            iterations=max(1, min(100_000, int(self.iterations))),
            restarts=max(1, min(64, int(self.restarts))),
            lam=max(0.0, float(self.lam)),
            lr=float(self.lr) if float(self.lr) > 0 else d.lr,
            weighting=self.weighting if self.weighting in WEIGHTINGS else d.weighting,
            weight_window=max(1, int(self.weight_window)) | 1,  # odd
            stop_patience=max(0, min(100_000, int(self.stop_patience))),
            blend=self.blend if self.blend in BLENDS else d.blend,
            device=self.device if self.device in DEVICES else d.device,
            seed=max(0, int(self.seed)),
        )

    def search_settings(self, **extra):
        """The core's SearchSettings for these choices (fields it does not know are left out)."""
        names = {f.name for f in dataclasses.fields(SearchSettings)}
        values = {k: v for k, v in dataclasses.asdict(self).items() if k in names}
        values.update({k: v for k, v in extra.items() if k in names})
        return SearchSettings(**values)


def load_settings(qs: QSettings | None = None) -> JobSettings:
    """The remembered settings (defaults for anything missing or unreadable)."""
    qs = qs or QSettings()
    defaults = JobSettings()
    values = {}
    qs.beginGroup(GROUP)
    try:
        for f in dataclasses.fields(JobSettings):
            raw = qs.value(f.name, None)
            if raw is None:
                continue
            try:
                values[f.name] = type(getattr(defaults, f.name))(raw)
            except (TypeError, ValueError):
                pass
    finally:
        qs.endGroup()
    return JobSettings(**values).validated()


def save_settings(settings: JobSettings, qs: QSettings | None = None) -> None:
    qs = qs or QSettings()
    qs.beginGroup(GROUP)
    for k, v in dataclasses.asdict(settings).items():
        qs.setValue(k, v)
    qs.endGroup()
    qs.sync()
