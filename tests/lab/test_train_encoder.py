"""The encoder's trainer (a learned start for the search): it learns, resumes exactly, saves safely."""

import numpy as np
import pytest
import torch

from inpaint_gui.core.engines.gan.encoder import load_encoder
from inpaint_gui.core.errors import WeightsError
from inpaint_gui.lab.train_encoder import EncoderTrainer, EncoderTraining, held_out_fit, main
from tests.tiny import save_tiny_model, tiny_model, write_random_images

SMALL = EncoderTraining(steps=4, batch=6, width=8, checkpoint_every=2, lr=3e-3)


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=16, width=8, seed=0)


@pytest.fixture(scope="module")
def faces(model):
    with torch.no_grad():  # faces the prior can make: what the encoder must learn to invert
        x = model.generator(torch.rand(24, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    return ((x.permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()


def test_a_step_sees_the_same_batch_whenever_it_runs(model, faces):
    a, b = EncoderTrainer(model, faces, SMALL), EncoderTrainer(model, faces, SMALL)
    for x, y in zip(a.batch(3), b.batch(3)):
        np.testing.assert_array_equal(x, y)
    images, holes, z_star = a.batch(0)
    assert images.shape == (6, 32, 32, 3) and holes.shape == (6, 32, 32) and holes.any((1, 2)).all()
    assert z_star.shape == (2, 16)  # a quarter of the batch: the prior's own samples, z known


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(model, faces, tmp_path):
    straight = EncoderTrainer(model, faces, SMALL)
    straight.run()
    first = EncoderTrainer(model, faces, EncoderTraining(**{**SMALL.__dict__, "steps": 2}))
    first.run(tmp_path / "enc.ckpt")
    resumed = EncoderTrainer(model, faces, SMALL)
    resumed.load_checkpoint(tmp_path / "enc.ckpt")
    assert resumed.state.step == 2
    resumed.run()
    for k, v in straight.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[k], v)
    other = EncoderTrainer(model, faces, EncoderTraining(**{**SMALL.__dict__, "lr": 1e-4}))
    with pytest.raises(ValueError, match="other settings"):
        other.load_checkpoint(tmp_path / "enc.ckpt")


def test_the_encoder_learns_to_start_the_search_better_than_it_began(model, faces):
    trainer = EncoderTrainer(model, faces, EncoderTraining(steps=60, batch=8, width=8, lr=3e-3, generated_share=0.5))
    before = held_out_fit(trainer, faces[:12])["encoder_loss_grey_levels"]
    trainer.run()
    after = held_out_fit(trainer, faces[:12])
    assert after["encoder_loss_grey_levels"] < 0.9 * before
    assert set(after) == {
        "faces",
        "encoder_loss_grey_levels",
        "best_of_16_draws_loss_grey_levels",
        "encoder_better_share",
    }


def test_the_command_writes_an_encoder_the_app_loads_only_as_its_card_says(tmp_path):
    prior = save_tiny_model(tmp_path / "tiny")
    images = write_random_images(tmp_path / "faces", 8, shape=(32, 32), seed=3)
    out = tmp_path / "tiny-encoder"
    args = ["--model", str(prior), "--faces", str(images), "--val-faces", str(images), "--val-n", "4"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    assert main([*args, "--steps", "3", "--batch", "4", "--width", "8", "--out", str(out)]) == 0
    enc = load_encoder("tiny", out)
    assert enc.card["prior"] == "tiny" and enc.card["training"]["steps"] == 3 and enc.card["commands"]
    z = enc.latents(np.zeros((2, 32, 32, 3), np.uint8), np.ones((2, 32, 32), bool))
    assert z.shape == (2, 16) and np.abs(z).max() <= 1
    (out / "encoder.pt").write_bytes((out / "encoder.pt").read_bytes()[:-8] + b"tampered")
    with pytest.raises(WeightsError, match="sha256"):
        load_encoder("tiny", out)


def test_a_run_continues_from_the_encoder_it_exported(tmp_path):
    prior = save_tiny_model(tmp_path / "tiny")
    images = write_random_images(tmp_path / "faces", 8, shape=(32, 32), seed=3)
    args = ["--model", str(prior), "--faces", str(images), "--val-faces", str(images), "--val-n", "4"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--batch", "4", "--width", "8"]
    first, second = tmp_path / "first", tmp_path / "second"
    assert main([*args, "--steps", "2", "--out", str(first)]) == 0
    assert main([*args, "--steps", "2", "--init", str(first), "--out", str(second)]) == 0
    a, b = load_encoder("tiny", first), load_encoder("tiny", second)
    assert b.card["continued_from"]["steps"] == 2 and len(b.card["commands"]) == 2
    moved = [not torch.equal(v, b.net.state_dict()[k]) for k, v in a.net.state_dict().items()]
    assert any(moved)
    fresh = main([*args, "--steps", "0", "--out", str(tmp_path / "fresh")])
    assert fresh == 0  # the same run without --init starts from a fresh encoder, not the exported one
    c = load_encoder("tiny", tmp_path / "fresh")
    assert any(not torch.equal(v, c.net.state_dict()[k]) for k, v in a.net.state_dict().items())
    with pytest.raises(SystemExit, match="its encoder is"):
        main([*args, "--width", "16", "--steps", "1", "--init", str(first), "--out", str(tmp_path / "x")])
