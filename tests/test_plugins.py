"""An engine from outside the package, registered by the ``inpaint_gui.engines`` entry point.

The plugin (``tests/plugin/blur_engine.py``: the scene engine's fill under the name ``blur``,
which says it suits every hole ``auto`` asks it about) is laid out as an installed
distribution would be (a module and a ``*.dist-info`` folder with ``entry_points.txt``) in a
folder that only the subprocesses of these tests have on their path. Nothing in inpaint_gui
names it; it becomes a ``--engine`` choice with its flags, an ``eval --photos`` method, a
candidate for ``auto`` and a toolbar choice with a dock group.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """An environment whose Python path holds the ``blur`` plugin as an installed distribution."""
    site = tmp_path_factory.mktemp("site")
    shutil.copy(HERE / "plugin" / "blur_engine.py", site / "blur_engine.py")
    info = site / "blur_engine-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: blur-engine\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[inpaint_gui.engines]\nblur = blur_engine:BlurEngine\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), QT_QPA_PLATFORM="offscreen")
    return env


def cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "inpaint_gui", *map(str, args)], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    Image.fromarray(image).save(d / "photo.png")
    mask = np.zeros((72, 96), np.uint8)
    mask[20:56, 30:70] = 255  # thick: not a scratch that the scene engine claims
    Image.fromarray(mask).save(d / "mask.png")
    return d, image, mask > 0


def test_without_the_plugin_there_is_no_blur_engine(files):
    r = cli(dict(os.environ), "run", "--help")
    assert r.returncode == 0 and "blur" not in r.stdout


def test_the_plugin_is_an_engine_choice_with_its_flags(plugin_env):
    r = cli(plugin_env, "run", "--help")
    assert r.returncode == 0, r.stderr
    assert (
        "{auto,scene,face,ce,pggan,blur}" in r.stdout
    )  # the built-in engines first (by their turn in auto), then plugins
    assert "blur engine: Blur (a plugin)" in r.stdout
    # it declares the scene engine's settings: a flag per engine; --patch-size stays the scene engine's
    for flag in ("--blur-patch-size", "--scene-patch-size", "--patch-size"):
        assert flag in r.stdout


def test_run_with_the_plugin_and_with_auto(plugin_env, files, tmp_path):
    d, image, hole = files
    r = cli(plugin_env, "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "o.png",
            "--engine", "blur", "--blur-patch-size", "5", "--quiet", "--json", "--threads", "1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [g["engine"] for g in summary["regions"]] == ["blur"]
    assert summary["settings"]["blur.patch_size"] == 5 and summary["settings"]["scene.patch_size"] == 7
    r = cli(plugin_env, "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "p.png",
            "--engine", "blur", "--patch-size", "9", "--quiet", "--json", "--threads", "1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    settings = json.loads(r.stdout)["settings"]
    assert settings["scene.patch_size"] == 9 and settings["blur.patch_size"] == 7  # --patch-size: the scene engine's
    out = np.asarray(Image.open(tmp_path / "o.png"))
    np.testing.assert_array_equal(out[~hole], image[~hole])
    assert not np.array_equal(out[hole], image[hole])
    # auto: the face check sees no face in noise and declines; the plugin says it suits the hole
    r = cli(plugin_env, "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "a.png",
            "--quiet", "--json", "--threads", "1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    regions = json.loads(r.stdout)["regions"]
    assert [g["engine"] for g in regions] == ["blur"] and "blur suits" in regions[0]["label"]


def test_eval_photos_scores_the_plugin(plugin_env, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(photos / "p0.png")
    out = tmp_path / "out"
    r = cli(plugin_env, "eval", "--photos", photos, "--methods", "blur,harmonic", "--masks", "object",
            "--out", out, "--quiet", "--threads", "1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = json.loads((out / "metrics.json").read_text())["rows"]
    assert {row["method"] for row in rows} == {"blur", "harmonic"} and all(row["outside_unchanged"] for row in rows)


@pytest.mark.gui
def test_the_window_offers_the_plugin(plugin_env):
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "plugin" / "window_check.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env=plugin_env,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout
