import threading

import numpy as np
import pytest
import torch

from inpaint_gui.core.engines.gan.search import (
    importance_weights,
    latent_search,
    tensor_to_images,
)
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.errors import DeviceError, MaskError
from tests.tiny import run_search, tiny_model


def psnr(a, b, where):
    err = np.mean((a[where].astype(np.float64) - b[where].astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(err, 1e-12))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine a second thread that
    must wait for a busy core makes every operation wait (measured: 5-30x slower searches)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


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
    settings = SearchSettings(
        iterations=200, restarts=4, lr=0.05, weighting=weighting, device="cpu", preview_every=20, stop_patience=0
    )  # every planned iteration
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
    gen = latent_search(
        model, target, centre_hole(), SearchSettings(iterations=10_000, restarts=1, device="cpu", preview_every=1)
    )
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
    from inpaint_gui.core.engines.gan.search import search_batch

    batch = search_batch(model, np.stack([target, other]), masks, s)
    single = run_search(model, target, masks[0], s)
    assert batch.fills.shape == (2, 2, 32, 32, 3) and batch.iterations == 25
    np.testing.assert_allclose(batch.total[0], single.total, rtol=1e-3)
    assert np.abs(batch.fills[0].astype(int) - single.previews.astype(int)).max() <= 2
    assert np.array_equal(batch.best, batch.total.argmin(1))


# --- speed and time-to-result options ---------------------------------------------------------


def _with_bn_statistics(model, seed=1):
    """A copy of ``model`` whose BatchNorm layers have non-trivial running statistics and affine
    parameters, so folding them is really exercised."""
    import copy

    from tests.tiny import model_from_modules

    g, d = copy.deepcopy(model.generator), copy.deepcopy(model.discriminator)
    gen = torch.Generator().manual_seed(seed)
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
    return model_from_modules(g, d, name="bn")


def test_folded_networks_match_the_model(model):
    from inpaint_gui.core.engines.gan.nets import search_nets

    m = _with_bn_statistics(model)
    z = torch.rand(5, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    nets = search_nets(m.generator, m.discriminator, torch.device("cpu"), fuse=True)
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in nets.g.modules())
    with torch.no_grad():
        fake_ref, fake = m.generator(z), nets.generate(z)
        assert fake.is_contiguous(memory_format=torch.channels_last)
        np.testing.assert_allclose(fake.numpy(), fake_ref.numpy(), atol=1e-5)
        np.testing.assert_allclose(nets.discriminate(fake_ref).numpy(), m.discriminator(fake_ref).numpy(), atol=1e-4)
    # cached while the weights stay; rebuilt when they change in place
    assert search_nets(m.generator, m.discriminator, torch.device("cpu"), fuse=True) is nets
    with torch.no_grad():
        m.generator.main[0].weight.mul_(0.5)
    again = search_nets(m.generator, m.discriminator, torch.device("cpu"), fuse=True)
    assert again is not nets
    with torch.no_grad():
        np.testing.assert_allclose(again.generate(z).numpy(), m.generator(z).numpy(), atol=1e-5)


def _textbook_search(m, image, mask, s, iterations):
    """The search written plainly with torch's Adam (and its cosine scheduler) on the model's own
    networks: the independent reference for the fused path and the hand-written Adam."""
    from inpaint_gui.core.engines.gan.search import context_weights

    gen = torch.Generator().manual_seed(s.seed)
    z = (torch.rand(s.restarts, 16, generator=gen) * 2 - 1).requires_grad_(True)
    target = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    w = torch.from_numpy(context_weights(mask, s.weighting, s.weight_window))[None, None]
    opt = torch.optim.Adam([z], lr=s.lr, betas=(s.beta1, 0.999))
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s.iterations - 1, eta_min=s.lr * s.lr_final)
        if s.lr_schedule == "cosine"
        else None
    )
    for _ in range(iterations):
        fake = m.generator(z)
        total = (w * (fake - target)).abs().flatten(1).sum(1) - s.lam * torch.nn.functional.softplus(
            m.discriminator(fake)
        )
        opt.zero_grad()
        total.sum().backward()
        opt.step()
        if sched is not None:
            sched.step()
        with torch.no_grad():
            z.clamp_(-1, 1)
    return z.detach()


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_fused_search_follows_the_textbook_adam(model, target, schedule, monkeypatch):
    import inpaint_gui.core.engines.gan.search as search_mod

    monkeypatch.setattr(search_mod, "SCHEDULE_BLOCK", 7)  # cross several schedule blocks
    m = _with_bn_statistics(model)
    s = SearchSettings(
        iterations=30, restarts=3, lr=0.03, lr_schedule=schedule, lr_final=0.2, device="cpu", seed=2, init_samples=1
    )
    search = search_mod.Search(m, target[None], centre_hole()[None], s)
    while not search.finished:
        search.step()
    ref = _textbook_search(m, target, centre_hole(), s, 30)
    np.testing.assert_allclose(search._z.numpy(), ref.numpy(), atol=2e-4)
    if schedule == "cosine":  # and the schedule is really not constant
        const = _textbook_search(
            m, target, centre_hole(), SearchSettings(**{**s.__dict__, "lr_schedule": "constant"}), 30
        )
        assert np.abs(const.numpy() - ref.numpy()).max() > 1e-3


