"""``bench --parts feedforward``: one 128x128 fill of each feed-forward network on ONE CPU thread.

Each row times :func:`fill_windows` on one window with the central block missing (the input
built, the network run, the fill composed), and the same followed by the Poisson seat that
``eval`` and the app apply, against the issue's budget of 0.3 s and the one-thread matrix-product
rate measured in the same run. The time does not depend on the weights: without a shipped model
the row times an untrained network of the default architecture (and says so).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from inpaint_gui.lab.bench import _timed, matmul_gflops

BUDGET_SECONDS = 0.3
MODELS = {"ce": "ce128", "pggan": "pggan128"}


def _network(arch: str, name: str | None):
    from inpaint_gui.core.engines.feedforward.weights import ARCHS, LoadedNet, load_net
    from inpaint_gui.core.errors import WeightsError

    try:
        return load_net(name or MODELS[arch], arch=arch, resolution=128), "weights"
    except WeightsError:
        if name:  # asked for by name: its problem is the answer
            raise
    config = ARCHS[arch][0]()
    g = ARCHS[arch][1](config).eval().requires_grad_(False)
    return LoadedNet(f"untrained {arch}", None, arch, config, g), "untrained (same architecture and widths)"


def conv_macs(net: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of the (transposed) convolutions of one forward of ``net`` on ``x``."""
    total = 0

    def hook(m, inputs, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1]
        if isinstance(m, nn.ConvTranspose2d):
            total += inputs[0].shape[1] * m.out_channels * k * inputs[0].shape[2] * inputs[0].shape[3]
        else:
            total += m.in_channels * out.shape[1] * k * out.shape[2] * out.shape[3] // m.groups

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return total


def feedforward_rows(min_seconds: float = 2.0, models: dict[str, str | None] | None = None) -> list[dict]:
    """One row per network: seconds per fill (one thread), with the Poisson seat, GFLOP/s achieved."""
    from inpaint_gui.core.engines.feedforward import ce, pggan
    from inpaint_gui.core.engines.feedforward.fill import fill_windows
    from inpaint_gui.lab.evaluate import feedforward_outputs
    from inpaint_gui.lab.masks import center_mask

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ceiling = matmul_gflops(min_seconds=min_seconds / 2)
        rng = np.random.default_rng(0)
        image = rng.integers(0, 256, (1, 128, 128, 3)).astype(np.uint8)
        mask = center_mask(128)[None]
        rows = []
        for arch in ("ce", "pggan"):
            net, source = _network(arch, (models or {}).get(arch))
            channels = ce.IN_CHANNELS if arch == "ce" else pggan.IN_CHANNELS
            macs = conv_macs(net.generator, torch.zeros(1, channels, 128, 128))
            fill_s, reps = _timed(lambda net=net: fill_windows(net, image, mask), min_seconds)
            seat_s, _ = _timed(lambda net=net: feedforward_outputs(net, image, mask, "poisson"), min_seconds)
            rows.append(
                {
                    "network": arch,
                    "model": net.name,
                    "weights": source,
                    "gmac": round(macs / 1e9, 3),
                    "fill_s": round(fill_s, 4),
                    "with_poisson_s": round(seat_s, 4),
                    "reps": reps,
                    "gflops": round(2 * macs / fill_s / 1e9, 1),
                    "share_of_matmul": round(2 * macs / fill_s / 1e9 / ceiling, 3),
                    "budget_s": BUDGET_SECONDS,
                    "within_budget": bool(seat_s <= BUDGET_SECONDS),
                }
            )
        return [{"matmul_gflops_1_thread": round(ceiling, 1)}, *rows]
    finally:
        torch.set_num_threads(before)
