"""The developer tools in ``tools/`` still run against the package they drive."""

import json
import runpy
from pathlib import Path

from tests.tiny import save_tiny_model, write_random_images

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def test_tune_writes_a_paired_sweep(tmp_path):
    model = save_tiny_model(tmp_path / "tiny")
    faces = write_random_images(tmp_path / "faces", 4, seed=1)
    out = tmp_path / "sweep"
    main = runpy.run_path(str(TOOLS / "tune.py"))["main"]  # defines main() without running it
    assert (
        main(
            [
                "--images",
                str(faces),
                "--n",
                "3",
                "--model",
                str(model),
                "--only",
                "defaults,2 restarts",
                "--base",
                "iterations=40",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "sweep.json").read_text())
    assert [r["setting"] for r in report["rows"]] == ["harmonic fill (reference)", "defaults", "2 restarts"]
    capped = report["rows"][2]
    assert capped["settings"]["restarts"] == 2 and 0 < capped["mean_iterations"] <= 40
    assert len(capped["per_image_psnr"]) == 3 and report["n"] == 3
    md = (out / "sweep.md").read_text()
    assert md.count("| center |") == 3 and "± " in md.splitlines()[-1]  # a paired difference against the defaults
