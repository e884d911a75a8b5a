"""DCGAN training (Radford et al. 2016) of the face prior, resumable to the exact step.

Adam (lr 2e-4, beta1 0.5), BatchNorm, N(0, 0.02) initialisation, the non-saturating G loss,
horizontal flips, z ~ U[-1, 1] (the prior the latent search of Yeh et al. samples from).
All randomness (data order, flips, z) comes from torch generators whose state is saved in the
checkpoint, and the data order of an epoch is a function of (seed, epoch), so a resumed run
continues exactly where it stopped.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
from inpaint_gui.core.engines.gan.search import tensor_to_images
from inpaint_gui.lab.dataset import ImageSet

CHECKPOINT_VERSION = 1


@dataclass
class TrainSettings:
    epochs: float = 25.0  # may be fractional
    batch: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    label_smoothing: float = 0.0  # one-sided: real labels become 1 - label_smoothing
    seed: int = 0
    sample_every: int = 500  # steps between sample grids
    checkpoint_every: int = 500  # steps between checkpoints
    amp: bool = True  # bf16 autocast on CUDA (ignored on the CPU)


@dataclass
class TrainState:
    step: int = 0
    images_seen: int = 0
    seconds: float = 0.0  # training wall time, summed over resumed runs
    loss_d: float = float("nan")  # moving averages
    loss_g: float = float("nan")
    history: list = field(default_factory=list)  # (step, loss_d, loss_g) every 100 steps
    command: str = ""  # the command that started this run
    hardware: str = ""  # what it trained on (the latest run)
    resumed_with: list = field(default_factory=list)  # commands that continued it
    initialised_from: list = field(default_factory=list)  # warm start: [model name, layers copied]


def to_model_tensor(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, S, S, 3) -> float32 (N, 3, S, S) in [-1, 1]."""
    return images_uint8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def image_grid(images: np.ndarray, cols: int = 8, pad: int = 2) -> np.ndarray:
    """uint8 (N, S, S, 3) -> one uint8 grid image with ``pad`` white pixels between tiles."""
    n, s = len(images), images.shape[1]
    rows = math.ceil(n / cols)
    grid = np.full((rows * (s + pad) + pad, cols * (s + pad) + pad, 3), 255, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid[pad + r * (s + pad) : pad + r * (s + pad) + s, pad + c * (s + pad) : pad + c * (s + pad) + s] = im
    return grid


class Trainer:
    """Owns G, D, their optimisers and all random state; ``run`` trains until the epoch budget."""

    def __init__(self, config: DCGANConfig, data: ImageSet, settings: TrainSettings, device: torch.device):
        if len(data) < settings.batch:
            raise ValueError(f"need at least one batch of images ({settings.batch}), found {len(data)}")
        self.config, self.settings, self.device = config, settings, device
        self.images = torch.from_numpy(data.images).to(device)  # uint8 (N, S, S, 3), on the device
        self.generator, self.discriminator = build_models(config, seed=settings.seed)
        self.generator.to(device)
        self.discriminator.to(device)
        self.opt_g, self.opt_d = adam_pair(self.generator, self.discriminator, settings)
        self.noise = torch.Generator(device="cpu").manual_seed(settings.seed + 1)
        self.fixed_z = torch.rand(64, config.nz, generator=torch.Generator().manual_seed(1234)) * 2 - 1  # (64, nz)
        self.state = TrainState()
        self.steps_per_epoch = len(data) // settings.batch
        self.total_steps = max(1, int(round(settings.epochs * self.steps_per_epoch)))

    # -- one step ---------------------------------------------------------------------------
    def _batch(self, step: int) -> torch.Tensor:
        epoch, index = divmod(step, self.steps_per_epoch)
        order = torch.randperm(
            len(self.images), generator=torch.Generator().manual_seed(self.settings.seed * 100003 + epoch)
        )
        idx = order[index * self.settings.batch : (index + 1) * self.settings.batch].to(self.device)
        x = to_model_tensor(self.images[idx])  # (B, 3, S, S)
        flip = (torch.rand(len(idx), generator=self.noise) < 0.5).to(self.device)
        return torch.where(flip[:, None, None, None], x.flip(3), x)

    def _z(self, n: int) -> torch.Tensor:
        return (torch.rand(n, self.config.nz, generator=self.noise) * 2 - 1).to(self.device)  # (n, nz) ~ U[-1, 1]

    def train_step(self) -> tuple[float, float]:
        g, d, s = self.generator, self.discriminator, self.settings
        g.train()
        d.train()
        real = self._batch(self.state.step)  # (B, 3, S, S)
        z = self._z(len(real))
        amp = s.amp and self.device.type == "cuda"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
            fake = g(z)  # (B, 3, S, S)
            logits_real = d(real)  # (B,)
            logits_fake = d(fake.detach())
            loss_d = F.binary_cross_entropy_with_logits(
                logits_real.float(), torch.full_like(logits_real.float(), 1.0 - s.label_smoothing)
            ) + F.binary_cross_entropy_with_logits(logits_fake.float(), torch.zeros_like(logits_fake.float()))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
            logits = d(fake).float()
            loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))  # non-saturating
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        st = self.state
        ld, lg = loss_d.item(), loss_g.item()
        st.loss_d = ld if math.isnan(st.loss_d) else 0.98 * st.loss_d + 0.02 * ld
        st.loss_g = lg if math.isnan(st.loss_g) else 0.98 * st.loss_g + 0.02 * lg
        st.step += 1
        st.images_seen += len(real)
        if st.step % 100 == 0:
            st.history.append((st.step, round(st.loss_d, 4), round(st.loss_g, 4)))
        return ld, lg

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        """uint8 (64, S, S, 3): G(fixed z) in eval mode, as the latent search will see G."""
        self.generator.eval()
        out = tensor_to_images(self.generator(self.fixed_z.to(self.device)))
        self.generator.train()
        return out

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(),
            "settings": asdict(self.settings),
            **networks_state(self),
            "noise_rng": self.noise.get_state(),
            "state": {**asdict(self.state), "history": [list(h) for h in self.state.history]},
        }

    def save_checkpoint(self, path: Path) -> None:
        save_atomically(self.checkpoint(), path)

    def load_checkpoint(self, path: Path) -> None:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("version") != CHECKPOINT_VERSION or DCGANConfig.from_dict(ckpt["config"]) != self.config:
            raise ValueError(f"{path}: checkpoint is for another architecture or format")
        load_networks_state(self, ckpt)
        self.noise.set_state(ckpt["noise_rng"])
        st = dict(ckpt["state"])
        st["history"] = [tuple(h) for h in st["history"]]
        self.state = TrainState(**st)

    # -- the loop ---------------------------------------------------------------------------
    def run(
        self,
        on_step: Callable[[Trainer], None] | None = None,
        on_sample: Callable[[Trainer], None] | None = None,
        on_checkpoint: Callable[[Trainer], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainState:
        s = self.settings
        run_steps(self, on_step, [(s.sample_every, on_sample), (s.checkpoint_every, on_checkpoint)], should_stop)
        return self.state


def adam_pair(generator: torch.nn.Module, discriminator: torch.nn.Module, settings) -> tuple:
    """Adam for each network (``settings.lr``, betas ``(settings.beta1, 0.999)``): (opt_g, opt_d)."""
    betas = (settings.beta1, 0.999)
    opt_g = torch.optim.Adam(generator.parameters(), lr=settings.lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=settings.lr, betas=betas)
    return opt_g, opt_d


def networks_state(trainer) -> dict:
    """The checkpoint entries of a trainer's two networks and their optimisers."""
    return {
        "generator": trainer.generator.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "opt_g": trainer.opt_g.state_dict(),
        "opt_d": trainer.opt_d.state_dict(),
    }


def load_networks_state(trainer, ckpt: dict) -> None:
    """Restore what :func:`networks_state` saved in ``ckpt``. The Adam moments continue; the
    learning rate and beta1 are this run's settings (a resume with a new ``--lr`` takes it, and
    the card, which records the settings, stays true)."""
    trainer.generator.load_state_dict(ckpt["generator"])
    trainer.discriminator.load_state_dict(ckpt["discriminator"])
    for opt, key in ((trainer.opt_g, "opt_g"), (trainer.opt_d, "opt_d")):
        opt.load_state_dict(ckpt[key])
        for group in opt.param_groups:
            group["lr"] = trainer.settings.lr
            group["betas"] = (trainer.settings.beta1, group["betas"][1])


def run_steps(
    trainer,
    on_step: Callable | None,
    every: list[tuple[int, Callable | None]],
    should_stop: Callable[[], bool] | None,
) -> None:
    """``trainer.train_step()`` until ``trainer.total_steps`` or ``should_stop()``: after each
    step the wall time is added to ``trainer.state.seconds`` (summed over resumed runs), then
    ``on_step(trainer)``, then each ``hook(trainer)`` of ``every`` whose step count divides the step."""
    t0, base_seconds = time.perf_counter(), trainer.state.seconds
    while trainer.state.step < trainer.total_steps:
        if should_stop is not None and should_stop():
            break
        trainer.train_step()
        trainer.state.seconds = base_seconds + time.perf_counter() - t0
        if on_step:
            on_step(trainer)
        for steps, hook in every:
            if hook and trainer.state.step % steps == 0:
                hook(trainer)


def warm_start(trainer: Trainer, generator_state: dict, discriminator_state: dict) -> list[str]:
    """Start ``trainer`` from a smaller model's layers (progressive-growing style, no fade-in).

    The generator's layers are matched from the latent end (the layers that build the 4x4 ..
    S/2 features), the discriminator's from the logit end, each pair taken only when the shapes
    agree; the new outer layers keep their fresh initialisation. Returns the names copied.
    """
    copied = []
    pairs = ((trainer.generator, generator_state, False), (trainer.discriminator, discriminator_state, True))
    for module, source, from_end in pairs:
        own = module.state_dict()
        dst_layers = _layers_in_order(own)
        src_layers = _layers_in_order(source)
        if from_end:
            dst_layers, src_layers = dst_layers[::-1], src_layers[::-1]
        for dst, src in zip(dst_layers, src_layers):
            tensors = {k: source[f"{src}.{k}"] for k in _suffixes(source, src)}
            if set(tensors) != set(_suffixes(own, dst)) or any(
                own[f"{dst}.{k}"].shape != v.shape for k, v in tensors.items()
            ):
                break  # the ladders diverge here: the rest stays freshly initialised
            for k, v in tensors.items():
                own[f"{dst}.{k}"] = v.clone()
            copied.append(f"{type(module).__name__}.{dst}")
        module.load_state_dict(own)
    return copied


def _layers_in_order(state: dict) -> list[str]:
    """'main.3' for every layer with tensors, in the order of the Sequential."""
    names = {k.rsplit(".", 1)[0] for k in state}
    return sorted(names, key=lambda n: int(n.rsplit(".", 1)[1]))


def _suffixes(state: dict, layer: str) -> list[str]:
    return [k[len(layer) + 1 :] for k in state if k.rsplit(".", 1)[0] == layer]


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}), torch {torch.__version__}"
    return f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def save_atomically(checkpoint: dict, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then a rename: a kill midway leaves the
    previous checkpoint whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(path)
