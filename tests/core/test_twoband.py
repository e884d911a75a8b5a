"""Two-band fills: celeba128's detail over celeba64's low band (core/engines/gan/twoband.py)."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.twoband import BAND_SIGMA, base_fills, low_band_model, two_band
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, fill_batch, plan
from tests.tiny import tiny_model


def _pattern(size: int = 64, seed: int = 0, level: float = 128, spread: float = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(level + spread * rng.standard_normal((size, size, 3)), 0, 255).astype(np.float32)


def _high(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x - gaussian_filter(x, (BAND_SIGMA, BAND_SIGMA, 0), mode="nearest")


def test_two_band_keeps_the_bases_level_and_the_details_texture():
    detail = _pattern()
    assert np.array_equal(two_band(detail, detail), np.rint(detail).astype(np.uint8))  # one fill: itself
    detail = _pattern(level=170, spread=20)
    flat = np.full_like(detail, 90.0)  # a base with no detail of its own, darker than the detail
    out = two_band(detail, flat).astype(np.float64)
    assert abs(out.mean() - 90.0) < 1.0 and abs(detail.mean() - 90.0) > 70  # the base's level ...
    corr = np.corrcoef(_high(out).ravel(), _high(detail).ravel())[0, 1]
    assert corr > 0.99  # ... the detail's texture
    blurred = gaussian_filter(detail, (4, 4, 0))  # an enlarged-looking base: its texture is gone
    assert np.abs(_high(two_band(detail, blurred))).mean() > 3 * np.abs(_high(blurred)).mean()
    with pytest.raises(ValueError, match="both be"):
        two_band(detail, detail[:32])


def test_sharpen_steepens_the_bases_edges_and_leaves_flat_parts_and_the_finest_detail():
    x = np.arange(64, dtype=np.float32)
    edge = 80 + 100 / (1 + np.exp(-(x - 32) / 2.5))  # a soft vertical edge, as an unsure network paints it
    base = np.repeat(np.repeat(edge[None, :, None], 64, 0), 3, 2)  # (64, 64, 3)
    checker = 128 + 6 * ((np.indices((64, 64)).sum(0) % 2) * 2 - 1)[..., None].repeat(3, 2).astype(np.float32)
    plain = two_band(checker, base).astype(np.float64)
    sharp = two_band(checker, base, sharpen=1.5).astype(np.float64)
    assert np.array_equal(two_band(checker, base, sharpen=0.0), plain)  # 0: the fill as before
    step = np.abs(np.diff(sharp.mean((0, 2)))).max(), np.abs(np.diff(plain.mean((0, 2)))).max()
    assert step[0] > 1.15 * step[1]  # the edge is steeper (11 against 9 grey levels a pixel) ...
    far = np.r_[0:10, 54:64]
    assert np.abs(sharp[:, far] - plain[:, far]).max() <= 1  # ... flat parts keep their level ...
    texture = _high(sharp)[8:56, 8:56].std(), _high(plain)[8:56, 8:56].std()
    assert abs(texture[0] - texture[1]) < 0.1 * texture[1]  # ... the checkerboard its contrast


def test_the_checkerboard_comes_out_of_the_detail_and_the_rest_stays():
    rng = np.random.default_rng(3)
    face_like = gaussian_filter(rng.normal(0, 40, (64, 64, 3)), (1.2, 1.2, 0))  # detail at many scales
    yy, xx = np.indices((64, 64))
    grid = (6.0 * np.cos(np.pi * (yy + xx)) + 4.0 * np.cos(np.pi * yy / 2))[..., None]  # periods 2 and 4
    detail = (128 + face_like + grid).astype(np.float32)
    flat = np.full_like(detail, 128.0)
    kept = _high(two_band(detail, flat)).astype(np.float64)
    clean = _high(two_band(detail, flat, remove_checkerboard=True)).astype(np.float64)
    truth = _high(128 + face_like)  # the detail without the grid

    def grid_power(x):
        spectrum = np.abs(np.fft.fft2(x[8:56, 8:56].mean(2))) ** 2  # 48 px: both periods on the bins
        return spectrum[24, 24] + spectrum[12, 0] + spectrum[36, 0]

    assert grid_power(clean) < 0.05 * grid_power(kept)  # the pattern is gone ...
    inner = (slice(8, 56), slice(8, 56))
    assert np.abs(clean - truth)[inner].mean() < 0.3 * np.abs(kept - truth)[inner].mean()  # ... the rest kept
    assert np.array_equal(two_band(detail, flat, remove_checkerboard=False), two_band(detail, flat))


def test_the_low_band_model_only_for_a_128_model_with_celeba64_installed():
    auto, off = SearchSettings(), SearchSettings(low_band="off")
    assert low_band_model(auto, 128, lambda name: True) == "celeba64"
    assert low_band_model(auto, 128, lambda name: False) is None  # not installed: the model alone
    assert low_band_model(auto, 64, lambda name: True) is None  # nothing below 64
    assert low_band_model(off, 128, lambda name: True) is None


@pytest.fixture
def two_models(tmp_path, monkeypatch):
    """An engine that sees tiny 'celeba64' and 'celeba128' models as the installed ones."""
    from inpaint_gui.core.engines.gan import weights
    from inpaint_gui.core.engines.gan.weights import WEIGHTS_ENV, save_model

    for name, res in (("celeba64", 64), ("celeba128", 128)):
        m = tiny_model(resolution=res, nz=8, width=4)
        save_model(tmp_path / name, m.generator, m.discriminator, {"name": name})
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    monkeypatch.setattr(weights, "weights_dirs", lambda: [tmp_path])
    return FaceEngine()


def _problem():
    rng = np.random.default_rng(1)
    image = np.clip(gaussian_filter(rng.integers(0, 256, (200, 200, 3)).astype(float), (3, 3, 0)) * 2 - 128, 0, 255)
    image = image.astype(np.uint8)
    mask = np.zeros(image.shape[:2], bool)
    mask[75:125, 72:130] = True  # a window of 96 px or more: celeba128
    return image, mask


def _settings(low_band: str = "auto") -> InpaintSettings:
    face = SearchSettings(framing="fixed", iterations=6, restarts=2, low_band=low_band)
    return InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": face})


def _steps(engine, low_band: str, cancel_at_low_band: bool = False):
    image, mask = _problem()
    settings = _settings(low_band)
    (region,) = plan(image, mask, settings, Engines(face=engine))
    cancel = threading.Event()
    steps = []
    for step in engine.run(image, mask, region, settings.of("face"), settings.common, cancel):
        steps.append(step)
        if cancel_at_low_band and step.stage.startswith("low band"):
            cancel.set()
    return region, steps


def test_a_128_window_is_filled_with_celeba64s_low_band_and_says_so(two_models):
    region, steps = _steps(two_models, "auto")
    assert region.plan.model == "celeba128" and region.plan.low_band == "celeba64"
    assert "celeba128 over celeba64" in region.label
    assert any(s.stage == "low band: celeba64" and not s.done for s in steps)
    final = steps[-1]
    assert final.done and not final.cancelled and final.info["low_band"] == "celeba64"
    assert final.elapsed > steps[-2].elapsed  # the run's seconds include the low band's search
    _, alone = _steps(two_models, "off")
    assert "low_band" not in alone[-1].info
    image, mask = _problem()
    face = replace(_settings().of("face"), seed=0, device="cpu")  # what the engine searches with
    (base,) = base_fills(two_models.model("celeba64"), [(image, mask, region.plan.window)], 128, face)
    for fused, own in zip(final.candidates, alone[-1].candidates):
        assert fused.payload[0] == own.payload[0] == region.plan.window
        composed = two_band(own.payload[1], base, remove_checkerboard=True)  # the default: no checkerboard
        assert np.array_equal(fused.payload[1], composed)  # celeba128's detail, 64's level
        assert not np.array_equal(fused.payload[1], own.payload[1])
        assert np.array_equal(fused.thumbnail, fused.payload[1])


def test_cancelled_in_the_low_band_the_fill_is_celeba128s_alone(two_models):
    _, steps = _steps(two_models, "auto", cancel_at_low_band=True)
    _, alone = _steps(two_models, "off")
    final = steps[-1]
    assert final.done and final.cancelled and "low_band" not in final.info
    assert all(np.array_equal(a.payload[1], b.payload[1]) for a, b in zip(final.candidates, alone[-1].candidates))


def test_evaluations_batched_fill_is_the_same_two_band_fill(two_models):
    image, mask = _problem()
    (region,) = plan(image, mask, _settings(), Engines(face=two_models))
    final = list(two_models.run(image, mask, region, _settings().of("face"), _settings().common))[-1]
    fills, _ = fill_batch(image[None], mask[None], _settings(), Engines(face=two_models))
    expected = two_models.finish(image, region, final.candidates[final.best])
    assert fills[0].rect == expected.rect and np.allclose(fills[0].pixels, expected.pixels)
    off = replace(_settings(), engines={"face": replace(_settings().of("face"), low_band="off")})
    assert not np.allclose(
        fill_batch(image[None], mask[None], off, Engines(face=two_models))[0][0].pixels, expected.pixels
    )
