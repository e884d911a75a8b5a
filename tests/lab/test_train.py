import json

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_gui.core.engines.gan.models import DCGANConfig
from inpaint_gui.core.engines.gan.weights import load_model
from inpaint_gui.lab.dataset import load_image_set
from inpaint_gui.lab.train import Trainer, TrainSettings


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
    from tests.cli_helpers import cli_here as cli

    out = tmp_path / "weights" / "tinyfaces"
    r = cli(
        "train",
        faces,
        "--out",
        out,
        "--size",
        "32",
        "--nz",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--batch",
        "4",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--cache-dir",
        tmp_path / "cache",
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    model = load_model(out)
    assert model.config == DCGANConfig(resolution=32, nz=8, ngf=4, ndf=4)
    card = json.loads((out / "model.json").read_text())
    assert card["data"]["images"] == 18 and card["data"]["unreadable_skipped"] == 1
    assert card["training"]["steps"] == 4 and card["training"]["images_seen"] == 16
    assert set(card["files"]) == {"generator", "discriminator", "mean_face", "samples"}
    assert model.mean_face.shape == (32, 32, 3)
    # resume from the checkpoint it left, for one more epoch
    r = cli(
        "train",
        faces,
        "--out",
        out,
        "--size",
        "32",
        "--nz",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--batch",
        "4",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--cache-dir",
        tmp_path / "cache",
        "--quiet",
        "--resume",
        out.parent / "tinyfaces.ckpt",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "model.json").read_text())["training"]["steps"] == 8


def test_train_command_errors(tmp_path):
    from tests.cli_helpers import cli_here as cli

    r = cli("train", tmp_path / "nope", "--out", tmp_path / "w")
    assert r.returncode == 2 and "not a folder" in r.stderr
    (tmp_path / "few").mkdir()
    r = cli("train", tmp_path / "few", "--out", tmp_path / "w", "--cache-dir", tmp_path / "c")
    assert r.returncode == 2 and "need at least one batch" in r.stderr


def test_export_only_writes_the_checkpoint_state(faces, tmp_path):
    from tests.cli_helpers import cli_here as cli

    out = tmp_path / "w" / "m"
    common = [
        "--size",
        "32",
        "--nz",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--batch",
        "4",
        "--device",
        "cpu",
        "--cache-dir",
        tmp_path / "cache",
        "--quiet",
    ]
    assert cli("train", faces, "--out", out, "--epochs", "1", *common).returncode == 0
    r = cli(
        "train", faces, "--out", tmp_path / "w" / "copy", "--resume", out.parent / "m.ckpt", "--export-only", *common
    )
    assert r.returncode == 0, r.stderr
    a, b = load_model(out), load_model(tmp_path / "w" / "copy")
    assert states_equal(a.generator.state_dict(), b.generator.state_dict())
    card = json.loads((tmp_path / "w" / "copy" / "model.json").read_text())
    assert card["training"]["steps"] == 4 and card["training"]["command"].startswith("inpaint-gui train ")
    assert "--export-only" not in card["training"]["command"]
    r = cli("train", faces, "--out", out, "--export-only", *common)
    assert r.returncode == 2 and "needs --resume" in r.stderr


def test_warm_start_copies_the_shared_inner_layers_only():
    from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
    from inpaint_gui.lab.dataset import ImageSet
    from inpaint_gui.lab.train import Trainer, TrainSettings, warm_start

    small_g, small_d = build_models(DCGANConfig(resolution=32, nz=16, ngf=16, ndf=16), seed=1)
    data = ImageSet(np.zeros((8, 64, 64, 3), np.uint8), 0, None, None)
    trainer = Trainer(
        DCGANConfig(resolution=64, nz=16, ngf=8, ndf=8), data, TrainSettings(batch=4), torch.device("cpu")
    )
    fresh_g = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    copied = warm_start(trainer, small_g.state_dict(), small_d.state_dict())
    g, d = trainer.generator.state_dict(), trainer.discriminator.state_dict()
    # generator: the 4x4 .. 16x16 stages come from the small model, the new outer stages stay fresh
    for name in ("main.0.weight", "main.3.weight", "main.6.weight", "main.7.running_mean"):
        assert torch.equal(g[name], small_g.state_dict()[name]), name
    assert torch.equal(g["main.9.weight"], fresh_g["main.9.weight"])
    # discriminator: aligned from the logit end
    assert torch.equal(d["main.11.weight"], small_d.state_dict()["main.8.weight"])
    assert torch.equal(d["main.5.weight"], small_d.state_dict()["main.2.weight"])
    assert "Generator.main.9" not in copied and "Discriminator.main.3" not in copied
    assert len(copied) == 6 + 5


def test_warm_start_refuses_an_unrelated_model(tmp_path):
    from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
    from inpaint_gui.lab.dataset import ImageSet
    from inpaint_gui.lab.train import Trainer, TrainSettings, warm_start

    other_g, other_d = build_models(DCGANConfig(resolution=32, nz=7, ngf=5, ndf=5), seed=1)
    data = ImageSet(np.zeros((8, 32, 32, 3), np.uint8), 0, None, None)
    trainer = Trainer(
        DCGANConfig(resolution=32, nz=16, ngf=8, ndf=8), data, TrainSettings(batch=4), torch.device("cpu")
    )
    assert warm_start(trainer, other_g.state_dict(), other_d.state_dict()) == []
