"""Command-line options shared by ``run``, ``eval``, ``bench`` and ``train``."""

from __future__ import annotations

import argparse

from inpaint_gui.core.errors import InpaintError


def add_search_options(p: argparse.ArgumentParser) -> None:
    """The model, the device, CPU threads and every setting of the latent search."""
    from inpaint_gui.core.engines.gan.search import LR_SCHEDULES, PRECISIONS, SearchSettings

    d = SearchSettings()
    p.add_argument("--model", default=None, help="model name in weights/ or a model folder (default: celeba64)")
    g = p.add_argument_group("latent search")
    g.add_argument("--iterations", type=int, default=d.iterations,
                   help=f"most Adam steps on z per image (default {d.iterations})")
    g.add_argument("--restarts", type=int, default=d.restarts, help=f"latent vectors optimised together (default {d.restarts})")
    g.add_argument("--lam", type=float, default=d.lam, help=f"weight of the perceptual term (default {d.lam})")
    g.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    g.add_argument("--beta1", type=float, default=d.beta1, help=f"Adam beta1 (default {d.beta1})")
    g.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule,
                   help=f"learning-rate schedule over --iterations (default {d.lr_schedule})")
    g.add_argument("--weighting", choices=("plain", "importance"), default=d.weighting,
                   help=f"contextual loss weights (default {d.weighting})")
    g.add_argument("--weight-window", type=int, default=d.weight_window, help="importance window side (odd)")
    g.add_argument("--init-samples", type=int, default=d.init_samples,
                   help=f"start from the best RESTARTS of INIT_SAMPLES x RESTARTS random z (default {d.init_samples}; 1 = plain draws)")
    g.add_argument("--stop-patience", type=int, default=d.stop_patience,
                   help=f"stop an image after this many iterations without improvement (default {d.stop_patience}; 0 = never)")
    g.add_argument("--stop-tolerance", type=float, default=d.stop_tolerance,
                   help=f"... of its best loss by more than this fraction (default {d.stop_tolerance})")
    g.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                   help=f"float32, tf32 (CUDA) or bfloat16 (default {d.precision})")
    g.add_argument("--seed", type=int, default=d.seed)
    add_device_options(p)


def add_device_options(p: argparse.ArgumentParser, default_device: str = "auto") -> None:
    p.add_argument("--device", default=default_device, help=f"auto, cpu or cuda (default {default_device})")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")


def search_settings_from(args: argparse.Namespace):
    from inpaint_gui.core.engines.gan.search import SearchSettings

    try:
        return SearchSettings(iterations=args.iterations, restarts=args.restarts, lam=args.lam, lr=args.lr,
                              beta1=args.beta1, weighting=args.weighting, weight_window=args.weight_window,
                              lr_schedule=args.lr_schedule, init_samples=args.init_samples,
                              stop_patience=args.stop_patience, stop_tolerance=args.stop_tolerance,
                              precision=args.precision, seed=args.seed, device=args.device).validate()
    except ValueError as exc:
        raise InpaintError(str(exc)) from None


def apply_threads(threads: int | None) -> None:
    """Set torch's CPU thread count (``None``: leave torch's choice)."""
    if threads is None:
        return
    if threads < 1:
        raise InpaintError("--threads must be at least 1")
    import torch

    torch.set_num_threads(threads)


SETTINGS_SHOWN = ("iterations", "restarts", "lam", "lr", "beta1", "lr_schedule", "weighting", "init_samples",
                  "stop_patience", "stop_tolerance", "precision", "seed")


def settings_summary(settings) -> dict:
    """The search settings a report records."""
    return {k: getattr(settings, k) for k in SETTINGS_SHOWN}
