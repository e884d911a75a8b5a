"""Train a prior's encoder (``core/engines/gan/encoder.py``) with the generator frozen; resumable.

Each step takes a batch of training faces at the prior's resolution (mirrored at random), gives
each a hole of one of the eval's mask kinds (``lab/masks.py``: the central block, a rectangle, a
part, 80% random pixels, and irregular masks when a folder is given), and asks the encoder for
z. The loss is the search's own (Lahiri et al. 2020 train the encoder on the objective the
search then refines): the importance-weighted L1 between G(z) and the known pixels, per unit of
weight, plus lam x log(1 - D(G(z))). A share of each batch are the prior's own samples G(z*)
with holes, for which z* is known and |E(x) - z*| is added (it teaches the encoder the latent's
layout quickly). G and D are frozen (the search's folded networks).

The data a step sees is a function of (seed, step), so a run resumed from its checkpoint
(``--resume``, written atomically every ``--checkpoint-every`` steps) continues exactly as an
uninterrupted one would. At the end the encoder is written with a card: the command(s), data,
steps, seconds, the loss history and the held-out fit (the first ``--val-n`` validation faces,
central hole: G(E(x))'s normalised contextual loss against the search's start, the best of 16
random draws).

    python -m inpaint_gui.lab.train_encoder --model celeba64 \\
        --faces ../shared/data/celeba-faces-128/train --val-faces ../shared/data/celeba-faces-128/val \\
        --masks ../shared/data/nvidia-irregular-masks --steps 20000 --threads 1 \\
        --checkpoint ../ckpt/celeba64-encoder.ckpt --out weights/celeba64-encoder
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inpaint_gui.core.engines.gan.encoder import Encoder, EncoderConfig, encoder_input, save_encoder
from inpaint_gui.core.engines.gan.nets import search_nets
from inpaint_gui.core.engines.gan.search import context_weights
from inpaint_gui.core.engines.gan.weights import LoadedModel, freeze, load_model
from inpaint_gui.lab.masks import make_mask

CHECKPOINT_VERSION = 1
GREY_LEVELS = 127.5
MASK_KINDS = ("center", "regular", "parts", "random80")


@dataclass(frozen=True)
class EncoderTraining:
    steps: int = 20000
    batch: int = 32
    lr: float = 1e-3
    lam: float = 0.003  # the perceptual term's weight, as in the search
    generated_share: float = 0.25  # of each batch: the prior's own samples, with |E(x) - z*|
    latent_weight: float = 1.0
    width: int = 32
    seed: int = 0
    checkpoint_every: int = 200


@dataclass
class EncoderState:
    step: int = 0
    seconds: float = 0.0
    history: list = field(default_factory=list)  # [step, loss] every 100 steps
    commands: list = field(default_factory=list)


class EncoderTrainer:
    def __init__(self, model: LoadedModel, faces: np.ndarray, settings: EncoderTraining, irregular=None):
        self.model = freeze(model)
        self.faces = faces  # uint8 (N, S, S, 3) at the prior's resolution
        self.settings = s = settings
        self.irregular = irregular or None
        self.kinds = MASK_KINDS + (("irregular",) if self.irregular else ())
        self.res = model.resolution
        torch.manual_seed(s.seed)
        self.net = Encoder(EncoderConfig(self.res, model.config.nz, s.width))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=s.lr)
        self.nets = search_nets(model.generator, model.discriminator, torch.device("cpu"))
        self.state = EncoderState()

    # -- the data of a step: a function of (seed, step) ------------------------------------------
    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(windows uint8 (B, S, S, 3), holes bool (B, S, S), z* float32 (G, nz) of the first G
        windows, the prior's own samples, or None)."""
        s, n = self.settings, len(self.faces)
        per_epoch = max(1, n // s.batch)
        epoch, pos = divmod(step, per_epoch)
        order = np.random.default_rng((s.seed, epoch)).permutation(n)
        rng = np.random.default_rng((s.seed, epoch, pos, 1))
        n_gen = int(round(s.batch * s.generated_share))
        idx = order[pos * s.batch : pos * s.batch + s.batch - n_gen]
        real = self.faces[idx]
        real = np.where(rng.random(len(real))[:, None, None, None] < 0.5, real[:, :, ::-1], real)
        z_star = None
        if n_gen:
            z_star = rng.uniform(-1, 1, (n_gen, self.model.config.nz)).astype(np.float32)
            with torch.no_grad():
                fake = self.nets.generate(torch.from_numpy(z_star))
            fake = ((fake.permute(0, 2, 3, 1).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
            real = np.concatenate([fake, real])
        holes = np.stack(
            [
                make_mask(
                    self.kinds[int(rng.integers(len(self.kinds)))], self.res, s.seed, step * s.batch + i, self.irregular
                )
                for i in range(len(real))
            ]
        )
        return np.ascontiguousarray(real), holes, z_star

    def loss(self, images: np.ndarray, holes: np.ndarray, z_star: np.ndarray | None) -> torch.Tensor:
        z = self.net(encoder_input(images, holes))  # (B, nz)
        fake = self.nets.generate(z)  # (B, 3, S, S)
        target = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        w = torch.from_numpy(np.stack([context_weights(h, "importance") for h in holes]))[:, None]  # (B, 1, S, S)
        contextual = (w * (fake - target)).abs().sum((1, 2, 3)) / (3 * w.sum((1, 2, 3)).clamp_min(1e-6))
        total = contextual.mean() - self.settings.lam * F.softplus(self.nets.discriminate(fake)).mean()
        if z_star is not None and len(z_star):
            total = total + self.settings.latent_weight * (z[: len(z_star)] - torch.from_numpy(z_star)).abs().mean()
        return total

    def train_step(self) -> float:
        images, holes, z_star = self.batch(self.state.step)
        loss = self.loss(images, holes, z_star)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.state.step += 1
        value = float(loss.detach())
        if self.state.step % 100 == 0:
            self.state.history.append([self.state.step, round(value, 5)])
        return value

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "model": self.model.name,
            "settings": asdict(self.settings),
            "encoder": self.net.state_dict(),
            "opt": self.opt.state_dict(),
            "state": asdict(self.state),
        }

    def save_checkpoint(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.checkpoint(), tmp)
        tmp.replace(path)

    def load_checkpoint(self, path: Path) -> None:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("version") != CHECKPOINT_VERSION or ckpt.get("model") != self.model.name:
            raise ValueError(f"{path}: a checkpoint for another prior or format")
        saved = {k: v for k, v in ckpt["settings"].items() if k != "steps"}
        if saved != {k: v for k, v in asdict(self.settings).items() if k != "steps"}:
            raise ValueError(f"{path}: the checkpoint was trained with other settings ({saved})")
        self.net.load_state_dict(ckpt["encoder"])
        self.opt.load_state_dict(ckpt["opt"])
        self.state = EncoderState(**ckpt["state"])

    def run(self, checkpoint: Path | None = None, say=lambda msg: None) -> EncoderState:
        t0, base = time.perf_counter(), self.state.seconds
        while self.state.step < self.settings.steps:
            loss = self.train_step()
            self.state.seconds = base + time.perf_counter() - t0
            if self.state.step % 100 == 0:
                say(f"step {self.state.step}: loss {loss:.4f}, {self.state.seconds:.0f} s")
            if checkpoint is not None and self.state.step % self.settings.checkpoint_every == 0:
                self.save_checkpoint(checkpoint)
        if checkpoint is not None:
            self.save_checkpoint(checkpoint)
        return self.state


@torch.no_grad()
def held_out_fit(trainer: EncoderTrainer, faces: np.ndarray, draws: int = 16, seed: int = 0) -> dict:
    """Central hole: the normalised contextual loss (grey levels, importance weights) of G(E(x))
    against the search's start (the best of ``draws`` random z per face), mean over ``faces``."""
    res = trainer.res
    holes = np.stack([make_mask("center", res, seed, i) for i in range(len(faces))])
    w = torch.from_numpy(np.stack([context_weights(h, "importance") for h in holes]))[:, None]
    target = torch.from_numpy(faces).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)

    def norm_loss(fake: torch.Tensor, rows: slice | np.ndarray) -> torch.Tensor:
        return (w[rows] * (fake - target[rows])).abs().sum((1, 2, 3)) / (3 * w[rows].sum((1, 2, 3))) * GREY_LEVELS

    trainer.net.eval()
    encoded = norm_loss(trainer.nets.generate(trainer.net(encoder_input(faces, holes))), slice(None))
    trainer.net.train()
    gen = torch.Generator().manual_seed(seed)
    best = torch.full((len(faces),), float("inf"))
    for _ in range(draws):
        z = torch.rand(len(faces), trainer.model.config.nz, generator=gen) * 2 - 1
        best = torch.minimum(best, norm_loss(trainer.nets.generate(z), slice(None)))
    return {
        "faces": len(faces),
        "encoder_loss_grey_levels": round(float(encoded.mean()), 3),
        f"best_of_{draws}_draws_loss_grey_levels": round(float(best.mean()), 3),
        "encoder_better_share": round(float((encoded < best).float().mean()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    from inpaint_gui.lab.dataset import default_cache_dir, load_image_set
    from inpaint_gui.lab.masks import load_mask_folder

    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--model", required=True, help="the prior (a name in weights/ or a model folder)")
    a.add_argument("--faces", type=Path, required=True)
    a.add_argument("--val-faces", type=Path, required=True)
    a.add_argument("--val-n", type=int, default=64, help="held out: the first N validation faces (tuning faces)")
    a.add_argument("--masks", type=Path, default=None, help="irregular masks (optional)")
    a.add_argument("--n-faces", type=int, default=None)
    d = EncoderTraining()
    a.add_argument("--steps", type=int, default=d.steps)
    a.add_argument("--batch", type=int, default=d.batch)
    a.add_argument("--lr", type=float, default=d.lr)
    a.add_argument("--generated-share", type=float, default=d.generated_share)
    a.add_argument("--width", type=int, default=d.width)
    a.add_argument("--seed", type=int, default=d.seed)
    a.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    a.add_argument("--checkpoint", type=Path, default=None, help="written every --checkpoint-every steps")
    a.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    a.add_argument(
        "--init",
        type=Path,
        default=None,
        help="continue from an exported encoder folder (its weights; Adam starts afresh, --steps more steps)",
    )
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--cache-dir", type=Path, default=None, help="decoded-image cache (default ~/.cache/inpaint-gui)")
    a.add_argument("--out", type=Path, required=True)
    args = a.parse_args(argv)
    if args.resume and (args.checkpoint is None or not args.checkpoint.is_file()):
        a.error("--resume needs an existing --checkpoint")
    if args.resume and args.init:
        a.error("--resume and --init exclude each other: a checkpoint holds everything")
    torch.set_num_threads(args.threads)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    model = load_model(args.model)
    res = model.resolution
    cache = args.cache_dir or default_cache_dir()
    faces = load_image_set(args.faces, res, cache_dir=cache).images
    faces = faces[: args.n_faces] if args.n_faces else faces
    val = load_image_set(args.val_faces, res, cache_dir=cache).images[: args.val_n]
    irregular = load_mask_folder(args.masks) if args.masks else None
    settings = EncoderTraining(
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        generated_share=args.generated_share,
        width=args.width,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
    )
    trainer = EncoderTrainer(model, faces, settings, irregular)
    earlier: dict = {}
    if args.resume:
        trainer.load_checkpoint(args.checkpoint)
        say(f"resumed at step {trainer.state.step}")
    elif args.init:
        from inpaint_gui.core.engines.gan.encoder import load_encoder

        exported = load_encoder(model.name, args.init)  # card and sha256 checked, weights_only
        if exported.net.config != trainer.net.config:
            raise SystemExit(
                f"--init {args.init}: its encoder is {exported.net.config}, this run's {trainer.net.config}"
            )
        trainer.net.load_state_dict(exported.net.state_dict())
        trainer.state.commands = list(exported.card.get("commands", []))
        earlier = {"steps": exported.card["training"]["steps"], "seconds": exported.card["training"]["seconds"]}
        say(f"continuing from {args.init} ({earlier['steps']} steps)")
    trainer.state.commands.append(
        shlex.join(["python", "-m", "inpaint_gui.lab.train_encoder", *(argv or sys.argv[1:])])
    )
    trainer.run(args.checkpoint, say)
    report = held_out_fit(trainer, val)
    say(f"held out: {report}")
    card = {
        "name": f"{model.name}-encoder",
        "what": f"a start for the latent search in {model.name}: a masked {res}x{res} window and its hole -> z",
        "prior": model.name,
        "commands": trainer.state.commands,
        "data": {
            "faces": str(args.faces),
            "faces_n": len(faces),
            "masks": list(trainer.kinds),
            "irregular_masks": str(args.masks) if args.masks else None,
        },
        "training": {**asdict(settings), "seconds": round(trainer.state.seconds), "threads": args.threads},
        "continued_from": earlier or None,  # an exported encoder's steps and seconds before this run (--init)
        "loss_history_every_100_steps": trainer.state.history,
        "held_out": {"faces": f"the first {len(val)} of {args.val_faces}", **report},
        "licence": "trained on CelebA crops through a CelebA-trained prior: non-commercial research use only",
    }
    save_encoder(args.out, trainer.net, card)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
