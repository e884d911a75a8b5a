import threading

import numpy as np
import pytest
import torch

from inpaint_gui.core.errors import DeviceError, MaskError
from inpaint_gui.core.search import (SearchSettings, importance_weights, latent_search, run_search,
                                     tensor_to_images)
from tests.tiny import tiny_model


def psnr(a, b, where):
    err = np.mean((a[where].astype(np.float64) - b[where].astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(err, 1e-12))


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=16, width=8, seed=0)


@pytest.fixture(scope="module")
def target(model):
    """An image the model can produce exactly: G(z*) for a known z*."""
    z_star = torch.rand(1, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1
    with torch.no_grad():
        return tensor_to_images(model.generator(z_star))[0]


def centre_hole(size=32, a=8, b=24):
    mask = np.zeros((size, size), bool)
    mask[a:b, a:b] = True
    return mask


def test_importance_weights_hand_made_case():
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    w = importance_weights(mask, window=3)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = 1 / 9  # each 3x3 neighbourhood around the hole sees one missing pixel
    expected[2, 2] = 0.0  # the hole itself has no weight
    np.testing.assert_allclose(w, expected, atol=1e-7)
    # near the border, outside the image counts as known: the share is still over 9 pixels
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    w = importance_weights(mask, window=3)
    assert w[1, 0] == pytest.approx(2 / 9) and w[1, 1] == pytest.approx(2 / 9) and w[1, 2] == pytest.approx(1 / 9)
    assert w[3, 3] == 0.0  # far from the hole: no missing pixel in its window


@pytest.mark.parametrize("weighting", ["plain", "importance"])
def test_search_recovers_a_known_latent(model, target, weighting):
    mask = centre_hole()
    settings = SearchSettings(iterations=200, restarts=4, lr=0.05, weighting=weighting, device="cpu", preview_every=20)
    steps = list(latent_search(model, target, mask, settings))
    first, last = steps[0], steps[-1]
    assert last.done and not last.cancelled and last.iteration == 200
    assert last.total.min() < 0.2 * first.total.min()  # the loss falls
    before = psnr(first.previews[first.best], target, mask)
    after = psnr(last.previews[last.best], target, mask)
    assert after > before + 10 and after > 35  # and the hole, which the loss never sees, is recovered


def test_steps_carry_consistent_fresh_data(model, target):
    settings = SearchSettings(iterations=60, restarts=3, device="cpu", preview_every=10, preview_seconds=1e9)
    steps = list(latent_search(model, target, centre_hole(), settings))
    assert [s.iteration for s in steps] == [10, 20, 30, 40, 50, 60]
    for s in steps:
        assert s.previews.shape == (3, 32, 32, 3) and s.previews.dtype == np.uint8
        assert s.contextual.shape == s.perceptual.shape == s.total.shape == (3,)
        np.testing.assert_allclose(s.total, s.contextual + 0.003 * s.perceptual, rtol=1e-5)
        assert np.all(s.perceptual <= 0)  # log(1 - D) is never positive
    assert steps[0].previews is not steps[1].previews
    assert not np.shares_memory(steps[0].previews, steps[1].previews)
    final = steps[-1]
    assert final.latents.shape == (3, 16) and np.abs(final.latents).max() <= 1.0
    assert final.best == int(np.argmin(final.total))


def test_seeded_runs_are_reproducible_on_cpu(model, target):
    s = SearchSettings(iterations=30, restarts=2, device="cpu", seed=3)
    a = run_search(model, target, centre_hole(), s)
    b = run_search(model, target, centre_hole(), s)
    c = run_search(model, target, centre_hole(), SearchSettings(iterations=30, restarts=2, device="cpu", seed=4))
    np.testing.assert_array_equal(a.latents, b.latents)
    np.testing.assert_array_equal(a.previews, b.previews)
    assert not np.array_equal(a.latents, c.latents)


def test_only_z_receives_gradients(model, target):
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    run_search(model, target, centre_hole(), SearchSettings(iterations=5, restarts=2, device="cpu"))
    after = model.generator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics untouched too
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert torch.is_grad_enabled()  # the search leaves the caller's grad mode alone


def test_cancel_event_keeps_best_so_far(model, target):
    cancel = threading.Event()
    settings = SearchSettings(iterations=10_000, restarts=2, device="cpu", preview_every=5, preview_seconds=1e9)
    steps = []
    for step in latent_search(model, target, centre_hole(), settings, cancel=cancel):
        steps.append(step)
        if step.iteration >= 20:
            cancel.set()
    final = steps[-1]
    assert final.done and final.cancelled and final.iteration == 20
    assert final.previews.shape == (2, 32, 32, 3)
    assert final.total.min() <= steps[0].total.min()


def test_closing_the_generator_stops_it(model, target):
    gen = latent_search(model, target, centre_hole(), SearchSettings(iterations=10_000, restarts=1, device="cpu", preview_every=1))
    next(gen)
    gen.close()  # no exception, no further work
    with pytest.raises(StopIteration):
        next(gen)


def test_lambda_zero_skips_the_discriminator(model, target, monkeypatch):
    calls = []
    monkeypatch.setattr(model.discriminator, "forward", lambda x: calls.append(1) or torch.zeros(len(x)))
    final = run_search(model, target, centre_hole(), SearchSettings(iterations=5, restarts=2, lam=0.0, device="cpu"))
    assert calls == [] and np.all(final.perceptual == 0)


def test_bad_inputs(model, target):
    with pytest.raises(MaskError, match="nothing to condition on"):
        next(latent_search(model, target, np.ones((32, 32), bool), SearchSettings(device="cpu")))
    with pytest.raises(ValueError, match="uint8"):
        next(latent_search(model, target.astype(np.float32), centre_hole(), SearchSettings(device="cpu")))
    with pytest.raises(ValueError, match="weighting"):
        next(latent_search(model, target, centre_hole(), SearchSettings(weighting="fancy", device="cpu")))
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no usable NVIDIA GPU"):
            next(latent_search(model, target, centre_hole(), SearchSettings(device="cuda")))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu_closely(model, target):
    s = SearchSettings(iterations=50, restarts=2, lr=0.05, seed=1)
    cpu = run_search(model, target, centre_hole(), SearchSettings(**{**s.__dict__, "device": "cpu"}))
    gpu = run_search(model, target, centre_hole(), SearchSettings(**{**s.__dict__, "device": "cuda"}))
    model.to(torch.device("cpu"))
    assert np.abs(cpu.latents - gpu.latents).max() < 0.05


def test_batch_search_matches_single_searches(model, target):
    other = np.ascontiguousarray(target[::-1])
    masks = np.stack([centre_hole(), centre_hole(32, 4, 20)])
    s = SearchSettings(iterations=25, restarts=2, device="cpu", lr=0.05)
    from inpaint_gui.core.search import search_batch

    batch = search_batch(model, np.stack([target, other]), masks, s)
    single = run_search(model, target, masks[0], s)
    assert batch.fills.shape == (2, 2, 32, 32, 3) and batch.iterations == 25
    np.testing.assert_allclose(batch.total[0], single.total, rtol=1e-3)
    assert np.abs(batch.fills[0].astype(int) - single.previews.astype(int)).max() <= 2
    assert np.array_equal(batch.best, batch.total.argmin(1))
