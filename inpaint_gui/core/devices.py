"""Choosing and describing the compute device.

torch is imported only by the functions that need it, so that a run that never uses it (a
scratch filled by the scene engine) does not spend a second loading it.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from inpaint_gui.core.errors import DeviceError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when a GPU is usable, else the CPU; ``cuda`` without a GPU is an error."""
    import torch

    if isinstance(name, torch.device):
        return name
    name = str(name).strip().lower()
    if name == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but no usable NVIDIA GPU was found (use --device cpu or auto)")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"{name} was requested but only {torch.cuda.device_count()} GPU(s) are present")
        return device
    raise DeviceError(f"unknown device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}")


def describe_device(device: torch.device) -> str:
    """A short label for status bars and reports: the GPU's name, or the CPU's thread count."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"


def cpu_count() -> int:
    """Cores this process may use (respects affinity masks, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def busy_cores(sample_seconds: float = 0.1) -> float:
    """How many cores other work keeps busy right now (from /proc/stat over ``sample_seconds``;
    0 where that cannot be read)."""

    def snapshot() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    first = snapshot()
    time.sleep(sample_seconds)
    second = snapshot()
    if first is None or second is None or second[0] <= first[0]:
        return 0.0
    busy_share = 1.0 - (second[1] - first[1]) / (second[0] - first[0])
    return max(0.0, busy_share) * (os.cpu_count() or 1)


def compute_threads(leave_for_ui: bool, measure: bool = True) -> int:
    """Threads for CPU compute: the cores other work leaves free (measured at the call), one
    of them left to the UI thread when a window is up.

    Measured on the bundled sample with one of two cores busy: 2 threads took 26-51 s where one
    took 3.1-3.6 s (torch's OpenMP threads spin-wait on the busy core), so a busy machine gets
    fewer threads, never more than the cores this process may use.
    """
    n = cpu_count()
    free = max(1, min(n, int(round(n - busy_cores())))) if measure else n
    return max(1, free - 1) if leave_for_ui else free


_pending_threads: int | None = None


def set_compute_threads(threads: int) -> None:
    """torch's CPU threads: set now if torch is loaded, else when an engine that uses it is
    first loaded (:func:`apply_compute_threads`, called by ``core.engines``)."""
    global _pending_threads
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        _pending_threads = None
    else:
        _pending_threads = threads


def apply_compute_threads() -> None:
    """Apply a thread count :func:`set_compute_threads` kept while torch was not loaded."""
    global _pending_threads
    if _pending_threads is not None and "torch" in sys.modules:
        import torch

        torch.set_num_threads(_pending_threads)
        _pending_threads = None


def describe_compute(device_name: str = "auto") -> str:
    """:func:`describe_device` of ``device_name``, without loading torch when nothing has: a
    run that never needed torch ran on the CPU, on the threads chosen for it."""
    if "torch" in sys.modules:
        return describe_device(resolve_device(device_name))
    n = _pending_threads or 1
    return f"CPU ({n} thread{'s' if n != 1 else ''})"
