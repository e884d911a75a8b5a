"""A small terminal progress bar on stderr (quiet when stderr is not a terminal)."""

from __future__ import annotations

import sys
import time


def format_seconds(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN or unknown
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class ProgressBar:
    """``update(done, **fields)`` redraws at most every ``min_interval`` seconds."""

    def __init__(
        self,
        total: int,
        label: str = "",
        enabled: bool | None = None,
        stream=None,
        min_interval: float = 0.2,
        width: int = 24,
        unit: str = "it",
    ):
        self.total, self.label, self.unit = max(1, total), label, unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.min_interval, self.width = min_interval, width
        self.start = time.perf_counter()
        self._last = 0.0
        self._shown = False

    def update(self, done: int, force: bool = False, **fields) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        frac = min(1.0, done / self.total)
        bar = "#" * int(frac * self.width) + "-" * (self.width - int(frac * self.width))
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        line = f"\r{self.label} [{bar}] {done}/{self.total} {rate:.1f} {self.unit}/s ETA {format_seconds(eta)} {extra}"
        self.stream.write(line[:160].ljust(80))
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()
