"""``inpaint-gui bench``: speed of the search, the blend and a whole run, against references."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

PARTS = ("matmul", "search", "feedforward", "poisson", "run", "threads", "large")
OPT_IN = ("threads", "large")  # minutes each, and they load the machine: only when asked for
QUICK = {"parts": "matmul,search", "batches": "1,8", "seconds": 0.4}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark against references measured in the same run",
        description="Latent-search throughput vs the textbook loop and the machine's matrix-product "
        "rate; one-thread fills of the feed-forward networks (ce, pggan) against their 0.3 s budget; Poisson blending vs a direct solve (and OpenCV when installed); an "
        "end-to-end run on the bundled sample; on request, the default thread count against all "
        "cores and one, idle and busy (threads), and a run on an 8000x6000 photo (large). Every figure "
        "is set against a reference measured in the same run: compare ratios, not absolute speeds, "
        "across machines.",
    )
    p.add_argument(
        "--parts",
        default=None,
        help=f"comma-separated, from {','.join(PARTS)} (default: all but {' and '.join(OPT_IN)}, which take minutes)",
    )
    p.add_argument("--model", default=None, help="model for the search parts (default: celeba64)")
    p.add_argument("--batches", default=None, help="restart counts for the search throughput (default 1,8,32,64)")
    p.add_argument(
        "--variants",
        default="ours",
        help="the project's search variants to time, comma-separated, from ours, ours-unfused, ours-bf16, "
        "ours-tf32, ours-compiled, ours-no-graph, or 'all' (default: ours)",
    )
    p.add_argument("--device", default="auto", help="auto (CPU, and CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--seconds", type=float, default=None, help="minimum timing per measurement (default 2)")
    p.add_argument("--poisson-size", default="4000x3000", help="photo size for the Poisson bench")
    p.add_argument("--no-direct", action="store_true", help="skip the slow direct sparse solve")
    p.add_argument("--large-size", default="8000x6000", help="photo size for the large part")
    p.add_argument("--repeats", type=int, default=3, help="runs per case in the large part (median, max)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a small configuration (about 30 s): --parts {QUICK['parts']} --batches {QUICK['batches']} "
        f"--seconds {QUICK['seconds']}, unless given",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=main)


def _devices(choice: str) -> list[str]:
    import torch

    from inpaint_gui.core.devices import resolve_device

    if choice == "auto":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    return [resolve_device(choice).type]


def _options(args: argparse.Namespace) -> tuple[list[str], list[int], float, list[str]]:
    from inpaint_gui.core.errors import InpaintError
    from inpaint_gui.lab.bench import SEARCH_VARIANTS

    quick = (
        QUICK
        if args.quick
        else {"parts": ",".join(p for p in PARTS if p not in OPT_IN), "batches": "1,8,32,64", "seconds": 2.0}
    )
    parts = [p.strip() for p in (args.parts or quick["parts"]).split(",") if p.strip()]
    if bad := [p for p in parts if p not in PARTS]:
        raise InpaintError(f"unknown bench part {', '.join(bad)}: choose from {', '.join(PARTS)}")
    try:
        batches = [int(b) for b in (args.batches or quick["batches"]).split(",")]
    except ValueError:
        raise InpaintError("--batches takes integers like 1,8,32") from None
    if any(b < 1 for b in batches):
        raise InpaintError("--batches must be positive")
    variants = (
        list(SEARCH_VARIANTS)
        if args.variants.strip() == "all"
        else [v.strip() for v in args.variants.split(",") if v.strip()]
    )
    if bad := [v for v in variants if v not in SEARCH_VARIANTS]:
        raise InpaintError(f"unknown search variant {', '.join(bad)}: choose from {', '.join(SEARCH_VARIANTS)} or all")
    seconds = args.seconds if args.seconds is not None else quick["seconds"]
    return parts, batches, seconds, variants


def _over_previous(ours: dict, previous: dict) -> dict:
    """The defaults' wall and search seconds over the previous defaults' (empty if either failed)."""
    if "wall_seconds" not in ours or "wall_seconds" not in previous:
        return {}
    return {
        "defaults_over_previous": round(ours["wall_seconds"] / previous["wall_seconds"], 3),
        "search_defaults_over_previous": round(ours["search_seconds"] / previous["search_seconds"], 3),
    }


def main(args: argparse.Namespace) -> int:
    import torch

    from inpaint_gui.commands.options import apply_threads
    from inpaint_gui.core.errors import InpaintError
    from inpaint_gui.lab import bench

    parts, batches, seconds, variants = _options(args)
    width, height = _size(args.poisson_size, "--poisson-size")
    large = _size(args.large_size, "--large-size")
    if args.repeats < 1:
        raise InpaintError("--repeats must be at least 1")
    apply_threads(args.threads)
    devices = _devices(args.device)
    report: dict = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }
    }
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    say(
        f"inpaint-gui bench: torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + (f", {torch.cuda.get_device_name()}" if "cuda" in devices else "")
        + ". Every figure is set against a reference measured in this run."
    )
    if "matmul" in parts or "search" in parts:
        report["matmul_gflops"] = {
            d: round(bench.matmul_gflops(device=torch.device(d), min_seconds=seconds / 2), 1) for d in devices
        }
        say(
            "\nCeiling: float32 matrix product (1024 x 1024) "
            + ", ".join(f"{d} {v} GFLOP/s" for d, v in report["matmul_gflops"].items())
        )
    if "search" in parts:
        model = bench.load_search_model(args.model)
        report["search_model"] = {
            "name": model.name,
            **model.config.to_dict(),
            "gflop_per_restart_iteration": round(bench.iteration_flops(model) / 1e9, 4),
        }
        rows = []
        for d in devices:
            ours = [v for v in variants if d == "cuda" or v not in ("ours-tf32", "ours-no-graph")]
            rows += bench.search_throughput(model, batches, device=d, min_seconds=seconds, variants=ours)
        for d in devices:  # measured again after the search: the ceiling is the better of the two
            again = bench.matmul_gflops(device=torch.device(d), min_seconds=seconds / 2)
            report["matmul_gflops"][d] = round(max(report["matmul_gflops"][d], again), 1)
        say(
            "Ceiling measured again after the search: "
            + ", ".join(f"{d} {v} GFLOP/s" for d, v in report["matmul_gflops"].items())
        )
        for r in rows:
            r["share_of_matmul"] = round(r["gflops"] / report["matmul_gflops"][r["device"]], 3)
        report["search"] = rows
        say(
            f"\nLatent search throughput, model {model.name} ({report['search_model']['gflop_per_restart_iteration']} "
            "GFLOP per restart-iteration: G and D forward, backward into z)"
        )
        say(
            "  reference = the textbook PyTorch loop on the same model; share_of_matmul = achieved GFLOP/s over the "
            "ceiling above; vs_reference = speed-up over the reference at the same batch"
        )
        _table(
            say,
            rows,
            ["device", "batch", "loop", "restart_it_s", "gflops", "share_of_matmul", "vs_reference", "setup_s"],
        )
    if "feedforward" in parts:
        from inpaint_gui.lab.bench_ff import BUDGET_SECONDS, feedforward_rows

        ceiling, *rows = feedforward_rows(min_seconds=seconds)
        report["feedforward"] = {**ceiling, "rows": rows}
        say(
            f"\nFeed-forward fill of one 128x128 window (central block) on ONE thread, budget {BUDGET_SECONDS} s; "
            f"share_of_matmul: over the one-thread matrix-product rate, {ceiling['matmul_gflops_1_thread']} GFLOP/s"
        )
        keys = ["network", "model", "weights", "gmac", "fill_s", "with_poisson_s", "gflops", "share_of_matmul"]
        _table(say, rows, [*keys, "within_budget"])
    if "poisson" in parts:
        from inpaint_gui.lab.bench_poisson import run_poisson_bench

        rows = run_poisson_bench(photo_size=(width, height), direct=not args.no_direct)
        report["poisson"] = rows
        say(f"\nPoisson blend on a {width}x{height} photo")
        _table(say, rows, list(rows[0].keys()) if rows else [])
    if "run" in parts:
        repo = Path(__file__).resolve().parents[2]
        common = (
            ["--device", devices[-1]]
            + (["--model", args.model] if args.model else [])
            + (["--threads", str(args.threads)] if args.threads else [])
        )
        ours = bench.end_to_end_run(repo, common)
        fixed = bench.end_to_end_run(repo, common + ["--framing", "fixed"])
        paper = bench.end_to_end_run(repo, common + ["--framing", "fixed", *bench.PAPER_RECIPE])
        alone = bench.end_to_end_run(repo, common + ["--low-band", "off"])  # a 128 model's fill without 64's low band
        report["run"] = {"defaults": ours, "fixed_window": fixed, "paper_recipe": paper, "without_low_band": alone}
        if "wall_seconds" in ours and "wall_seconds" in alone:
            report["run"]["low_band_over_alone"] = round(ours["wall_seconds"] / alone["wall_seconds"], 2)
        if all("wall_seconds" in r for r in (ours, fixed, paper)):
            report["run"]["framing_over_fixed"] = round(ours["wall_seconds"] / fixed["wall_seconds"], 2)
            report["run"]["paper_over_fixed"] = round(paper["wall_seconds"] / fixed["wall_seconds"], 2)
        if not args.model:  # the window's model by its size (celeba128 here) against the 64x64 model, same window
            small = bench.end_to_end_run(repo, common + ["--framing", "fixed", "--model", "celeba64"])
            report["run"]["fixed_window_celeba64"] = small
            if "search_seconds" in small and "search_seconds" in fixed:
                report["run"]["model_128_over_64"] = round(fixed["search_seconds"] / small["search_seconds"], 2)
            if "wall_seconds" in small and "wall_seconds" in ours:  # the app before the framing search
                report["run"]["defaults_over_fixed_celeba64"] = round(ours["wall_seconds"] / small["wall_seconds"], 2)
        previous = bench.end_to_end_run(repo, common + list(bench.PREVIOUS_DEFAULTS))
        report["run"]["previous_defaults"] = previous
        report["run"].update(_over_previous(ours, previous))
        if not args.model:  # a 128 window: the sample's face cropped as the priors were trained, central hole
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                face = bench.face_window_photo(repo, Path(tmp))
                w_ours = bench.end_to_end_run(repo, common, photo=face)
                w_prev = bench.end_to_end_run(repo, common + list(bench.PREVIOUS_DEFAULTS), photo=face)
            report["run"]["window128"] = {
                "defaults": w_ours,
                "previous_defaults": w_prev,
                **_over_previous(w_ours, w_prev),
            }
        say(f"\nEnd-to-end run on the bundled sample at the defaults (framing search): {ours}")
        say(f"The defaults before issue 23 ({' '.join(bench.PREVIOUS_DEFAULTS)}): {previous}")
        if "defaults_over_previous" in report["run"]:
            say(
                f"Time to result: the defaults take {report['run']['defaults_over_previous']}x the previous defaults' "
                f"wall time ({report['run']['search_defaults_over_previous']}x their search time)"
            )
        if "window128" in report["run"]:
            w = report["run"]["window128"]
            say(f"A 128 window (the sample's face, aligned, central 64x64 hole): defaults {w['defaults']}")
            say(f"  previous defaults {w['previous_defaults']}")
            if "defaults_over_previous" in w:
                say(
                    f"  the defaults take {w['defaults_over_previous']}x the previous defaults' wall time "
                    f"({w['search_defaults_over_previous']}x their search time)"
                )
        say(f"The same with one fixed window (--framing fixed, the default before the framing search): {fixed}")
        say(f"The paper's recipe on the fixed window ({' '.join(bench.PAPER_RECIPE)}): {paper}")
        if "low_band_over_alone" in report["run"]:
            say(
                f"Without the low band (--low-band off): {alone}; the defaults take "
                f"{report['run']['low_band_over_alone']}x its time"
            )
        if "model_128_over_64" in report["run"]:
            say(
                f"The same window with celeba64: {report['run']['fixed_window_celeba64']}; the {fixed.get('model')} "
                f"search takes {report['run']['model_128_over_64']}x its time; the defaults take "
                f"{report['run'].get('defaults_over_fixed_celeba64')}x the app's time before the framing search"
            )
        if "framing_over_fixed" in report["run"]:
            say(
                f"Time to result: the framing search takes {report['run']['framing_over_fixed']}x the fixed window's; "
                f"the paper's recipe {report['run']['paper_over_fixed']}x"
            )
    if "threads" in parts:
        repo = Path(__file__).resolve().parents[2]
        common = ["--device", "cpu"] + (["--model", args.model] if args.model else [])
        report["threads"] = t = bench.thread_defaults(repo, common)
        say(f"\nThreads on the sample ({t['cores']} cores, {t['busy_before']} busy at the start): wall seconds")
        for load in ("as_is", "busy"):
            say(f"  {load:6s}: " + ", ".join(f"{k} {v}" for k, v in t[load].items()))
    if "large" in parts:
        from inpaint_gui.lab.large_bench import bench_large_run

        repo = Path(__file__).resolve().parents[2]
        extra = ["--threads", str(args.threads)] if args.threads else []
        report["large"] = t = bench_large_run(repo, (large[1], large[0]), repeats=args.repeats, extra=extra)
        say(
            f"\nrun on a {large[0]}x{large[1]} photo (median of {args.repeats}; {t['busy_before']} cores busy "
            f"before, {t['busy_after']} after); targets for the scratch: <= {t['targets']['scratch_wall_seconds']} s, "
            f"<= {t['targets']['scratch_peak_rss_mib']:.0f} MiB"
        )
        rows = [{"case": k, **v} for k, v in t.items() if isinstance(v, dict) and "wall_seconds" in v]
        _table(
            say, rows, ["case", "wall_seconds", "peak_rss_mib", "fill_seconds", "png_mib", "thin_path", "meets_targets"]
        )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _size(text: str, flag: str) -> tuple[int, int]:
    from inpaint_gui.core.errors import InpaintError

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InpaintError(f"{flag} takes WIDTHxHEIGHT, like 4000x3000") from None
    if width < 64 or height < 64:
        raise InpaintError(f"{flag} must be at least 64x64")
    return width, height


def _table(say, rows: list[dict], keys: list[str]) -> None:
    if not rows:
        return
    widths = [max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys]
    say("| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths)) + " |")
    say("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        say("| " + " | ".join(str(r.get(k, "")).ljust(w) for k, w in zip(keys, widths)) + " |")
    sys.stdout.flush()
