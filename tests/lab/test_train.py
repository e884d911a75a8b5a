import json

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_gui.lab.dataset import load_image_set
from inpaint_gui.core.engines.gan.models import DCGANConfig
from inpaint_gui.lab.train import Trainer, TrainSettings
from inpaint_gui.core.engines.gan.weights import load_model


@pytest.fixture
def faces(tmp_path):
    folder = tmp_path / "faces"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(18):
        arr = rng.integers(0, 256, (30 + i, 40, 3)).astype(np.uint8)
        Image.fromarray(arr).save(folder / ("sub" if i % 2 else ".") / f"{i}.jpg", quality=90)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_image_set_skips_corrupt_files_and_caches(faces, tmp_path):
    data = load_image_set(faces, 16, cache_dir=tmp_path / "cache")
    assert data.images.shape == (18, 16, 16, 3) and data.skipped == 1
    again = load_image_set(faces, 16, cache_dir=tmp_path / "cache")
    assert again.cache_path == data.cache_path and np.array_equal(again.images, data.images)
    (faces / "extra.png").write_bytes((faces / "0.jpg").read_bytes())  # a new file invalidates the cache
    assert len(load_image_set(faces, 16, cache_dir=tmp_path / "cache")) == 19


def make_trainer(data, **kw):
    settings = TrainSettings(batch=4, epochs=2, seed=1, **kw)
    return Trainer(DCGANConfig(resolution=32, nz=8, ngf=4, ndf=4), data, settings, torch.device("cpu"))


def states_equal(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_exactly(faces, tmp_path):
    data = load_image_set(faces, 32)
    straight = make_trainer(data)
    straight.run()
    assert straight.state.step == straight.total_steps == 8

    first = make_trainer(data)
    for _ in range(3):
        first.train_step()
    first.save_checkpoint(tmp_path / "c.ckpt")
    resumed = make_trainer(data)
    resumed.load_checkpoint(tmp_path / "c.ckpt")
    assert resumed.state.step == 3 and resumed.state.images_seen == 12
    resumed.run()
    assert states_equal(straight.generator.state_dict(), resumed.generator.state_dict())
    assert states_equal(straight.discriminator.state_dict(), resumed.discriminator.state_dict())
    assert resumed.state.loss_d == pytest.approx(straight.state.loss_d)


def test_training_moves_weights_and_samples_are_images(faces):
    t = make_trainer(load_image_set(faces, 32))
    before = {k: v.clone() for k, v in t.generator.state_dict().items()}
    ld, lg = t.train_step()
    assert np.isfinite(ld) and np.isfinite(lg)
    assert not states_equal(before, t.generator.state_dict())
    samples = t.samples()
    assert samples.shape == (64, 32, 32, 3) and samples.dtype == np.uint8
    assert t.generator.training  # samples() puts G back into training mode


def test_train_command_exports_a_loadable_model(faces, tmp_path):
    from tests.test_cli import cli

    out = tmp_path / "weights" / "tinyfaces"
    r = cli("train", faces, "--out", out, "--size", "32", "--nz", "8", "--ngf", "4", "--ndf", "4", "--batch", "4",
            "--epochs", "1", "--device", "cpu", "--cache-dir", tmp_path / "cache", "--quiet")
    assert r.returncode == 0, r.stderr
    model = load_model(out)
    assert model.config == DCGANConfig(resolution=32, nz=8, ngf=4, ndf=4)
    card = json.loads((out / "model.json").read_text())
    assert card["data"]["images"] == 18 and card["data"]["unreadable_skipped"] == 1
    assert card["training"]["steps"] == 4 and card["training"]["images_seen"] == 16
    assert set(card["files"]) == {"generator", "discriminator", "mean_face", "samples"}
    assert model.mean_face.shape == (32, 32, 3)
    # resume from the checkpoint it left, for one more epoch
    r = cli("train", faces, "--out", out, "--size", "32", "--nz", "8", "--ngf", "4", "--ndf", "4", "--batch", "4",
            "--epochs", "2", "--device", "cpu", "--cache-dir", tmp_path / "cache", "--quiet",
            "--resume", out.parent / "tinyfaces.ckpt")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "model.json").read_text())["training"]["steps"] == 8


def test_train_command_errors(tmp_path):
    from tests.test_cli import cli

    r = cli("train", tmp_path / "nope", "--out", tmp_path / "w")
    assert r.returncode == 2 and "not a folder" in r.stderr
    (tmp_path / "few").mkdir()
    r = cli("train", tmp_path / "few", "--out", tmp_path / "w", "--cache-dir", tmp_path / "c")
    assert r.returncode == 2 and "need at least one batch" in r.stderr


def test_export_only_writes_the_checkpoint_state(faces, tmp_path):
    from tests.test_cli import cli

    out = tmp_path / "w" / "m"
    common = ["--size", "32", "--nz", "8", "--ngf", "4", "--ndf", "4", "--batch", "4", "--device", "cpu",
              "--cache-dir", tmp_path / "cache", "--quiet"]
    assert cli("train", faces, "--out", out, "--epochs", "1", *common).returncode == 0
    r = cli("train", faces, "--out", tmp_path / "w" / "copy", "--resume", out.parent / "m.ckpt", "--export-only", *common)
    assert r.returncode == 0, r.stderr
    a, b = load_model(out), load_model(tmp_path / "w" / "copy")
    assert states_equal(a.generator.state_dict(), b.generator.state_dict())
    card = json.loads((tmp_path / "w" / "copy" / "model.json").read_text())
    assert card["training"]["steps"] == 4 and card["training"]["command"].startswith("inpaint-gui train ")
    assert "--export-only" not in card["training"]["command"]
    r = cli("train", faces, "--out", out, "--export-only", *common)
    assert r.returncode == 2 and "needs --resume" in r.stderr
