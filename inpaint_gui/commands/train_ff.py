"""``inpaint-gui train DATA --arch ce|pggan --out DIR``: train a feed-forward inpainting network.

The options shared with the DCGAN trainer keep their meaning (``--epochs``, ``--batch``, ``--lr``,
``--threads``, ``--max-minutes``, ``--checkpoint``, ``--seed``, ...); ``--sample-every`` is the
number of steps between exports (weights, samples and card into ``--out``) and checkpoints.
``--resume`` takes the checkpoint (exact continuation) or an exported model folder (its weights
and training record; fresh Adam moments).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from inpaint_gui.core.errors import InpaintError

WIDTHS = {"ce": (32, 32), "pggan": (16, 16)}  # generator, discriminator: first-layer widths


def add_ff_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("feed-forward networks (--arch ce or pggan)")
    g.add_argument("--width", type=int, default=None, help="generator's first-layer width (ce 32, pggan 16)")
    g.add_argument("--d-width", type=int, default=None, help="discriminator's first-layer width (ce 32, pggan 16)")
    g.add_argument("--bottleneck", type=int, default=512, help="ce: channels of the 1x1 bottleneck (paper: 4000)")
    g.add_argument("--max-width", type=int, default=256, help="ce: widest encoder/decoder layer (paper: 512)")
    g.add_argument("--blocks", type=int, default=4, help="pggan: dilated residual blocks (dilations 1, 2, 4, ...)")
    g.add_argument("--beta1", type=float, default=0.5, help="Adam's beta1 for both networks")
    g.add_argument(
        "--ssim-weight", type=float, default=0.0, help="add W x (1 - SSIM) of the composed window to the loss (0: off)"
    )
    g.add_argument(
        "--no-adversary", action="store_true", help="train without the discriminator (L1, plus SSIM if weighted)"
    )
    g.add_argument("--irregular-masks", type=Path, default=None, help="folder of hole PNGs drawn among the holes")
    g.add_argument(
        "--val-images", type=Path, default=None, help="tuning faces (the first 64 by name) for the curve and samples"
    )


def _config(args: argparse.Namespace):
    from inpaint_gui.core.engines.feedforward.ce import CEConfig
    from inpaint_gui.core.engines.feedforward.pggan import PGGANConfig

    width = WIDTHS[args.arch][0] if args.width is None else args.width
    d_width = WIDTHS[args.arch][1] if args.d_width is None else args.d_width
    size = args.size or 128
    try:
        if args.arch == "ce":
            return CEConfig(size, width, args.max_width, args.bottleneck, d_width)
        return PGGANConfig(size, width, args.blocks, d_width)
    except ValueError as exc:
        raise InpaintError(f"--arch {args.arch}: {exc}") from None


def main_ff(args: argparse.Namespace, celeba_licence: str) -> int:
    from inpaint_gui.commands.options import apply_threads
    from inpaint_gui.core.devices import describe_device, resolve_device
    from inpaint_gui.lab.dataset import default_cache_dir, load_image_set
    from inpaint_gui.lab.train import hardware_description
    from inpaint_gui.lab.train_ff import FFSettings, FFTrainer

    if args.init_from:
        raise InpaintError("--init-from is for --arch dcgan only")
    if args.export_only and not args.resume:
        raise InpaintError("--export-only needs --resume CHECKPOINT_OR_MODEL_FOLDER")
    if args.ssim_weight < 0 or args.ssim_weight != args.ssim_weight:
        raise InpaintError(f"--ssim-weight must be 0 or more, got {args.ssim_weight}")
    if not 0 <= args.beta1 < 1:
        raise InpaintError(f"--beta1 must be in [0, 1), got {args.beta1}")
    config = _config(args)
    if args.resume is not None and Path(args.resume).is_dir():  # a model folder: refuse another network first
        from inpaint_gui.core.engines.feedforward.weights import load_net

        load_net(args.resume, arch=args.arch, resolution=config.resolution, discriminator=True)
    device = resolve_device(args.device)
    apply_threads(args.threads)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    data = load_image_set(args.data_dir, config.resolution, cache_dir=args.cache_dir or default_cache_dir())
    if len(data) < args.batch:
        raise InpaintError(
            f"{args.data_dir}: found {len(data)} readable images, need at least one batch ({args.batch})"
        )
    irregular = None
    if args.irregular_masks is not None:
        from inpaint_gui.lab.masks import load_mask_folder

        irregular = load_mask_folder(args.irregular_masks)
    val = None
    if args.val_images is not None:
        from inpaint_gui.lab.evaluate import load_eval_images

        val = load_eval_images(args.val_images, config.resolution, 64)[1]
    settings = FFSettings(
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        beta1=args.beta1,
        seed=args.seed,
        export_every=args.sample_every,
        ssim_weight=args.ssim_weight,
        adversarial=not args.no_adversary,
    )
    trainer = FFTrainer(args.arch, config, data, settings, device, irregular, val)
    log(
        f"data: {len(data)} images ({data.skipped} unreadable skipped) at {config.resolution}, "
        f"{'no' if irregular is None else len(irregular)} irregular masks, in {time.perf_counter() - t0:.1f}s; "
        f"{args.arch} {config.to_dict()} on {describe_device(device)}"
    )
    out: Path = args.out
    ckpt_path = args.checkpoint or out.parent / f"{out.name}.ckpt"
    command = "inpaint-gui train " + " ".join(shlex.quote(str(a)) for a in sys.argv[2:])
    if args.resume:
        try:
            if Path(args.resume).is_dir():
                trainer.load_export(args.resume)
                command += "  (from exported weights: fresh Adam moments)"
            else:
                trainer.load_checkpoint(args.resume)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise InpaintError(f"{args.resume}: cannot resume ({str(exc).splitlines()[0]})") from None
        log(f"resumed at step {trainer.state.step} ({trainer.state.images_seen} images seen)")
        if not args.export_only:
            trainer.state.resumed_with.append(command)
    else:
        trainer.state.command = command
    data_name = args.data_name or Path(args.data_dir).resolve().name
    is_celeba = "celeba" in str(Path(args.data_dir).resolve()).lower()
    card = {
        "name": out.name,
        "description": f"{'Context Encoder' if args.arch == 'ce' else 'PGGAN'} inpainting network, "
        f"{config.resolution}x{config.resolution} windows, trained on {data_name}",
        "data": {
            "name": data_name,
            "images": len(data),
            "unreadable_skipped": data.skipped,
            "preprocessing": f"centre square crop, area resize to {config.resolution}, horizontal flips",
            "irregular_masks": str(args.irregular_masks) if irregular else None,
        },
        "licence": args.licence or (celeba_licence if is_celeba else "same terms as the training data"),
    }
    if args.export_only:
        trainer.recalibrate_bn()
        if trainer.val_images is not None and [h[0] for h in trainer.state.val_history[-1:]] != [trainer.state.step]:
            trainer.validate()  # the curve's last point, when the checkpoint was saved before it
        trainer.export(out, card, half=args.half)
        log(f"exported {out} (step {trainer.state.step})")
        return 0
    trainer.state.hardware = hardware_description(device)
    deadline = time.perf_counter() + args.max_minutes * 60 if args.max_minutes else None

    def on_export(t: FFTrainer) -> None:
        t.recalibrate_bn()
        val_psnr = t.validate()
        t.save_checkpoint(ckpt_path)
        t.export(out, card)
        st = t.state
        log(
            f"step {st.step}/{t.total_steps} epoch {st.step / t.steps_per_epoch:.2f} D {st.loss_d:.3f} "
            f"adv {st.loss_adv:.3f} L1 {st.loss_l1:.4f} {st.images_seen / max(st.seconds, 1e-9):.1f} img/s"
            + (f"; val PSNR center/parts {val_psnr[1]:.2f}/{val_psnr[2]:.2f}" if val_psnr else "")
            + (f", SSIM {val_psnr[3]:.4f}/{val_psnr[4]:.4f}" if val_psnr else "")
            + (f" (harmonic {t.harmonic_reference()[0]:.2f}/{t.harmonic_reference()[1]:.2f})" if val_psnr else "")
        )

    try:
        trainer.run(None, on_export, should_stop=(lambda: time.perf_counter() > deadline) if deadline else None)
    except KeyboardInterrupt:
        trainer.save_checkpoint(ckpt_path)
        log(f"interrupted: checkpoint saved to {ckpt_path} (resume with --resume)")
        return 130
    except SystemExit:  # SIGTERM (the CLI's Terminated): keep what was trained
        trainer.save_checkpoint(ckpt_path)
        log(f"terminated: checkpoint saved to {ckpt_path} (resume with --resume)")
        raise
    if trainer.state.step % settings.export_every:
        trainer.recalibrate_bn()
        trainer.validate()
    trainer.save_checkpoint(ckpt_path)
    trainer.export(out, card, half=args.half)
    st = trainer.state
    log(
        f"exported {out} after {st.step} steps ({st.images_seen} images, {st.seconds / 60:.1f} min); checkpoint {ckpt_path}"
    )
    return 0
