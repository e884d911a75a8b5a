"""PGGAN as an engine (``--engine pggan``), with a tiny untrained network at the engine's 128."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inpaint_gui.core.engines import Engines, engine_class
from inpaint_gui.core.engines.feedforward import pggan
from inpaint_gui.core.errors import MaskError, WeightsError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, inpaint, plan
from inpaint_gui.lab.dataset import ImageSet
from inpaint_gui.lab.train_ff import FFSettings, FFTrainer
from tests.core.test_ce_engine import photo


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    images = np.stack([photo(128, 128, seed) for seed in range(4)])
    config = pggan.PGGANConfig(resolution=128, ngf=4, n_blocks=2, ndf=4)
    t = FFTrainer("pggan", config, ImageSet(images, 0, None, None), FFSettings(batch=2, epochs=1), torch.device("cpu"))
    torch.manual_seed(0)
    with torch.no_grad():  # untrained, the network paints flat grey: random weights paint structure
        for p in t.generator.parameters():
            p.normal_(0, 0.3)
    return t.export(tmp_path_factory.mktemp("w") / "pg")


def settings(folder, mirrored=True, **common):
    return InpaintSettings(
        CommonSettings(engine="pggan", device="cpu", **common),
        {"pggan": engine_class("pggan").info.settings(model=str(folder), mirrored=mirrored)},
    )


def test_pggan_fills_any_hole_of_its_window_with_a_mirrored_candidate(folder):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[30:120, 40:60] = True  # taller than the Context Encoder's block would allow in its window
    mask[70:80, 60:110] = True
    result = inpaint(image, mask, settings(folder), Engines())
    (r,) = result.regions
    labels = [c.label for c in r.final.candidates]
    assert r.region.engine == "pggan" and labels == ["averaged with its mirror", "one pass", "mirrored"]
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert not np.array_equal(result.image[mask], image[mask])
    averaged, one, mirrored = (c.payload[1] for c in r.final.candidates)
    assert not np.allclose(one, mirrored)  # the mirrored pass is another fill, flipped back
    np.testing.assert_allclose(averaged, (one + mirrored) / 2, atol=1e-4)
    assert r.final.best == 0 and np.isnan(r.final.candidates[0].loss)
    (alone,) = inpaint(image, mask, settings(folder, mirrored=False), Engines()).regions
    assert [c.label for c in alone.final.candidates] == ["one pass"]
    np.testing.assert_allclose(alone.final.candidates[0].payload[1], one, atol=1e-3)


def test_an_all_hole_window_and_the_wrong_architecture_are_one_line(folder):
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[20:100, 20:100] = True
    with pytest.raises(MaskError, match="nothing to condition on") as info:
        plan(image, mask, settings(folder), Engines(), window=(30, 30, 60))
    assert "\n" not in str(info.value)
    wrong = InpaintSettings(
        CommonSettings(engine="pggan"), {"pggan": engine_class("pggan").info.settings(model="ce128")}
    )
    with pytest.raises(WeightsError) as info:
        plan(image, mask, wrong, Engines())
    assert "\n" not in str(info.value) and "ce" in str(info.value)


def test_the_engine_declares_what_it_can_do():
    info = engine_class("pggan").info
    assert info.models and info.placed_window and not info.uses_exclude and info.auto is None
    assert "mirrored" in info.settings.__dataclass_fields__
    assert engine_class("pggan").models() == ["pggan128", "pggan64"]
    assert "pggan128" not in engine_class("face").models()


def test_the_shipped_pggan_fills_the_sample_in_the_face_framing():
    from pathlib import Path

    from inpaint_gui.core.image.io import load_mask, load_photo

    resources = Path(__file__).resolve().parents[2] / "resources"
    image = load_photo(resources / "astronaut.png").image
    mask = load_mask(resources / "astronaut_mask.png", image.shape[:2])
    result = inpaint(image, mask, InpaintSettings(CommonSettings(engine="pggan", device="cpu")), Engines())
    (r,) = result.regions
    assert r.final.info["model"] == "pggan128" and len(r.final.candidates) == 3
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert np.abs(result.image[mask].astype(int) - image[mask].astype(int)).mean() > 5  # filled


def test_eval_scores_what_the_engine_offers_first(folder):
    """eval's pggan method: the average of the pass and its mirror's, as --engine pggan's first
    candidate (and one pass with --no-mirrored)."""
    from inpaint_gui.core.engines.feedforward.fill import predict_mirrored, predict_windows
    from inpaint_gui.core.engines.feedforward.weights import load_net
    from inpaint_gui.lab.evaluate import feedforward_outputs

    net = load_net(folder, arch="pggan", resolution=128)
    images = np.stack([photo(128, 128, seed) for seed in (5, 6)])
    masks = np.zeros(images.shape[:3], bool)
    masks[:, 40:90, 30:70] = True
    one, mirrored = predict_mirrored(net, images, masks)
    np.testing.assert_allclose(one, predict_windows(net, images, masks), atol=1e-4)
    paste = feedforward_outputs(net, images, masks, "paste", mirrored=True)
    np.testing.assert_array_equal(paste[masks], np.rint((one + mirrored) / 2)[masks].astype(np.uint8))
    assert not np.array_equal(paste, feedforward_outputs(net, images, masks, "paste"))


def test_a_network_trained_at_64_fills_through_the_same_engine(tmp_path):
    g, d = pggan.build(pggan.PGGANConfig(resolution=64, ngf=4, n_blocks=2, ndf=4), seed=1)
    with torch.no_grad():
        for p in g.parameters():
            p.normal_(0, 0.3)
    from inpaint_gui.core.engines.feedforward.weights import save_net

    small = save_net(tmp_path / "p64", "pggan", g, d, {"name": "p64", "licence": "test"})
    image = photo()
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:90] = True
    result = inpaint(image, mask, settings(small), Engines())
    (r,) = result.regions
    pixels = r.final.candidates[0].payload[1]
    assert r.region.label.startswith("p64 ") and pixels.shape == (64, 64, 3)  # the window resized to 64
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert not np.array_equal(result.image[mask], image[mask])
    # eval scores it on 128 px faces the same way: each face resized to 64, the fill enlarged
    from inpaint_gui.core.engines.base import Fill
    from inpaint_gui.core.engines.feedforward.fill import predict_windows, window_input
    from inpaint_gui.core.engines.feedforward.weights import load_net
    from inpaint_gui.core.engines.gan.resample import from_model
    from inpaint_gui.core.pipeline import apply_patch, seat
    from inpaint_gui.lab.evaluate import feedforward_outputs

    net = load_net(small)
    faces = np.stack([photo(128, 128, seed) for seed in (5, 6)])
    holes = np.zeros(faces.shape[:3], bool)
    holes[:, 40:90, 30:70] = True
    got = feedforward_outputs(net, faces, holes, "poisson")
    for face, hole, out in zip(faces, holes, got):
        few, missing = window_input(face, hole, (0, 0, 128), 64)
        fill = from_model(predict_windows(net, few[None], missing[None])[0], 128)
        want = apply_patch(face, seat(face, hole, (0, 0), Fill((0, 0, 128, 128), fill)))
        diff = np.abs(out.astype(int) - want)  # a batched pass rounds a grey level apart at most
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3 and np.array_equal(out[~hole], face[~hole])
