"""``inpaint-gui bench``: speed of the search, the blend and a whole run, against references."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

PARTS = ("matmul", "search", "poisson", "run")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark against references measured in the same run",
                       description="Latent-search throughput vs the textbook loop and the machine's matrix-product "
                                   "rate; Poisson blending vs a direct solve (and OpenCV when installed); an "
                                   "end-to-end run on the bundled sample.")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {','.join(PARTS)}")
    p.add_argument("--model", default=None, help="model for the search parts (default: celeba64)")
    p.add_argument("--batches", default="1,8,32,64", help="restart counts for the search throughput")
    p.add_argument("--device", default="auto", help="auto (CPU, and CUDA when present), cpu or cuda")
    p.add_argument("--seconds", type=float, default=2.0, help="minimum timing per measurement")
    p.add_argument("--poisson-size", default="4000x3000", help="photo size for the Poisson bench")
    p.add_argument("--no-direct", action="store_true", help="skip the slow direct sparse solve")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=main)


def _devices(choice: str) -> list[str]:
    import torch

    from inpaint_gui.core.devices import resolve_device

    if choice == "auto":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    return [resolve_device(choice).type]


def main(args: argparse.Namespace) -> int:
    import torch

    from inpaint_gui.core import bench
    from inpaint_gui.core.errors import InpaintError
    from inpaint_gui.core.weights import default_model_name, load_model

    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if bad := [p for p in parts if p not in PARTS]:
        raise InpaintError(f"unknown bench part {', '.join(bad)}: choose from {', '.join(PARTS)}")
    try:
        batches = [int(b) for b in args.batches.split(",")]
        width, height = (int(v) for v in args.poisson_size.lower().split("x"))
    except ValueError:
        raise InpaintError("--batches takes integers like 1,8,32 and --poisson-size WIDTHxHEIGHT") from None
    devices = _devices(args.device)
    report: dict = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                                "torch": torch.__version__, "threads": torch.get_num_threads()}}
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    if "matmul" in parts or "search" in parts:
        report["matmul_gflops"] = {d: round(bench.matmul_gflops(device=torch.device(d), min_seconds=args.seconds / 2), 1)
                                   for d in devices}
        say(f"float32 matrix product: " + ", ".join(f"{d} {v} GFLOP/s" for d, v in report["matmul_gflops"].items()))
    if "search" in parts:
        model = load_model(args.model or default_model_name())
        report["search_model"] = {"name": model.name, **model.config.to_dict(),
                                  "gflop_per_restart_iteration": round(bench.iteration_flops(model) / 1e9, 4)}
        rows = []
        for d in devices:
            rows += bench.search_throughput(model, batches, device=d, min_seconds=args.seconds)
        for r in rows:
            r["ours_share_of_matmul"] = round(r["ours_gflops"] / report["matmul_gflops"][r["device"]], 3)
            r["reference_share_of_matmul"] = round(r["reference_gflops"] / report["matmul_gflops"][r["device"]], 3)
        report["search"] = rows
        say(f"\nLatent search, model {model.name} ({report['search_model']['gflop_per_restart_iteration']} GFLOP per restart-iteration)")
        _table(say, rows, ["device", "batch", "ours_restart_it_s", "reference_restart_it_s", "speedup", "ours_gflops",
                           "reference_gflops", "ours_share_of_matmul", "reference_share_of_matmul"])
    if "poisson" in parts:
        from inpaint_gui.core.bench_poisson import run_poisson_bench

        rows = run_poisson_bench(photo_size=(width, height), direct=not args.no_direct)
        report["poisson"] = rows
        say(f"\nPoisson blend on a {width}x{height} photo")
        _table(say, rows, list(rows[0].keys()) if rows else [])
    if "run" in parts:
        repo = Path(__file__).resolve().parents[2]
        report["run"] = bench.end_to_end_run(repo, ["--device", devices[-1]] + (["--model", args.model] if args.model else []))
        say(f"\nEnd-to-end run on the bundled sample: {report['run']}")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _table(say, rows: list[dict], keys: list[str]) -> None:
    if not rows:
        return
    widths = [max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys]
    say("| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths)) + " |")
    say("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        say("| " + " | ".join(str(r.get(k, "")).ljust(w) for k, w in zip(keys, widths)) + " |")
    sys.stdout.flush()
