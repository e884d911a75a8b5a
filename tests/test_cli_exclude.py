"""``inpaint-gui run --exclude``: a "don't copy from" mask on the command line, in a subprocess."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import FAST, cli_here
from tests.tiny import save_tiny_model

SCENE = ["--engine", "scene", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A photo with a red left half and a blue right half, a hole across the border, the left
    half as an exclusion, and broken exclusions: (folder, image, hole, exclusion)."""
    d = tmp_path_factory.mktemp("exclude")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :96]
    stripes = ((xx // 5 + yy // 7) % 2) * 50
    red = xx < 48
    image = np.stack([np.where(red, 170 + stripes, 30), 40 + stripes // 2, np.where(red, 30, 170 + stripes)], -1)
    image = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    Image.fromarray(image).save(d / "photo.png")
    hole = np.zeros((64, 96), bool)
    hole[22:42, 38:58] = True
    Image.fromarray(hole.astype(np.uint8) * 255).save(d / "mask.png")
    Image.fromarray(red.astype(np.uint8) * 255).save(d / "left.png")
    Image.fromarray(red[:50].astype(np.uint8) * 255).save(d / "short.png")
    Image.fromarray(np.full((64, 96), 255, np.uint8)).save(d / "all.png")
    Image.fromarray(np.broadcast_to(np.linspace(0, 255, 96), (64, 96)).astype(np.uint8)).save(d / "ramp.png")
    return d, image, hole, red


def reddish(pixels):
    return pixels[..., 0].astype(int) - pixels[..., 2] > 40


def test_run_with_exclude_copies_nothing_from_there_and_counts_it(files):
    d, image, hole, red = files
    args = ["--mask", d / "mask.png", "--exclude", d / "left.png", *SCENE, "--blend", "paste", "--json"]
    r = cli_here("run", d / "photo.png", "-o", d / "out.png", *args)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["excluded_pixels"] == int((red & ~hole).sum())  # excluded hole pixels are just hole
    assert [region["engine"] for region in summary["regions"]] == ["scene"]
    out = np.asarray(Image.open(d / "out.png"))
    assert np.array_equal(out[~hole], image[~hole])
    assert not reddish(out[hole]).any()
    r = cli_here(
        "run", d / "photo.png", "--mask", d / "mask.png", "-o", d / "plain.png", *SCENE, "--blend", "paste", "--json"
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["excluded_pixels"] == 0
    assert reddish(np.asarray(Image.open(d / "plain.png"))[hole]).sum() > 20  # without it, red is copied


@pytest.mark.parametrize(
    ("exclude", "extra", "needle"),
    [
        ("short.png", [], "short.png is 96x50 but the photo is 96x64"),
        # checked before any work: before the face model is looked for
        ("short.png", ["--engine", "face", "--model", "no-such-model"], "short.png is 96x50"),
        ("ramp.png", [], "ramp.png does not look like a mask"),
        ("all.png", [], "don't copy from"),
        ("missing.png", [], "missing.png"),
    ],
)
def test_a_bad_exclude_mask_is_one_line_exit_2_and_writes_nothing(files, exclude, extra, needle):
    d, image, *_ = files
    before = sorted(p.name for p in d.iterdir())
    r = cli_here(
        "run", d / "photo.png", "--mask", d / "mask.png", "--exclude", d / exclude, "-o", d / "o.png", *SCENE, *extra
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inpaint-gui: error:") and needle in lines[0], r.stderr
    assert sorted(p.name for p in d.iterdir()) == before
    assert np.array_equal(np.asarray(Image.open(d / "photo.png")), image)


def test_the_exclude_mask_is_never_overwritten_by_the_result(files):
    d, *_ = files
    left = (d / "left.png").read_bytes()
    r = cli_here(
        "run", d / "photo.png", "--mask", d / "mask.png", "--exclude", d / "left.png", "-o", d / "left.png", *SCENE
    )
    assert r.returncode == 2 and "is the exclude mask" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (d / "left.png").read_bytes() == left


def test_the_face_engine_ignores_the_exclusion_and_says_so(files):
    d, image, hole, _red = files
    save_tiny_model(d / "tiny")
    args = ["--mask", d / "mask.png", "--exclude", d / "left.png", "--model", d / "tiny", *FAST, "--framing", "fixed"]
    r = cli_here("run", d / "photo.png", "-o", d / "face.png", *args)
    assert r.returncode == 0, r.stderr
    assert "warning: the face engine copies nothing from the photo: --exclude changed nothing" in r.stderr
    out = np.asarray(Image.open(d / "face.png"))
    assert np.array_equal(out[~hole], image[~hole])
