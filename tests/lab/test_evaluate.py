import json

import numpy as np
from PIL import Image

from inpaint_gui.lab.evaluate import nearest_neighbour_fill
from tests.tiny import save_tiny_model, write_random_images


def test_nearest_neighbour_picks_the_closest_on_known_pixels():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (50, 8, 8, 3)).astype(np.uint8)
    query = train[[17, 3]].copy()
    masks = np.zeros((2, 8, 8), bool)
    masks[:, 2:6, 2:6] = True
    query[masks] = 0  # the hole says nothing
    out = nearest_neighbour_fill(query, masks, train, chunk=16)
    assert np.array_equal(out[0], train[17]) and np.array_equal(out[1], train[3])


def test_eval_end_to_end_writes_every_output(tmp_path):
    from tests.cli_helpers import cli_here as cli

    save_tiny_model(tmp_path / "tiny")
    faces = write_random_images(tmp_path / "faces", 5, (40, 48))
    masks = tmp_path / "masks"
    masks.mkdir()
    arr = np.zeros((64, 64), np.uint8)
    arr[10:40, 20:30] = 255
    Image.fromarray(arr).save(masks / "00000.png")
    out = tmp_path / "out"
    r = cli(
        "eval",
        "--images",
        faces,
        "--n",
        "4",
        "--masks",
        "center,random80,regular,irregular",
        "--irregular-masks",
        masks,
        "--methods",
        "full,paste,lam0,plain,harmonic,nn",
        "--train-images",
        faces,
        "--model",
        tmp_path / "tiny",
        "--iterations",
        "5",
        "--restarts",
        "2",
        "--device",
        "cpu",
        "--out",
        out,
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "figure_center.png",
        "figure_irregular.png",
        "figure_random80.png",
        "figure_regular.png",
        "metrics.csv",
        "metrics.json",
        "table.md",
    ]
    data = json.loads((out / "metrics.json").read_text())
    assert len(data["per_image"]) == 4 * 6 * 4
    summary = {(e["mask"], e["method"]): e for e in data["summary"]}
    assert summary[("center", "full")]["n"] == 4
    # every search method reports its iterations (5 at most here), baselines do not
    assert all(
        0 < summary[(k, m)]["mean_iterations"] <= 5 for k in ("center", "random80") for m in ("full", "lam0", "plain")
    )
    assert "mean_iterations" not in summary[("center", "harmonic")]
    assert data["config"]["settings"]["stop_patience"] == 50 and data["config"]["settings"]["iterations"] == 5
    # "full" and "paste" share a search: pixels outside the hole are the truth in both, so the
    # whole-image error is the hole's error diluted by the known share of the image
    for e in data["summary"]:
        assert 0 <= e["l1"] <= e["l1_hole"] + 1e-9
    assert "harmonic (Laplace) fill" in (out / "table.md").read_text()
    assert Image.open(out / "figure_center.png").size == (2 + 8 * 34, 2 + 4 * 34)


def test_eval_rejects_unknown_methods(tmp_path):
    from tests.cli_helpers import cli_here as cli

    r = cli("eval", "--images", tmp_path, "--methods", "full,magic")
    assert r.returncode == 2 and "unknown method magic" in r.stderr


def test_eval_parts_on_photos_larger_than_the_model(tmp_path):
    from tests.cli_helpers import cli_here as cli

    save_tiny_model(tmp_path / "tiny")  # a 32x32 model
    faces = write_random_images(tmp_path / "faces", 3, (64, 64))
    out = tmp_path / "out"
    r = cli(
        "eval",
        "--images",
        faces,
        "--size",
        "64",
        "--masks",
        "parts",
        "--methods",
        "default,full,context,harmonic",
        "--model",
        tmp_path / "tiny",
        "--iterations",
        "6",
        "--restarts",
        "2",
        "--device",
        "cpu",
        "--out",
        out,
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "metrics.json").read_text())
    summary = {e["method"]: e for e in data["summary"]}
    assert set(summary) == {"default", "full", "context", "harmonic"} and all(e["n"] == 3 for e in summary.values())
    assert all(e["sharpness"] > 0 for e in summary.values())
    # the three framings are three different searches: their fills differ
    rows = {(r["method"], r["image"]): r["psnr"] for r in data["per_image"]}
    assert len({rows[(m, "0.png")] for m in ("default", "full", "context")}) == 3
