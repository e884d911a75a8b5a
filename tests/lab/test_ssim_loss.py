"""The SSIM training term: the metric's measure in torch, and the trainer's L1 + SSIM recipe."""

import json

import numpy as np
import pytest
import torch

from inpaint_gui.lab import ssim_loss
from inpaint_gui.lab.metrics import ssim as ssim_metric
from tests.lab.test_train_ff import trainer


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).double() / 127.5 - 1  # (N, 3, H, W) in [-1, 1]


def test_the_loss_is_the_metric_on_uint8_images():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (3, 24, 30, 3)).astype(np.uint8)
    noisy = np.clip(truth + rng.normal(0, 40, truth.shape), 0, 255).astype(np.uint8)
    expected = np.mean([ssim_metric(a, b) for a, b in zip(noisy, truth)])
    got = ssim_loss.ssim(to_tensor(noisy), to_tensor(truth)).item()
    assert got == pytest.approx(expected, abs=1e-9)
    assert 0.1 < got < 0.9  # a real difference, not a degenerate 0 or 1
    assert ssim_loss.ssim(to_tensor(truth), to_tensor(truth)).item() == pytest.approx(1.0)


def test_the_loss_is_differentiable_and_rejects_bad_shapes():
    a = torch.zeros(1, 3, 16, 16, requires_grad=True)
    b = torch.rand(1, 3, 16, 16) * 2 - 1
    (1 - ssim_loss.ssim(a, b)).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="shapes differ"):
        ssim_loss.ssim(a, b[..., :15])
    with pytest.raises(ValueError, match="too small"):
        ssim_loss.ssim(a[..., :10, :10], b[..., :10, :10])


@pytest.mark.parametrize("arch", ["ce", "pggan"])
def test_l1_plus_ssim_without_the_adversary(arch, tmp_path):
    t = trainer(arch, lr=2e-3, ssim_weight=1.0, adversarial=False)
    d_before = {k: v.clone() for k, v in t.discriminator.state_dict().items()}
    fixed = t.batch(0)
    t.batch = lambda step: fixed
    first = t.train_step()
    for _ in range(25):
        last = t.train_step()
    assert np.isnan(last["loss_d"]) and np.isnan(last["loss_adv"])
    assert last["loss_ssim"] < 0.8 * first["loss_ssim"], (first, last)
    assert all(torch.equal(v, t.discriminator.state_dict()[k]) for k, v in d_before.items())  # never trained
    t.validate()
    card = json.loads((t.export(tmp_path / "m") / "model.json").read_text())["training"]
    assert card["loss_weights"] == {"l1": 1.0, "ssim": 1.0} and card["adversarial"].startswith("none")
    assert len(card["state"]["val_history"][0]) == 5  # step, PSNR center/parts, SSIM center/parts


def test_the_papers_losses_are_unchanged_without_the_ssim_term():
    t = trainer("pggan")
    losses = t.train_step()
    assert np.isnan(losses["loss_ssim"]) and not np.isnan(losses["loss_d"])
    assert t.weights == {"l1": 0.995, "global": 0.0025, "patch": 0.0025}


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--ssim-weight", "-1"], "--ssim-weight must be 0 or more"),
        (["--beta1", "1.5"], "--beta1 must be in [0, 1)"),
    ],
)
def test_bad_loss_options_are_one_line(tmp_path, extra, needle):
    from tests.cli_helpers import cli_here as cli
    from tests.cli_helpers import one_error_line

    one_error_line(cli("train", tmp_path, "--out", tmp_path / "w", "--arch", "pggan", *extra), needle)
    assert not (tmp_path / "w").exists()
