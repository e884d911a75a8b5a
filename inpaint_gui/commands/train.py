"""``inpaint-gui train DATA_DIR --out weights/<name>``: train a DCGAN face prior and export it."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from inpaint_gui.commands.train_ff import add_ff_options, main_ff
from inpaint_gui.core.errors import InpaintError

CELEBA_LICENCE = (
    "CelebA (Liu et al. 2015) is available for non-commercial research purposes only; "
    "these weights were trained on it and are likewise for non-commercial research use only."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a DCGAN prior on a folder of images",
        description="Train a DCGAN (Radford et al.) on a folder of images and export it as a model folder.",
    )
    p.add_argument("data_dir", type=Path, help="folder of training images (searched recursively)")
    p.add_argument("--out", type=Path, required=True, help="model folder to write, e.g. weights/myfaces")
    p.add_argument(
        "--arch",
        default="dcgan",
        choices=("dcgan", "ce", "pggan"),
        help="dcgan: the face prior (default); ce: Context Encoder; pggan: PGGAN (options below)",
    )
    p.add_argument(
        "--size", type=int, default=None, choices=(32, 64, 128), help="model resolution (default 64; ce/pggan 128)"
    )
    p.add_argument("--epochs", type=float, default=25.0, help="passes over the data (fractions allowed)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--nz", type=int, default=100)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--label-smoothing", type=float, default=0.0, help="one-sided: real label 1 - s")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
    p.add_argument(
        "--init-from",
        default=None,
        metavar="MODEL",
        help="start from a smaller model's layers (a name in weights/ or a model folder)",
    )
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint path (default OUT/../<name>.ckpt)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and export) after this much wall time")
    p.add_argument("--sample-every", type=int, default=500)
    p.add_argument("--cache-dir", type=Path, default=None, help="decoded-image cache (default ~/.cache/inpaint-gui)")
    p.add_argument("--data-name", default=None, help="data set name for the model card (default: the folder's name)")
    p.add_argument(
        "--licence", default=None, help="licence text for the model card (default: CelebA's when the data is CelebA)"
    )
    p.add_argument("--half", action="store_true", help="store fp16 weights")
    p.add_argument(
        "--export-only", action="store_true", help="with --resume: export the checkpoint's models, no training"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    add_ff_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.arch != "dcgan":
        return main_ff(args, CELEBA_LICENCE)
    args.size = args.size or 64

    from inpaint_gui.commands.options import apply_threads
    from inpaint_gui.core.devices import describe_device, resolve_device
    from inpaint_gui.core.engines.gan.models import DCGANConfig
    from inpaint_gui.lab.dataset import default_cache_dir, load_image_set
    from inpaint_gui.lab.train import Trainer, TrainSettings, hardware_description, image_grid
    from inpaint_gui.progress import ProgressBar

    device = resolve_device(args.device)
    apply_threads(args.threads)
    try:
        config = DCGANConfig(resolution=args.size, nz=args.nz, ngf=args.ngf, ndf=args.ndf)
    except ValueError as exc:
        raise InpaintError(str(exc)) from None
    cache_dir = args.cache_dir or default_cache_dir()
    t0 = time.perf_counter()
    data = load_image_set(args.data_dir, args.size, cache_dir=cache_dir)
    if len(data) < args.batch:
        raise InpaintError(
            f"{args.data_dir}: found {len(data)} readable images, need at least one batch ({args.batch})"
        )
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    log(
        f"data: {len(data)} images ({data.skipped} unreadable skipped) at {args.size}x{args.size} "
        f"in {time.perf_counter() - t0:.1f}s; device {describe_device(device)}"
    )
    settings = TrainSettings(
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        label_smoothing=args.label_smoothing,
        seed=args.seed,
        sample_every=args.sample_every,
        checkpoint_every=args.sample_every,
    )
    trainer = Trainer(config, data, settings, device)
    out: Path = args.out
    ckpt_path = args.checkpoint or out.parent / f"{out.name}.ckpt"
    command = "inpaint-gui train " + " ".join(shlex.quote(str(a)) for a in sys.argv[2:])
    if args.export_only and not args.resume:
        raise InpaintError("--export-only needs --resume CHECKPOINT")
    if args.resume:
        try:
            trainer.load_checkpoint(args.resume)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise InpaintError(f"{args.resume}: cannot resume ({str(exc).splitlines()[0]})") from None
        log(f"resumed at step {trainer.state.step} ({trainer.state.images_seen} images seen)")
        if not args.export_only:
            trainer.state.resumed_with.append(command)
    else:
        trainer.state.command = command
        if args.init_from:
            init_from(trainer, args.init_from, log)
    if args.export_only:
        export(trainer, args.out, data, device, args, trainer.state.hardware or hardware_description(device))
        log(f"exported {args.out} from {args.resume} (step {trainer.state.step})")
        return 0
    trainer.state.hardware = hardware_description(device)
    samples_dir = ckpt_path.parent / f"{out.name}-samples"
    bar = ProgressBar(trainer.total_steps, "train", enabled=None if not args.quiet else False, unit="step")
    bar.update(trainer.state.step, force=True)
    deadline = time.perf_counter() + args.max_minutes * 60 if args.max_minutes else None

    def on_step(t: Trainer) -> None:
        st = t.state
        bar.update(
            st.step,
            epoch=f"{st.step / t.steps_per_epoch:.2f}",
            D=st.loss_d,
            G=st.loss_g,
            img_s=f"{st.images_seen / max(st.seconds, 1e-9):.0f}",
        )

    def on_sample(t: Trainer) -> None:
        save_png(samples_dir / f"step{t.state.step:07d}.png", image_grid(t.samples()))

    def on_checkpoint(t: Trainer) -> None:
        t.save_checkpoint(ckpt_path)
        if not bar.enabled and not args.quiet:
            st = t.state
            log(
                f"step {st.step}/{t.total_steps} epoch {st.step / t.steps_per_epoch:.2f} "
                f"D {st.loss_d:.3f} G {st.loss_g:.3f} {st.images_seen / max(st.seconds, 1e-9):.0f} img/s"
            )

    try:
        trainer.run(
            on_step,
            on_sample,
            on_checkpoint,
            should_stop=(lambda: time.perf_counter() > deadline) if deadline else None,
        )
    except KeyboardInterrupt:
        bar.close()
        trainer.save_checkpoint(ckpt_path)
        log(f"interrupted: checkpoint saved to {ckpt_path} (resume with --resume)")
        return 130
    bar.close()
    trainer.save_checkpoint(ckpt_path)
    export(trainer, out, data, device, args, hardware_description(device))
    log(
        f"exported {out} after {trainer.state.step} steps ({trainer.state.images_seen} images, "
        f"{trainer.state.seconds / 60:.1f} min); checkpoint {ckpt_path}"
    )
    return 0


def init_from(trainer, name: str, log) -> None:
    from inpaint_gui.core.engines.gan.weights import load_model
    from inpaint_gui.lab.train import warm_start

    source = load_model(name)
    copied = warm_start(trainer, source.generator.state_dict(), source.discriminator.state_dict())
    if not copied:
        raise InpaintError(f"--init-from {name}: no layer of it fits this architecture")
    trainer.state.initialised_from = [source.name, copied]
    log(f"initialised {len(copied)} layers from {source.name}: {', '.join(copied)}")


def save_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    Image.fromarray(image).save(tmp)
    tmp.replace(path)


def export(trainer, out: Path, data, device, args: argparse.Namespace, hardware: str) -> Path:
    """Write G, D, the mean face, a sample grid and the model card into ``out``."""
    from inpaint_gui.core.engines.gan.weights import save_model
    from inpaint_gui.lab.train import image_grid

    out.mkdir(parents=True, exist_ok=True)
    mean_face = data.images.astype(np.float64).mean(axis=0).round().astype(np.uint8)  # (S, S, 3)
    save_png(out / "mean_face.png", mean_face)
    save_png(out / "samples.png", image_grid(trainer.samples()))
    st, s = trainer.state, trainer.settings
    data_name = args.data_name or Path(args.data_dir).resolve().name
    is_celeba = "celeba" in str(Path(args.data_dir).resolve()).lower()
    licence = args.licence or (CELEBA_LICENCE if is_celeba else "same terms as the training data")
    card = {
        "name": out.name,
        "description": f"DCGAN prior at {trainer.config.resolution}x{trainer.config.resolution} trained on {data_name}",
        "latent_prior": "uniform[-1, 1]",
        "data": {
            "name": data_name,
            "images": len(data),
            "unreadable_skipped": data.skipped,
            "preprocessing": f"centre square crop, area resize to {trainer.config.resolution}, horizontal flips",
        },
        "licence": licence,
        "training": {
            "command": st.command,
            "resumed_with": st.resumed_with,
            "initialised_from": st.initialised_from or None,
            "steps": st.step,
            "batch": s.batch,
            "images_seen": st.images_seen,
            "epochs": round(st.images_seen / len(data), 3),
            "optimizer": f"Adam lr={s.lr} betas=({s.beta1}, 0.999)",
            "label_smoothing": s.label_smoothing,
            "seed": s.seed,
            "hardware": hardware,
            "wall_seconds": round(st.seconds, 1),
            "final_loss_d": round(st.loss_d, 4),
            "final_loss_g": round(st.loss_g, 4),
            "loss_history_every_100_steps": st.history[-200:],
        },
        "weights_dtype": "float16" if args.half else "float32",
    }
    extra = {"mean_face": out / "mean_face.png", "samples": out / "samples.png"}
    return save_model(out, trainer.generator, trainer.discriminator, card, extra_files=extra, half=args.half)
