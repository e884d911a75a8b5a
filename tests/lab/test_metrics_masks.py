import numpy as np
import pytest

from inpaint_gui.lab.masks import MASK_KINDS, center_mask, make_mask
from inpaint_gui.lab.metrics import all_metrics, l1_percent, psnr, ssim


def test_identical_images():
    a = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype(np.uint8)
    m = all_metrics(a, a, center_mask(32))
    assert m["l1"] == 0 and m["psnr"] == float("inf") and m["ssim"] == pytest.approx(1.0)
    assert m["ssim_hole"] == pytest.approx(1.0)


def test_known_mse_and_l1():
    a = np.full((10, 10, 3), 100, np.uint8)
    b = a.copy()
    b[:5] = 110  # half the pixels off by 10: MSE 50, mean |diff| 5
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 50))
    assert l1_percent(a, b) == pytest.approx(100 * 5 / 255)
    hole = np.zeros((10, 10), bool)
    hole[:5] = True
    assert psnr(a, b, hole) == pytest.approx(10 * np.log10(255**2 / 100))
    assert l1_percent(a, b, ~hole) == 0


def test_ssim_agrees_with_reference_values():
    """Reference values computed once with scikit-image 0.26 (structural_similarity with
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (24, 20, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.normal(0, 20, a.shape), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:24, :20]
    g1 = ((xx * 7 + yy * 3) % 256).astype(np.uint8)
    g2 = np.clip(g1.astype(int) + (xx > 10) * 30, 0, 255).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(0.9624631913123946, abs=1e-3)
    assert ssim(g1, g2) == pytest.approx(0.8757466103137335, abs=1e-3)


def test_ssim_orders_degradations():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)
    small = np.clip(a + rng.normal(0, 5, a.shape), 0, 255).astype(np.uint8)
    large = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    assert 1 > ssim(a, small) > ssim(a, large) > 0


def test_mask_areas():
    assert center_mask(64).sum() == 32 * 32
    r = [make_mask("random80", 64, 0, i).mean() for i in range(20)]
    assert 0.78 < np.mean(r) < 0.82
    for i in range(50):
        area = make_mask("regular", 64, 0, i).mean()
        assert 0.08 <= area <= 0.42  # 10-40% up to rounding of the sides
        m = make_mask("regular", 64, 0, i)
        ys, xs = np.nonzero(m)
        assert m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].all()  # one rectangle


def test_masks_are_deterministic_per_image(tmp_path):
    from PIL import Image

    for k in range(3):
        arr = np.zeros((512, 512), np.uint8)
        arr[100 * k : 100 * k + 150, 50:300] = 255
        Image.fromarray(arr).save(tmp_path / f"{k:05d}.png")
    files = sorted(tmp_path.glob("*.png"))
    for kind in MASK_KINDS:
        a = make_mask(kind, 64, 3, 7, files)
        b = make_mask(kind, 64, 3, 7, files)
        assert a.dtype == bool and a.shape == (64, 64) and np.array_equal(a, b)
    assert not np.array_equal(make_mask("random80", 64, 3, 7), make_mask("random80", 64, 3, 8))
    assert not np.array_equal(make_mask("random80", 64, 3, 7), make_mask("random80", 64, 4, 7))
    irregular = make_mask("irregular", 64, 0, 0, files)
    assert 0.1 < irregular.mean() < 0.3  # a nearest-neighbour resize keeps the hole's share
    with pytest.raises(ValueError):
        make_mask("irregular", 64, 0, 0, None)
    with pytest.raises(ValueError):
        make_mask("nosuch", 64, 0, 0)


def test_sharpness_is_one_for_the_truth_and_lower_for_a_blur():
    from scipy.ndimage import gaussian_filter

    from inpaint_gui.lab.metrics import sharpness

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    assert sharpness(truth, truth, hole) == pytest.approx(1.0)
    blurred = np.stack([gaussian_filter(truth[..., c].astype(float), 2) for c in range(3)], -1).round().astype(np.uint8)
    assert sharpness(blurred, truth, hole) < 0.5
    flat = np.full_like(truth, 100)
    assert np.isnan(sharpness(truth, flat, hole))  # nothing to compare against


def test_parts_masks_are_36_of_128_inside_the_central_48():
    from inpaint_gui.lab.masks import make_mask

    for i in range(20):
        m = make_mask("parts", 128, 0, i)
        ys, xs = np.nonzero(m)
        assert m.sum() == 36 * 36
        cy, cx = (ys.min() + ys.max() + 1) / 2, (xs.min() + xs.max() + 1) / 2
        assert 40 - 1 <= cy <= 88 + 1 and 40 - 1 <= cx <= 88 + 1
    assert np.array_equal(make_mask("parts", 128, 0, 3), make_mask("parts", 128, 0, 3))
