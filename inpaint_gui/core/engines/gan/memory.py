"""How much memory a latent search needs, checked before anything is allocated."""

from __future__ import annotations

import torch

from inpaint_gui.core.devices import resolve_device
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.weights import LoadedModel


def search_memory_bytes(config, latents: int) -> int:
    """About how much memory a search over ``latents`` latent vectors holds at once: every
    activation of G and D in float32, kept for the backward pass, and its gradient."""
    per_latent = 0
    side, width = 4, config.ngf * 2 ** (config.n_stages - 1)
    for _ in range(config.n_stages):  # the generator's stages, 4x4 up to S/2 x S/2
        per_latent += width * side * side
        side, width = side * 2, width // 2
    per_latent += config.nc * side * side  # G's output
    side, width = config.resolution // 2, config.ndf
    for _ in range(config.n_stages):  # the discriminator's stages, S/2 down to 4x4
        per_latent += width * side * side
        side, width = side // 2, width * 2
    return int(latents * per_latent * 4 * 3)  # float32; activation, its gradient, and a copy in flight


def init_memory_bytes(config, images: int, draws: int) -> int:
    """About how much memory choosing the starting points holds at once: ``draws`` random z
    per image (float32), one image's draws being made, and a loss and a sort index per draw."""
    return int(images * draws * (config.nz * 4 + 16) + draws * config.nz * 4)


def available_memory() -> int:
    """Bytes of memory free for new work (MemAvailable on Linux; a generous guess elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


MEMORY_SHARE = 0.5  # a search may take at most this share of the free memory


def check_memory(model: LoadedModel, images: int, settings: SearchSettings) -> None:
    """SettingsError, before any allocation, when the search (its starting draws included:
    ``init_samples`` x restarts random z per window) would not fit in memory."""
    from inpaint_gui.core.settings import SettingsError

    config, restarts, samples = model.config, settings.restarts, settings.init_samples

    def need(k: int) -> int:
        return search_memory_bytes(config, images * k) + init_memory_bytes(config, images, samples * k)

    free = (
        available_memory()
        if resolve_device(settings.device).type == "cpu"
        else torch.cuda.mem_get_info(resolve_device(settings.device))[0]
    )
    total = need(restarts)
    if total > MEMORY_SHARE * free:
        most = max(1, int(MEMORY_SHARE * free / max(1, need(1))))
        what = f"{restarts} restarts" + (f" x {images} windows" if images > 1 else "")
        draws = f" (from {samples} x {restarts} starting draws each)" if samples > 1 else ""
        raise SettingsError(
            f"{what}{draws} need about {total / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is free: "
            f"use at most {most} restarts" + (" or fewer --init-samples" if samples > 1 else "")
        )