def test_unfused_path_gives_the_same_search(model, target):
    s = SearchSettings(iterations=20, restarts=2, device="cpu", lr=0.05)
    a = run_search(model, target, centre_hole(), s)
    b = run_search(model, target, centre_hole(), SearchSettings(**{**s.__dict__, "fuse": False}))
    np.testing.assert_allclose(a.latents, b.latents, atol=1e-4)
    np.testing.assert_allclose(a.total, b.total, rtol=1e-4)


def _total_of(model, image, mask, z, lam=0.003):
    """Independent loss of latents z (N, nz) with importance weights, on the model's networks."""
    from inpaint_gui.core.engines.gan.search import importance_weights

    w = torch.from_numpy(importance_weights(mask))[None, None]
    y = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        fake = model.generator(z)
        return (
            (w * (fake - y)).abs().flatten(1).sum(1) - lam * torch.nn.functional.softplus(model.discriminator(fake))
        ).numpy()


def test_init_samples_keep_the_lowest_loss_draws(model, target):
    mask = centre_hole()
    one = run_search(
        model, target, mask, SearchSettings(iterations=0, restarts=3, init_samples=1, device="cpu", seed=7)
    )
    draws = torch.rand(3, 16, generator=torch.Generator().manual_seed(7)) * 2 - 1
    np.testing.assert_array_equal(one.latents, draws.numpy())  # init_samples=1: the plain draws, in order
    best = run_search(
        model, target, mask, SearchSettings(iterations=0, restarts=3, init_samples=8, device="cpu", seed=7)
    )
    draws = torch.rand(24, 16, generator=torch.Generator().manual_seed(7)) * 2 - 1
    losses = _total_of(model, target, mask, draws)
    expected = draws.numpy()[np.argsort(losses)[:3]]
    np.testing.assert_allclose(best.latents, expected, atol=1e-6)
    assert best.total.max() <= np.sort(losses)[2] + 1e-3 and best.total.sum() < one.total.sum()


def test_init_samples_in_a_batch_match_single_searches(model, target):
    from inpaint_gui.core.engines.gan.search import search_batch

    other = np.ascontiguousarray(target[:, ::-1])
    masks = np.stack([centre_hole(), centre_hole(32, 4, 20)])
    s = SearchSettings(iterations=0, restarts=2, init_samples=300, device="cpu", seed=1)  # > INIT_CHUNK rows
    batch = search_batch(model, np.stack([target, other]), masks, s)
    single = run_search(model, target, masks[0], s)
    np.testing.assert_allclose(batch.total[0], single.total, rtol=1e-5)


def test_early_stopping_follows_the_rule(model, target):
    """The stop iteration equals the one the rule predicts from the full run's loss history."""
    mask = centre_hole()
    base = dict(iterations=200, restarts=2, device="cpu", lr=0.02, seed=3)
    full = list(
        latent_search(
            model, target, mask, SearchSettings(**base, preview_every=1, preview_seconds=1e9, stop_patience=0)
        )
    )
    best = np.minimum.accumulate(np.array([s.total.min() for s in full[:-1]]))  # best so far, per iteration
    patience, tol = 15, 0.01
    ref, since, expected = np.inf, 0, None
    for i, b in enumerate(best, start=1):
        if b < ref - tol * abs(ref) or np.isinf(ref):
            ref, since = b, 0
        else:
            since += 1
        if since >= patience:
            expected = i
            break
    assert expected is not None and expected < 200
    stopped = run_search(model, target, mask, SearchSettings(**base, stop_patience=patience, stop_tolerance=tol))
    assert stopped.done and stopped.stopped_early and not stopped.cancelled
    assert stopped.iteration == expected
    assert stopped.total.min() == pytest.approx(best[expected - 1], rel=1e-5)
    assert not full[-1].stopped_early and full[-1].iteration == 200


