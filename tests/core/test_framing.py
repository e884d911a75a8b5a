"""The framing search: candidate windows, windows past the border, successive halving."""

import numpy as np
import pytest

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.framing import (
    MARGIN,
    MAX_HOLE,
    MIN_KNOWN,
    PRIOR_KEEP,
    Problem,
    candidate_windows,
    framing_search,
)
from inpaint_gui.core.engines.gan.resample import known_small, to_model, to_model_padded
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.errors import MaskError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, fill_batch, inpaint, plan
from tests.tiny import tiny_model

FAST = SearchSettings(iterations=30, restarts=2, lr=0.05, stop_patience=0)


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=16, width=8, seed=0)


def photo(h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([xx * 1.5, yy * 2, (xx + yy)], -1) % 256
    return np.clip(base + rng.normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)


def test_candidates_hold_the_hole_with_a_margin_and_enough_context():
    mask = np.zeros((120, 160), bool)
    mask[50:70, 60:90] = True
    frames = candidate_windows(mask, (50, 70, 60, 90), base=(45, 30, 60))
    assert len(frames) > 10 and frames[0].window == (45, 30, 60)
    for f in frames:
        x, y, s = f.window
        m = MARGIN * s
        assert x + m <= 60 and y + m <= 50 and x + s - m >= 90 and y + s - m >= 70
        assert f.hole_share <= MAX_HOLE and f.known_share >= MIN_KNOWN
    assert len({f.window for f in frames}) == len(frames)


def test_candidates_may_extend_past_the_border_near_an_edge():
    mask = np.zeros((120, 160), bool)
    mask[2:22, 130:158] = True  # a hole at the top-right corner
    frames = candidate_windows(mask, (2, 22, 130, 158))
    assert any(f.window[1] < 0 or f.window[0] + f.window[2] > 160 for f in frames)


def test_a_hole_too_large_for_any_framing_is_a_clear_error():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[5:115, 5:155] = True
    settings = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": FAST})
    with pytest.raises(MaskError, match=r"too large for the face prior.*largest fillable hole is about \d+x\d+ px"):
        plan(image, mask, settings, Engines(face=FaceEngine(tiny_model())))


def test_to_model_padded_marks_pixels_beyond_the_border_as_outside():
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[10:20, 10:20] = True
    _small, hole, out = to_model_padded(image, mask, (-32, -32, 96), 32)
    assert out[:8, :].all() and out[:, :8].all()  # the first third lies beyond the border
    assert not out[12:, 12:].any() and hole.any() and not (hole & out).any()
    inside = to_model_padded(image, mask, (0, 0, 64), 32)  # inside the photo: exactly to_model
    ref = to_model(image, mask, (0, 0, 64), 32)
    assert np.array_equal(inside[0], ref[0]) and np.array_equal(inside[1], ref[1]) and not inside[2].any()


def test_known_small_is_what_to_model_padded_calls_known():
    rng = np.random.default_rng(3)
    image = photo()
    for _ in range(20):
        mask = rng.random(image.shape[:2]) < rng.choice([0.05, 0.5, 0.9])
        size = int(rng.integers(20, 200))
        window = (int(rng.integers(-size // 2, 150)), int(rng.integers(-size // 2, 110)), size)
        _small, hole, out = to_model_padded(image, mask, window, 32)
        assert np.array_equal(known_small(mask, window, 32), ~(hole | out)), window


def test_successive_halving_keeps_the_best_framings(model):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:90] = True
    frames = candidate_windows(mask, (50, 70, 60, 90))
    short = SearchSettings(iterations=60, restarts=2, lr=0.05, stop_patience=0)  # 1/5 of the budget ROUNDS are for
    steps = list(framing_search(model, [Problem(image, mask, frames)], short, rounds=(2, 2), keep=0.5, final_keep=2))
    result = steps[-1]
    assert len(result.survivors[0]) == 2
    # the survivors passed every cut; the losses of the pruned ones are finite and no better than the winner's
    cuts = int(np.ceil(np.log2(len(frames) / 2)))  # halving from len(frames) down to 2
    assert all(result.rounds[0][i] == cuts for i in result.survivors[0]) and result.rounds[0].max() == cuts
    loss = result.normalised[0] / result.detail[0]  # what the cuts and the final choice rank by
    assert np.isfinite(loss).all() and (result.detail[0] >= 0.5).all()
    assert loss[result.survivors[0][0]] <= loss.min() + 1e-9  # no pruned framing ended lower than the winner
    assert result.fills[0].shape == (2, 2, 32, 32, 3)
    assert result.iterations_run[0].max() == 60 and result.iterations_run[0].min() == 2  # rounds under MIN_ROUND kept


def test_the_face_engine_searches_framings_by_default_and_reports_them(model, monkeypatch):
    monkeypatch.setattr(FaceEngine, "framer", lambda self: None)  # the check's proposals: several framings
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:90] = True
    settings = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": FAST})
    result = inpaint(image, mask, settings, Engines(face=FaceEngine(model)))
    final = result.regions[0].final
    info = final.info
    assert 1 < len(info["framings"]) <= PRIOR_KEEP and info["chosen"] == info["window"]
    chosen = next(f for f in info["framings"] if f["window"] == info["chosen"])
    finalists = [f for f in info["framings"] if f["cuts"] == chosen["cuts"]]
    assert chosen["loss"] == pytest.approx(info["fit"]) and chosen["score"] == min(f["score"] for f in finalists)
    assert all(f["score"] == pytest.approx(f["loss"] / f["detail"]) for f in info["framings"])
    *searched, network = final.candidates  # the search's, then the feed-forward network's (network.py)
    assert all(c.label.startswith("framing ") for c in searched) and network.label == "ce128+pggan128 · one pass"
    assert np.array_equal(result.image[~mask], image[~mask]) and not np.array_equal(result.image[mask], image[mask])


def test_fixed_framing_and_a_placed_window_search_one_window(model):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:90] = True
    engines = Engines(face=FaceEngine(model))
    fixed = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": SearchSettings(framing="fixed")})
    (region,) = plan(image, mask, fixed, engines)
    assert region.plan.framings == () and region.rect[2] - region.rect[0] == region.plan.window[2]
    auto = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": SearchSettings()})
    (placed,) = plan(image, mask, auto, engines, window=(40, 30, 70))
    assert placed.plan.framings == () and placed.plan.window == (40, 30, 70)


def test_a_framing_past_the_border_fills_only_inside_the_photo(model):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[2:22, 130:158] = True
    settings = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": FAST})
    result = inpaint(image, mask, settings, Engines(face=FaceEngine(model)))
    assert result.image.shape == image.shape
    assert np.array_equal(result.image[~mask], image[~mask]) and not np.array_equal(result.image[mask], image[mask])


def test_auto_model_choice_by_window_size(tmp_path, monkeypatch):
    from inpaint_gui.core.engines.gan.weights import WEIGHTS_ENV, save_model

    for name, res in (("celeba64", 64), ("celeba128", 128)):
        m = tiny_model(resolution=res, nz=8, width=4)
        save_model(tmp_path / name, m.generator, m.discriminator, {"name": name})
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    import inpaint_gui.core.engines.gan.weights as weights

    monkeypatch.setattr(weights, "weights_dirs", lambda: [tmp_path])  # only these two, not the shipped ones
    engine = FaceEngine()
    auto = SearchSettings()
    assert engine.model_for(auto, 96).name == "celeba128" and engine.model_for(auto, 95).name == "celeba64"
    assert engine.model_for(SearchSettings(model="celeba64"), 500).name == "celeba64"  # --model overrides
    image = photo(300, 300)
    mask = np.zeros(image.shape[:2], bool)
    mask[120:170, 120:180] = True
    settings = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": SearchSettings(framing="fixed")})
    (region,) = plan(image, mask, settings, Engines(face=engine))
    assert region.plan.window[2] >= 96 and region.plan.model == "celeba128"
    # eval's batched fill: images whose windows need different models share one call
    small = np.zeros(image.shape[:2], bool)
    small[140:160, 140:160] = True  # a 64 px window (the smallest the models plan): the 64 model
    fast = InpaintSettings(
        CommonSettings(device="cpu", engine="face"), {"face": SearchSettings(framing="fixed", iterations=3)}
    )
    fills, info = fill_batch(np.stack([image, image]), np.stack([mask, small]), fast, Engines(face=engine))
    assert [f.rect[2] - f.rect[0] for f in fills] == [region.plan.window[2], 64] and info["iterations_run"].min() == 3
    (tmp_path / "celeba128" / "model.json").unlink()  # not installed: the 64 model fills every window
    assert FaceEngine().model_for(auto, 500).name == "celeba64"


# -- the face check's framing prior --------------------------------------------------------------------
def test_prior_framings_are_the_checks_favourites_best_first_without_near_copies():
    from inpaint_gui.core.engines.gan.framing import Frame, overlap, prior_framings

    frames = [Frame((x, y, s), 0.1, 0.8) for s in (40, 48) for x in range(0, 40, 4) for y in range(0, 40, 4)]
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=len(frames))
    picked = prior_framings(frames, logits, keep=6, margin=5.0, max_overlap=0.5)
    ranks = {f.window: float(logits[i]) for i, f in enumerate(frames)}
    windows = [f.window for f in picked]
    assert 1 < len(windows) <= 6 and windows[0] == frames[int(np.argmax(logits))].window
    assert all(ranks[w] >= logits.max() - 5.0 for w in windows)  # within the margin of the favourite
    assert [ranks[w] for w in windows] == sorted((ranks[w] for w in windows), reverse=True)  # best first
    assert all(overlap(a, b) <= 0.5 for i, a in enumerate(windows) for b in windows[i + 1 :])
    assert len(prior_framings(frames, logits, keep=6, margin=0.0)) == 1 and prior_framings([], []) == []
    assert overlap((0, 0, 10), (0, 0, 10)) == 1.0 and overlap((0, 0, 10), (20, 20, 10)) == 0.0
    assert overlap((0, 0, 10), (5, 0, 10)) == pytest.approx(50 / 150)


