"""The levers measured and not shipped (lab/levers.py): they do what they say, on a tiny model."""

import threading

import numpy as np
import pytest
import torch

from inpaint_gui.lab import levers
from tests.tiny import tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=16, width=8, seed=0)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:32, :32]
    image = np.stack([xx * 6, yy * 5, (xx + yy) * 3], -1) + rng.normal(0, 8, (32, 32, 3))
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    return image.clip(0, 255).astype(np.uint8), mask, rng.uniform(-1, 1, 16).astype(np.float32)


def _known_l1(fill, image, mask):
    return float(np.abs(fill.astype(float) - image.astype(float))[~mask].mean())


def test_fitting_the_prior_fits_the_known_pixels_better_and_leaves_the_model_alone(model, problem):
    image, mask, z = problem
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    with torch.no_grad():
        start = ((model.generator(torch.from_numpy(z)[None])[0].permute(1, 2, 0).numpy() + 1) * 127.5).round()
    steps = list(levers.fit_prior(model, image, mask, z, steps=20, lr=3e-3, preview_seconds=0.0))
    last = steps[-1]
    assert last.done and not last.cancelled and last.iteration == 20 and len(steps) > 2
    assert [s.free for s in steps[:-1]] == sorted(s.free for s in steps[:-1])  # shallow blocks first
    assert _known_l1(last.fill, image, mask) < 0.8 * _known_l1(start, image, mask)
    for k, v in model.generator.state_dict().items():
        assert torch.equal(v, before[k])  # the tuned weights were a copy


def test_a_cancelled_fit_ends_at_once_with_the_best_fill_so_far(model, problem):
    image, mask, z = problem
    cancel = threading.Event()
    cancel.set()
    (last,) = levers.fit_prior(model, image, mask, z, steps=30, cancel=cancel)
    assert last.done and last.cancelled and last.iteration == 0 and last.fill.shape == (32, 32, 3)


def test_the_stages_free_one_more_block_per_stretch():
    assert levers.stage_schedule(8, 5, 4) == [1, 1, 2, 2, 3, 3, 4, 4]
    assert levers.stage_schedule(3, 2, 4) == [1, 1, 2]


def test_the_feature_search_lowers_the_searchs_own_loss(model, problem):
    image, mask, z = problem
    fill, loss = levers.feature_search(model, image, mask, z, layer=2, steps=1, lam=0.0)
    _, better = levers.feature_search(model, image, mask, z, layer=2, steps=20, lr=0.05, lam=0.0)
    assert fill.shape == (32, 32, 3) and better < loss


def test_recomputed_batchnorm_statistics_are_those_of_the_samples(model):
    state = levers.recompute_batchnorm(model, samples=512, batch=128)
    bn = model.generator.main[1]
    assert not torch.equal(state["main.1.running_mean"], bn.running_mean)  # the model keeps its own
    g = model.generator
    with torch.no_grad():
        x = g.main[0](torch.rand(512, 16, generator=torch.Generator().manual_seed(0))[:, :, None, None] * 2 - 1)
    np.testing.assert_allclose(state["main.1.running_mean"], x.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