def test_batch_stops_each_image_on_its_own(model, target):
    from inpaint_gui.core.engines.gan.search import search_batch

    flat = np.full_like(target, 128)
    masks = np.stack([centre_hole(), centre_hole(32, 4, 20), centre_hole(32, 10, 30)])
    s = SearchSettings(iterations=150, restarts=2, device="cpu", lr=0.02, stop_patience=10, stop_tolerance=0.01)
    batch = search_batch(model, np.stack([target, np.ascontiguousarray(target[::-1]), flat]), masks, s)
    assert batch.iterations == batch.iterations_run.max() and batch.stopped_early.any()
    assert len(set(batch.iterations_run.tolist())) > 1  # the images stopped at different iterations
    single = run_search(model, target, masks[0], s)  # image 0 starts as a single search would
    assert batch.iterations_run[0] == single.iteration and batch.stopped_early[0] == single.stopped_early
    np.testing.assert_allclose(batch.total[0], single.total, rtol=1e-3)
    other = search_batch(model, np.stack([target, flat, flat]), masks, s)  # other companions, same image 0
    assert other.iterations_run[0] == batch.iterations_run[0]
    np.testing.assert_allclose(other.total[0], batch.total[0], rtol=1e-3)


def test_retired_images_kept_in_a_fixed_batch_give_the_same_result(model, target):
    """With a fixed batch shape (what compiled networks need) retired images run on unrecorded."""
    from inpaint_gui.core.engines.gan.search import Search

    images = np.stack([target, np.ascontiguousarray(target[::-1])])
    masks = np.stack([centre_hole(), centre_hole(32, 4, 20)])
    s = SearchSettings(iterations=120, restarts=2, device="cpu", lr=0.02, stop_patience=10, stop_tolerance=0.01)
    results = []
    for compact in (True, False):
        search = Search(model, images, masks, s)
        if not compact:
            search.settings = replace_settings(s, compile=True)  # the flag that keeps the batch whole
        while not search.finished:
            search.step()
        results.append((search.iterations_run.copy(), search.final()[3].numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-4)


def test_compiled_path_is_wired_like_the_eager_one(model, target, monkeypatch):
    """compile=True: the step runs the compiled modules, one-off shapes (the initial draws, the
    final evaluation) the eager ones, and the batch keeps its shape. torch.compile itself is
    replaced by a recorder here (compiling takes tens of seconds)."""
    import weakref

    from inpaint_gui.core.engines.gan import nets
    from inpaint_gui.core.engines.gan.search import search_batch

    compiled, calls = [], []

    class Recorder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            calls.append(len(x))
            return self.inner(x)

    monkeypatch.setattr(torch, "compile", lambda m, **kw: compiled.append(kw) or Recorder(m))
    monkeypatch.setattr(nets, "_cache", weakref.WeakKeyDictionary())  # no nets from other tests, none left
    images = np.stack([target, np.ascontiguousarray(target[::-1])])
    masks = np.stack([centre_hole(), centre_hole(32, 4, 20)])
    s = SearchSettings(
        iterations=60, restarts=2, device="cpu", lr=0.02, init_samples=3, stop_patience=10, stop_tolerance=0.01
    )
    eager = search_batch(model, images, masks, s)
    comp = search_batch(model, images, masks, replace_settings(s, compile=True))
    assert len(compiled) == 2 and all(kw.get("dynamic") is False for kw in compiled)
    assert set(calls) == {4}  # only the full batch (2 images x 2 restarts) ever reached the compiled nets
    np.testing.assert_array_equal(comp.iterations_run, eager.iterations_run)
    np.testing.assert_allclose(comp.total, eager.total, rtol=1e-4)


def replace_settings(s, **kw):
    import dataclasses

    return dataclasses.replace(s, **kw)


def test_lambda_zero_never_runs_the_search_discriminator(model, target, monkeypatch):
    from inpaint_gui.core.engines.gan.nets import SearchNets

    calls = []
    original = SearchNets.discriminate
    monkeypatch.setattr(
        SearchNets, "discriminate", lambda self, x, eager=False: calls.append(1) or original(self, x, eager)
    )
    run_search(
        model, target, centre_hole(), SearchSettings(iterations=3, restarts=2, lam=0.0, device="cpu", init_samples=4)
    )
    assert calls == []
    run_search(model, target, centre_hole(), SearchSettings(iterations=3, restarts=2, device="cpu"))
    assert calls  # and it does run when lam > 0


def test_bfloat16_search_still_recovers_the_latent(model, target):
    mask = centre_hole()
    s = SearchSettings(iterations=200, restarts=4, lr=0.05, device="cpu", precision="bfloat16")
    last = run_search(model, target, mask, s)
    assert psnr(last.previews[last.best], target, mask) > 25


def test_new_settings_are_validated(model, target):
    for bad in (
        {"init_samples": 0},
        {"lr_schedule": "step"},
        {"lr_final": 0.0},
        {"stop_patience": -1},
        {"precision": "fp8"},
    ):
        with pytest.raises(ValueError):
            next(latent_search(model, target, centre_hole(), SearchSettings(device="cpu", **bad)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["float32", "tf32", "bfloat16"])
def test_cuda_graph_matches_eager_steps(model, target, precision):
    from inpaint_gui.core.engines.gan.search import search_batch

    images = np.stack([target, np.ascontiguousarray(target[::-1])])
    masks = np.stack([centre_hole(), centre_hole(32, 4, 20)])
    s = SearchSettings(
        iterations=80, restarts=4, lr=0.05, device="cuda", precision=precision, stop_patience=10, stop_tolerance=0.01
    )
    graph = search_batch(model, images, masks, s)
    eager = search_batch(model, images, masks, SearchSettings(**{**s.__dict__, "cuda_graph": False}))
    model.to(torch.device("cpu"))
    np.testing.assert_array_equal(graph.iterations_run, eager.iterations_run)
    tol = 1e-4 if precision == "float32" else 2e-2
    np.testing.assert_allclose(graph.total, eager.total, rtol=tol)


def test_a_search_too_large_for_memory_is_refused_before_it_starts(monkeypatch):
    from inpaint_gui.core.engines.gan import memory as search_mod
    from inpaint_gui.core.settings import SettingsError

    model = tiny_model()

    def need(restarts, samples):
        return search_mod.search_memory_bytes(model.config, restarts) + search_mod.init_memory_bytes(
            model.config, 1, samples * restarts
        )

    monkeypatch.setattr(search_mod, "available_memory", lambda: 2 * need(32, 1))  # room for 32 latents at half of it
    image = np.zeros((32, 32, 3), np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    plain = {"iterations": 1, "device": "cpu", "init_samples": 1}
    with pytest.raises(SettingsError, match=r"64 restarts need about .* use at most 32 restarts$"):
        run_search(model, image, mask, SearchSettings(restarts=64, **plain))
    run_search(model, image, mask, SearchSettings(restarts=32, **plain))  # fits


def test_the_starting_draws_count_towards_the_memory(monkeypatch):
    """--restarts 8 --init-samples 4096 draws 32,768 latent vectors before the search starts:
    they must fit too (the check used to count only the restarts)."""
    from inpaint_gui.core.engines.gan import memory as search_mod
    from inpaint_gui.core.settings import SettingsError

    model = tiny_model()
    search_only = search_mod.search_memory_bytes(model.config, 8)
    monkeypatch.setattr(search_mod, "available_memory", lambda: 4 * search_only)  # the search alone fits
    image = np.zeros((32, 32, 3), np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    many = SearchSettings(restarts=8, iterations=1, device="cpu", init_samples=4096)
    assert search_mod.init_memory_bytes(model.config, 1, 4096 * 8) > 2 * search_only
    with pytest.raises(SettingsError, match=r"from 4096 x 8 starting draws each\) need .* or fewer --init-samples"):
        run_search(model, image, mask, many)


def test_the_starting_draws_are_the_seeded_uniform_draws():
    """Filling the draws in place (no stacked copy) keeps them what they were: image b's block
    of the seeded U[-1, 1] stream, so a seed gives the same start as before."""
    from inpaint_gui.core.engines.gan.search import Search

    model = tiny_model()
    images = np.zeros((2, 32, 32, 3), np.uint8)
    masks = np.stack([centre_hole(), centre_hole()])
    search = Search(model, images, masks, SearchSettings(restarts=3, iterations=1, device="cpu", init_samples=1))
    got = search._initial_latents(torch.Generator(device="cpu").manual_seed(5))
    gen = torch.Generator(device="cpu").manual_seed(5)
    expected = torch.stack([torch.rand(3, model.config.nz, generator=gen) for _ in range(2)]) * 2 - 1
    assert torch.equal(got, expected.view(6, -1))


def test_compute_threads_leave_busy_cores_alone(monkeypatch):
    from inpaint_gui.core import devices

    monkeypatch.setattr(devices, "cpu_count", lambda: 8)
    monkeypatch.setattr(devices, "busy_cores", lambda sample_seconds=0.1: 0.2)
    assert devices.compute_threads(leave_for_ui=False) == 8 and devices.compute_threads(leave_for_ui=True) == 7
    monkeypatch.setattr(devices, "busy_cores", lambda sample_seconds=0.1: 5.6)
    assert devices.compute_threads(leave_for_ui=False) == 2 and devices.compute_threads(leave_for_ui=True) == 1
    monkeypatch.setattr(devices, "busy_cores", lambda sample_seconds=0.1: 12.0)  # more than we have: still one
    assert devices.compute_threads(leave_for_ui=False) == 1
    assert devices.compute_threads(leave_for_ui=False, measure=False) == 8


def test_busy_cores_reads_a_plausible_share():
    from inpaint_gui.core.devices import busy_cores

    assert 0.0 <= busy_cores(0.05) <= (__import__("os").cpu_count() or 1) + 1e-9
