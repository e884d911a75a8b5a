"""The developer tools in ``tools/`` still run against the package they drive."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_gui.core.weights import save_model
from tests.tiny import tiny_model

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def test_tune_writes_a_paired_sweep(tmp_path, monkeypatch):
    m = tiny_model(resolution=32, nz=16, width=8)
    save_model(tmp_path / "tiny", m.generator, m.discriminator, {"name": "tiny"})
    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)).save(faces / f"{i}.png")
    out = tmp_path / "sweep"
    monkeypatch.setattr(sys, "argv", ["tune.py", "--images", str(faces), "--n", "3", "--model", str(tmp_path / "tiny"),
                                      "--only", "defaults,4 restarts and at most 300 iterations", "--out", str(out)])
    module = runpy.run_path(str(TOOLS / "tune.py"))  # defines main() without running it
    assert module["main"]() == 0
    report = json.loads((out / "sweep.json").read_text())
    assert [r["setting"] for r in report["rows"]] == [
        "harmonic fill (reference)", "defaults", "4 restarts and at most 300 iterations"]
    capped = report["rows"][2]
    assert capped["settings"]["restarts"] == 4 and 0 < capped["mean_iterations"] <= 300
    assert len(capped["per_image_psnr"]) == 3 and report["n"] == 3
    md = (out / "sweep.md").read_text()
    assert md.count("| center |") == 3 and "± " in md.splitlines()[-1]  # a paired difference against the defaults
