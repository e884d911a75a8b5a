"""Scene holes (object blobs, scratches) and the scene benchmark."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image

from inpaint_gui.lab.scene_eval import (
    SceneEval,
    crop_window,
    evaluate_scenes,
    save_figures,
    score,
)
from inpaint_gui.lab.scene_masks import (
    SCENE_MASK_KINDS,
    blob_mask,
    make_scene_mask,
    scratch_mask,
)


@pytest.mark.parametrize("shape", [(321, 481), (481, 321), (120, 160)])
def test_object_blob_area_border_and_shape(shape):
    for index in range(6):
        m = make_scene_mask("object", shape, 0, index)
        assert m.dtype == np.bool_ and m.shape == shape
        assert 0.04 <= m.mean() <= 0.06
        ys, xs = np.nonzero(m)
        assert ys.min() >= 16 and xs.min() >= 16
        assert ys.max() < shape[0] - 16 and xs.max() < shape[1] - 16
        assert ndi.label(m)[1] == 1  # one piece ...
        assert np.array_equal(ndi.binary_fill_holes(m), m)  # ... without holes


def test_masks_are_deterministic_and_differ_per_photo():
    for kind in SCENE_MASK_KINDS:
        a = make_scene_mask(kind, (200, 300), 0, 3)
        assert np.array_equal(a, make_scene_mask(kind, (200, 300), 0, 3))
        assert not np.array_equal(a, make_scene_mask(kind, (200, 300), 0, 4))
        assert not np.array_equal(a, make_scene_mask(kind, (200, 300), 1, 3))
    with pytest.raises(ValueError):
        make_scene_mask("center", (10, 10), 0, 0)
    with pytest.raises(ValueError):
        blob_mask((30, 30), np.random.default_rng(0))  # no room inside the margins


def test_scratches_cross_the_photo_with_the_right_width():
    for index in range(6):
        m = scratch_mask((240, 320), np.random.default_rng(index))
        assert 0.005 < m.mean() < 0.12
        touches = [m[0].any(), m[-1].any(), m[:, 0].any(), m[:, -1].any()]
        assert sum(touches) >= 2
        half_width = ndi.distance_transform_edt(m)
        assert 1.5 <= np.median(half_width[half_width >= np.percentile(half_width[m], 90)]) <= 6.5


def test_score_over_the_box():
    truth = np.full((40, 50, 3), 100, np.uint8)
    hole = np.zeros((40, 50), bool)
    hole[10:20, 10:30] = True
    out = truth.copy()
    out[hole] = 110  # the whole box is the hole: MSE 100 there
    s = score(out, truth, hole)
    assert s["psnr_bbox"] == pytest.approx(10 * np.log10(255**2 / 100))
    assert s["psnr"] > s["psnr_bbox"]
    assert crop_window(hole, "object")[1] - crop_window(hole, "object")[0] == 40  # clipped square


def test_evaluate_scenes_on_a_tiny_folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        noise = ndi.gaussian_filter(rng.standard_normal((96, 128, 3)), (2, 2, 0))
        photo = np.clip(128 + 300 * noise, 0, 255).astype(np.uint8)
        Image.fromarray(photo).save(tmp_path / f"p{i}.png")
    seen = []
    res = evaluate_scenes(
        tmp_path,
        ["object", "scratches"],
        ["scene", "harmonic", "telea", "pypatchmatch"],
        seed=0,
        n=2,
        on_progress=lambda d, t, m: seen.append((d, t)),
    )
    assert isinstance(res, SceneEval) and res.photos == ["p0.png", "p1.png"]
    ran = {r["method"] for r in res.rows}
    assert {"scene", "harmonic"} <= ran
    for m in ("telea", "pypatchmatch"):
        assert (m in ran) != (m in res.notes)  # run, or skipped with a note
    assert len(res.rows) == 2 * 2 * len(ran) and seen[-1][0] == seen[-1][1] == len(res.rows)
    assert all(r["outside_unchanged"] for r in res.rows)
    assert all(np.isfinite(r[k]) for r in res.rows for k in ("psnr_bbox", "ssim_bbox", "psnr", "ssim"))
    summary = res.summary()
    assert {(e["kind"], e["method"]) for e in summary} == {(k, m) for k in ("object", "scratches") for m in ran}
    assert all(e["n"] == 2 for e in summary) and all(e["n"] == 1 for e in res.summary([1]))
    assert "| scene |" in res.table_markdown(title="tiny")
    fig = res.figures["object"]
    assert fig.dtype == np.uint8 and fig.shape[1] > fig.shape[0]  # columns: truth, hole, methods
    paths = save_figures(res, tmp_path / "figs")
    assert [p.name for p in paths] == ["scene_object.png", "scene_scratches.png"]


def test_unknown_method():
    with pytest.raises(ValueError):
        from inpaint_gui.lab.scene_eval import make_methods

        make_methods(["nope"])


def test_eval_photos_from_the_command_line(tmp_path):
    from tests.cli_helpers import cli_here as cli

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        noise = ndi.gaussian_filter(rng.standard_normal((96, 128, 3)), (2, 2, 0))
        Image.fromarray(np.clip(128 + 300 * noise, 0, 255).astype(np.uint8)).save(photos / f"p{i}.png")
    out = tmp_path / "out"
    r = cli(
        "eval",
        "--photos",
        photos,
        "--skip",
        "1",
        "--methods",
        "auto,scene,harmonic",
        "--masks",
        "scratches",
        "--out",
        out,
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    import json

    report = json.loads((out / "metrics.json").read_text())
    assert report["config"]["n"] == 2 and {row["photo"] for row in report["rows"]} == {"p1.png", "p2.png"}
    assert {row["method"] for row in report["rows"]} == {"auto", "scene", "harmonic"}
    assert all(row["outside_unchanged"] for row in report["rows"])
    assert "| auto |" in (out / "table.md").read_text() and (out / "scene_scratches.png").is_file()
    bad = cli("eval", "--photos", photos, "--methods", "auto,magic", "--out", out)
    assert bad.returncode == 2 and "unknown scene method magic" in bad.stderr and "Traceback" not in bad.stderr
