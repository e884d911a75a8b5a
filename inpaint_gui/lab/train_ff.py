"""Training of the feed-forward networks (Context Encoder, PGGAN), resumable over many runs.

- Context Encoder: 0.999 L1 on the hole's pixels of the block + 0.001 least-squares adversarial
  against the patch discriminator, which sees the block (the fill composed with the block's known
  pixels) or a real block (the tutorial's losses).
- PGGAN: 0.995 L1 on the hole's pixels + 0.0025 global + 0.0025 PatchGAN adversarial (the
  non-saturating log loss of the paper) against one discriminator that sees the whole composed
  window.
- Either, with ``ssim_weight`` w > 0: + w x (1 - SSIM) of the composed window (the CE's block),
  the measure of ``metrics.ssim`` in torch (``ssim_loss``); with ``adversarial`` off the
  discriminator is neither trained nor used and L1 weighs 1 (L1 + SSIM alone, Zhao et al. 2017).

The L1 term is the mean over the hole's pixels (in [-1, 1] units), so small holes weigh as much
as large ones. Adam (lr 2e-4, beta1 0.5) for both networks, BatchNorm, horizontal flips. The data
order of an epoch is a function of (seed, epoch) and the holes and flips of a step of (seed,
step), so a run resumed from its checkpoint continues exactly; a run resumed from exported
weights continues with fresh Adam moments. Every ``export_every`` steps the fills of a few
tuning faces (val 1-64: central block and ``parts``) are measured for the card's curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inpaint_gui.core.engines.feedforward import ce, pggan
from inpaint_gui.core.engines.feedforward.fill import fill_windows
from inpaint_gui.core.engines.feedforward.weights import ARCHS, LoadedNet, load_net, save_net
from inpaint_gui.lab import ssim_loss
from inpaint_gui.lab.dataset import ImageSet
from inpaint_gui.lab.ff_holes import CE_MIX, PGGAN_MIX, HoleSampler
from inpaint_gui.lab.train import (
    adam_pair,
    hardware_description,
    load_networks_state,
    networks_state,
    run_steps,
    save_atomically,
    to_model_tensor,
)

CHECKPOINT_VERSION = 1
LOSS_WEIGHTS = {"ce": {"l1": 0.999, "adv": 0.001}, "pggan": {"l1": 0.995, "global": 0.0025, "patch": 0.0025}}
VAL_MASKS = ("center", "parts")


@dataclass
class FFSettings:
    epochs: float = 20.0  # may be fractional
    batch: int = 32
    lr: float = 2e-4
    beta1: float = 0.5
    seed: int = 0
    export_every: int = 500  # steps between exports (and checkpoints)
    bn_batches: int = 40  # training batches that recompute the BatchNorm statistics before an export
    ssim_weight: float = 0.0  # weight of 1 - SSIM of the composed window (0: the papers' losses)
    adversarial: bool = True  # False: no discriminator (L1 weighs 1, plus the SSIM term)


@dataclass
class FFState:
    step: int = 0
    images_seen: int = 0
    seconds: float = 0.0  # training wall time, summed over resumed runs
    loss_d: float = float("nan")  # moving averages
    loss_adv: float = float("nan")
    loss_l1: float = float("nan")
    loss_ssim: float = float("nan")  # 1 - SSIM of the composed windows (trained with ssim_weight > 0)
    history: list = field(default_factory=list)  # [step, loss_d, loss_adv, loss_l1] every 100 steps
    val_history: list = field(default_factory=list)  # [step, psnr center, psnr parts, ssim center, ssim parts]
    command: str = ""
    hardware: str = ""
    resumed_with: list = field(default_factory=list)


def _ema(old: float, new: float) -> float:
    return new if math.isnan(old) else 0.98 * old + 0.02 * new


class FFTrainer:
    """Owns the generator, the discriminator and their optimisers; ``run`` trains to the epoch budget."""

    def __init__(
        self,
        arch: str,
        config,
        data: ImageSet,
        settings: FFSettings,
        device: torch.device,
        irregular_files: list[Path] | None = None,
        val_images: np.ndarray | None = None,
    ):
        if arch not in ARCHS:
            raise ValueError(f"unknown architecture {arch!r}")
        if len(data) < settings.batch:
            raise ValueError(f"need at least one batch of images ({settings.batch}), found {len(data)}")
        if data.images.shape[1] != config.resolution:
            raise ValueError(f"images are {data.images.shape[1]}px, the network needs {config.resolution}")
        self.arch, self.config, self.settings, self.device = arch, config, settings, device
        self.images = torch.from_numpy(data.images)  # uint8 (N, S, S, 3), on the CPU
        self.n_images = len(data)
        module = ce if arch == "ce" else pggan
        self.generator, self.discriminator = module.build(config, seed=settings.seed)
        self.generator.to(device)
        self.discriminator.to(device)
        self.opt_g, self.opt_d = adam_pair(self.generator, self.discriminator, settings)
        self.holes = HoleSampler(arch, config.resolution, settings.seed, irregular_files)
        self.weights = loss_weights(arch, settings)
        self.state = FFState()
        self.steps_per_epoch = len(data) // settings.batch
        self.total_steps = max(1, int(round(settings.epochs * self.steps_per_epoch)))
        self.val_images = val_images
        self.val_masks = None if val_images is None else _val_masks(len(val_images), config.resolution)
        self._harmonic: list[float] | None = None

    # -- one step ---------------------------------------------------------------------------
    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Real windows (B, 3, S, S) in [-1, 1], holes (B, S, S) bool, block corners (B, 2)."""
        s = self.settings
        epoch, index = divmod(step, self.steps_per_epoch)
        order = torch.randperm(self.n_images, generator=torch.Generator().manual_seed(s.seed * 100003 + epoch))
        x = to_model_tensor(self.images[order[index * s.batch : (index + 1) * s.batch]])  # (B, 3, S, S)
        flip = torch.from_numpy(np.random.default_rng([s.seed, step, 1]).random(len(x)) < 0.5)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        holes, corners = self.holes.sample(step, len(x))
        return x.to(self.device), torch.from_numpy(holes).to(self.device), torch.from_numpy(corners)

    def train_step(self) -> dict[str, float]:
        g, d = self.generator, self.discriminator
        g.train()
        d.train()
        real, hole, corners = self.batch(self.state.step)
        losses = self._ce_step(real, hole, corners) if self.arch == "ce" else self._pggan_step(real, hole)
        st = self.state
        st.loss_d, st.loss_adv, st.loss_l1, st.loss_ssim = (
            _ema(getattr(st, k), losses[k]) for k in ("loss_d", "loss_adv", "loss_l1", "loss_ssim")
        )
        st.step += 1
        st.images_seen += len(real)
        if st.step % 100 == 0:
            st.history.append([st.step, round(st.loss_d, 4), round(st.loss_adv, 4), round(st.loss_l1, 4)])
        return losses

    def _ce_step(self, real: torch.Tensor, hole: torch.Tensor, corners: torch.Tensor) -> dict[str, float]:
        b = self.config.block
        out = self.generator(ce.ce_input(real, hole, corners, b))  # (B, 3, b, b)
        real_block = ce.crop_blocks(real, corners, b)  # (B, 3, b, b)
        hole_block = ce.crop_blocks(hole[:, None].float(), corners, b)  # (B, 1, b, b)
        fake_block = real_block * (1 - hole_block) + out * hole_block
        l1 = _hole_l1(out, real_block, hole_block)
        loss_g, losses = self._structure_terms(l1, fake_block, real_block)
        if self.settings.adversarial:
            # the discriminator first (on a detached fill), then the generator against the updated one
            d = self.discriminator
            loss_d = 0.5 * ((d(real_block) - 1).pow(2).mean() + d(fake_block.detach()).pow(2).mean())
            self._step(self.opt_d, loss_d)
            adv = (d(fake_block) - 1).pow(2).mean()  # least squares: the fill should score 1
            loss_g = loss_g + self.weights["adv"] * adv
            losses.update(loss_d=loss_d.item(), loss_adv=adv.item())
        self._step(self.opt_g, loss_g)
        return losses

    def _pggan_step(self, real: torch.Tensor, hole: torch.Tensor) -> dict[str, float]:
        out = self.generator(pggan.pggan_input(real, hole))  # (B, 3, S, S)
        fake = pggan.compose(out, real, hole)  # (B, 3, S, S)
        l1 = _hole_l1(out, real, hole[:, None].float())
        loss_g, losses = self._structure_terms(l1, fake, real)
        if self.settings.adversarial:
            (rg, rp), (fg, fp) = self.discriminator(real), self.discriminator(fake.detach())
            loss_d = _bce(rg, 1) + _bce(fg, 0) + _bce(rp, 1) + _bce(fp, 0)
            self._step(self.opt_d, loss_d)
            fg, fp = self.discriminator(fake)
            adv_g, adv_p = _bce(fg, 1), _bce(fp, 1)  # non-saturating: the fill should score "real"
            loss_g = loss_g + self.weights["global"] * adv_g + self.weights["patch"] * adv_p
            losses.update(loss_d=loss_d.item(), loss_adv=(adv_g + adv_p).item() / 2)
        self._step(self.opt_g, loss_g)
        return losses

    def _structure_terms(
        self, l1: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The generator's loss before any adversarial term: weighted L1, plus the SSIM term of
        the composed ``fake`` against ``real`` (both (B, 3, h, w)) when ``ssim_weight`` > 0."""
        nan = float("nan")
        losses = {"loss_d": nan, "loss_adv": nan, "loss_l1": l1.item(), "loss_ssim": nan}
        loss = self.weights["l1"] * l1
        if "ssim" in self.weights:  # ssim_weight > 0 (loss_weights)
            dissimilarity = 1 - ssim_loss.ssim(fake, real)
            loss = loss + self.weights["ssim"] * dissimilarity
            losses["loss_ssim"] = dissimilarity.item()
        return loss, losses

    @staticmethod
    def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def recalibrate_bn(self) -> None:
        """Precise BatchNorm: the generator's running statistics recomputed, as plain averages,
        over the last ``bn_batches`` training batches with the current weights. The moving
        averages of training lag the moving weights: on the tuning faces at step 1500 of the first
        run they left a colour offset of up to 22 levels in eval mode and cost 1.1 dB on the
        central block, which this recovered (``docs/feedforward.md``). Deterministic: the batches
        depend only on the step."""
        norms = [m for m in self.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average
        self.generator.train()
        n = self.settings.bn_batches
        for step in range(max(0, self.state.step - n), max(0, self.state.step - n) + n):
            real, hole, corners = self.batch(step)
            if self.arch == "ce":
                self.generator(ce.ce_input(real, hole, corners, self.config.block))
            else:
                self.generator(pggan.pggan_input(real, hole))
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum

    # -- what it has learnt -----------------------------------------------------------------
    def as_loaded(self) -> LoadedNet:
        return LoadedNet("training", None, self.arch, self.config, self.generator, self.discriminator)

    def fills(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The generator's fills (eval mode, as the app runs it) of uint8 windows (N, S, S, 3)."""
        self.generator.eval()
        try:
            return fill_windows(self.as_loaded(), images, masks)
        finally:
            self.generator.train()

    def validate(self) -> list[float] | None:
        """[step, PSNR center, PSNR parts, SSIM center, SSIM parts] on the tuning faces (whole
        window, fill pasted; dB and SSIM means)."""
        if self.val_images is None:
            return None
        from inpaint_gui.lab.metrics import psnr, ssim

        fills = [self.fills(self.val_images, masks) for masks in self.val_masks]
        out = [self.state.step]
        for measure, digits in ((psnr, 3), (ssim, 4)):
            for f in fills:
                out.append(round(float(np.mean([measure(a, t) for a, t in zip(f, self.val_images)])), digits))
        self.state.val_history.append(out)
        return out

    def harmonic_reference(self) -> list[float] | None:
        """The harmonic fill's mean PSNR on the same faces and masks as :meth:`validate` (the
        issue's targets are relative to it), computed once."""
        if self.val_images is None:
            return None
        if self._harmonic is None:
            from inpaint_gui.lab.baselines import harmonic_fill
            from inpaint_gui.lab.metrics import psnr

            self._harmonic = [
                round(float(np.mean([psnr(harmonic_fill(t, m), t) for t, m in zip(self.val_images, masks)])), 3)
                for masks in self.val_masks
            ]
        return self._harmonic

    def sample_figure(self, n: int = 8) -> np.ndarray | None:
        """uint8 grid: rows = tuning faces; columns = hole and fill for each validation mask, truth."""
        if self.val_images is None:
            return None
        from inpaint_gui.lab.evaluate import figure

        faces = self.val_images[:n]
        columns = {}
        for kind, masks in zip(VAL_MASKS, self.val_masks):
            shown = faces.copy()
            shown[masks[:n]] = 255
            columns[f"{kind} hole"], columns[kind] = shown, self.fills(faces, masks[:n])
        columns["truth"] = faces
        return figure(columns)

    # -- checkpoints and exports --------------------------------------------------------------
    def checkpoint(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "arch": self.arch,
            "config": self.config.to_dict(),
            "settings": asdict(self.settings),
            **networks_state(self),
            "state": asdict(self.state),
        }

    def save_checkpoint(self, path: Path) -> None:
        save_atomically(self.checkpoint(), path)

    def load_checkpoint(self, path: Path) -> None:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or ckpt.get("version") != CHECKPOINT_VERSION or ckpt.get("arch") != self.arch:
            raise ValueError(f"{path}: not a {self.arch} checkpoint of this format")
        if type(self.config).from_dict(ckpt["config"]) != self.config:
            raise ValueError(f"{path}: the checkpoint's network is {ckpt['config']}, not {self.config.to_dict()}")
        load_networks_state(self, ckpt)
        self.state = FFState(**ckpt["state"])

    def load_export(self, folder: Path) -> None:
        """Continue from an exported model folder: its weights and the training record on its
        card (the Adam moments start afresh). Raises WeightsError for another architecture."""
        net = load_net(folder, arch=self.arch, resolution=self.config.resolution, discriminator=True)
        if net.config != self.config:
            raise ValueError(f"{folder}: the exported network is {net.config.to_dict()}, not {self.config.to_dict()}")
        self.generator.load_state_dict(net.generator.state_dict())
        self.discriminator.load_state_dict(net.discriminator.state_dict())
        record = net.card.get("training", {}).get("state", {})
        known = {k: v for k, v in record.items() if k in FFState.__dataclass_fields__}
        self.state = FFState(**known)

    def export(self, folder: Path, card: dict | None = None, half: bool = False) -> Path:
        """Write a model folder (weights, samples, card with the training record) for ``load_net``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        extra = {}
        grid = self.sample_figure()
        if grid is not None:
            from PIL import Image

            Image.fromarray(grid).save(folder / "samples.png")
            extra["samples"] = folder / "samples.png"
        st, s = self.state, self.settings
        training = {
            "command": st.command,
            "resumed_with": st.resumed_with,
            "steps": st.step,
            "batch": s.batch,
            "images_seen": st.images_seen,
            "epochs": round(st.images_seen / self.n_images, 3),
            "optimizer": f"Adam lr={s.lr} betas=({s.beta1}, 0.999)",
            "loss_weights": self.weights,
            "l1": "mean absolute error over the hole's pixels, [-1, 1] units",
            "adversarial": (
                ("least squares" if self.arch == "ce" else "non-saturating log loss, global and PatchGAN")
                if s.adversarial
                else "none (the discriminator is not trained)"
            ),
            "ssim": "1 - SSIM of the composed window (metrics.ssim's measure), weight in loss_weights"
            if s.ssim_weight > 0
            else None,
            "holes": CE_MIX if self.arch == "ce" else PGGAN_MIX,
            "seed": s.seed,
            "hardware": st.hardware or hardware_description(self.device),
            "wall_seconds": round(st.seconds, 1),
            "val_psnr_note": "val faces 1-64 (tuning), whole window, fill pasted: [step, PSNR center, PSNR parts, "
            "SSIM center, SSIM parts] (cards before SSIM: the first three)",
            "val_psnr_harmonic": self.harmonic_reference(),
            "state": asdict(st),
        }
        card = {**(card or {}), "training": {**(card or {}).get("training", {}), **training}}
        return save_net(folder, self.arch, self.generator, self.discriminator, card, extra, half=half)

    # -- the loop ---------------------------------------------------------------------------
    def run(
        self,
        on_step: Callable[[FFTrainer], None] | None = None,
        on_export: Callable[[FFTrainer], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> FFState:
        run_steps(self, on_step, [(self.settings.export_every, on_export)], should_stop)
        return self.state


def loss_weights(arch: str, settings: FFSettings) -> dict[str, float]:
    """The generator's loss weights: the paper's (``LOSS_WEIGHTS``), or L1 alone without the
    adversary; plus ``ssim`` when the SSIM term is on."""
    weights = dict(LOSS_WEIGHTS[arch]) if settings.adversarial else {"l1": 1.0}
    if settings.ssim_weight > 0:
        weights["ssim"] = settings.ssim_weight
    return weights


def _hole_l1(out: torch.Tensor, real: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean |out - real| over the hole's pixels and channels; hole (B, 1, h, w) in {0, 1}."""
    return ((out - real).abs() * hole).sum() / (hole.sum() * out.shape[1]).clamp_min(1.0)


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _val_masks(n: int, size: int) -> list[np.ndarray]:
    """The masks ``eval`` uses for faces 0..n-1 (seed 0): bool (n, S, S) per kind of VAL_MASKS."""
    from inpaint_gui.lab.masks import make_mask

    return [np.stack([make_mask(kind, size, 0, i) for i in range(n)]) for kind in VAL_MASKS]