def test_the_engine_searches_the_framings_the_check_ranks_highest(model, monkeypatch):
    from inpaint_gui.core.engines.gan import facecheck
    from inpaint_gui.core.engines.gan.framing import PRIOR_KEEP

    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:90] = True
    judged = []

    def logits(self, image, mask, windows, fast=False):  # a check that likes windows far to the right
        judged.extend(tuple(w) for w in windows)
        return np.array([float(w[0]) for w in windows])

    monkeypatch.setattr(facecheck.LoadedCheck, "logits", logits)
    monkeypatch.setattr(FaceEngine, "framer", lambda self: None)  # the check's proposals as they are
    settings = InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": FAST})
    (region,) = plan(image, mask, settings, Engines(face=FaceEngine(model)))
    windows = [f.window for f in region.plan.framings]
    favourite = max(judged, key=lambda w: (w[0], -judged.index(w)))  # the first window of the largest x
    assert windows[0] == favourite and len(windows) <= PRIOR_KEEP
    assert len(judged) > 3 * len(windows)  # a finer grid than the search gets
    assert len(region.plan.checked) > len(windows)  # the engine choice judges the coarse grid, as calibrated
    engine = FaceEngine(model)
    monkeypatch.setattr(FaceEngine, "face_check", lambda self, required=True: None)  # no check installed
    (coarse,) = plan(image, mask, settings, Engines(face=engine))
    assert [f.window for f in coarse.plan.framings] == list(coarse.plan.checked)


def test_a_short_search_cuts_no_framing_before_the_loss_can_rank_them(model):
    """With 50 iterations (the default) the first cut still comes after 32: on the bundled sample
    a cut after 5 (the rounds scaled to the budget) or 20 iterations dropped the better framing."""
    from inpaint_gui.core.engines.gan.framing import MIN_ROUND, ROUNDS

    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:90] = True
    frames = candidate_windows(mask, (50, 70, 60, 90))[:3]
    short = SearchSettings(iterations=50, restarts=2, lr=0.05, stop_patience=0)
    result = list(framing_search(model, [Problem(image, mask, frames)], short, final_keep=1))[-1]
    assert MIN_ROUND == ROUNDS[0] == 32
    assert sorted(result.iterations_run[0]) == [32, 32, 50] and len(result.survivors[0]) == 1
