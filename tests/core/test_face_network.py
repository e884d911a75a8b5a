"""The face engine's feed-forward companion (gan/network.py): the network's fill is the first
preview, a candidate beside the search's, and the low band under the search's detail."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.network import network_fill
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.engines.gan.twoband import BAND_SIGMA
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, fill_batch, inpaint, plan, run
from tests.core.test_framing import photo
from tests.tiny import tiny_model

FIXED = SearchSettings(iterations=20, restarts=2, lr=0.05, stop_patience=0, framing="fixed")


@pytest.fixture(scope="module")
def engines():
    return Engines(face=FaceEngine(tiny_model(resolution=32, nz=16, width=8, seed=0)))


WINDOW = (40, 28, 64)  # the hole spans 24 of 64 px: inside the Context Encoder's block at 128


def holed(h=120, w=160):
    image = photo(h, w)
    mask = np.zeros(image.shape[:2], bool)
    mask[50:70, 60:84] = True
    return image, mask


def settings(**face):
    return InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": replace(FIXED, **face)})


def test_the_network_is_the_first_preview_and_the_last_candidate(engines):
    image, mask = holed()
    (region,) = plan(image, mask, settings(), engines, window=WINDOW)
    both = "ce128+pggan128"  # "auto": the shipped networks, their fills averaged
    assert region.plan.network == both and region.plan.network_band and f" over {both} " in region.label
    steps = list(run(image, mask, region, settings(), engines))
    first = steps[0]
    assert first.iteration == 0 and not first.done and first.info["network"] == both  # before any search step
    assert first.composite is not None and first.window == region.plan.window
    final = steps[-1]
    *searched, network = final.candidates
    assert [c.label for c in searched] == ["restart 1", "restart 2"] and network.label == f"{both} · one pass"
    assert np.isnan(network.loss) and final.best < len(searched)  # the search's fill stays the default choice
    assert final.info["low_band"] == both
    assert final.info["sharpen"] == 1.5 and final.info["band_sigma"] == BAND_SIGMA  # neither network scales them


def test_the_low_band_is_the_networks_and_the_detail_the_searchs(engines):
    image, mask = holed()
    (alone,) = inpaint(image, mask, settings(low_band="off", network="none"), engines, window=WINDOW).regions
    flat = settings(low_band="network", sharpen=0.0, checkerboard="keep")  # the bands as they are
    (banded,) = inpaint(image, mask, flat, engines, window=WINDOW).regions
    assert [c.label for c in alone.final.candidates] == ["restart 1", "restart 2"]
    win, detail = alone.final.candidates[0].payload
    net_fill = network_fill(engines["face"].networks("ce128+pggan128"), image, mask, win)
    got = banded.final.candidates[0].payload[1].astype(np.float32)

    def low(x, s=BAND_SIGMA * 32 / 128):
        return gaussian_filter(np.asarray(x, np.float32), (s, s, 0), mode="nearest")

    # same seed, same search: the banded fill's detail is the search's, its low band the network's
    assert np.abs(low(got) - low(net_fill.at(32))).mean() < np.abs(low(detail) - low(net_fill.at(32))).mean() / 2
    high = got - low(got)
    assert np.abs(high - (detail - low(detail))).mean() < 2.0


def test_sharpen_adds_the_networks_own_edges_and_nothing_else(engines):
    """``sharpen`` adds the network's band between Gaussians of 0.75 and 1.5 x the split sigma
    again: the same search's fill moves by that much of the network's fill and no more."""
    image, mask = holed()
    fills = {}
    for amount in (0.0, 2.0):
        (r,) = inpaint(image, mask, settings(sharpen=amount), engines, window=WINDOW).regions
        win, fills[amount] = r.final.candidates[0].payload
    net = network_fill(engines["face"].networks("ce128+pggan128"), image, mask, win).at(32).astype(np.float32)
    sigma = BAND_SIGMA * 32 / 128

    def low(x, s):
        return gaussian_filter(np.asarray(x, np.float32), (s, s, 0), mode="nearest")

    band = low(net, 0.75 * sigma) - low(net, 1.5 * sigma)  # (32, 32, 3): where the network puts edges
    moved = fills[2.0].astype(np.float32) - fills[0.0]
    inside = (fills[2.0] > 0) & (fills[2.0] < 255) & (fills[0.0] > 0) & (fills[0.0] < 255)  # not clipped
    assert np.abs(band).max() > 3  # the network draws edges here, so the test can see them
    assert np.abs(moved - 2.0 * band)[inside].max() <= 1.0 + 1e-4  # 2x the band, to the rounding
    assert np.abs(moved).mean() > 0.5


def test_no_network_leaves_the_search_as_before(engines):
    image, mask = holed()
    (region,) = plan(image, mask, settings(network="none"), engines)
    assert region.plan.network is None and not region.plan.network_band
    steps = list(run(image, mask, region, settings(network="none", low_band="off"), engines))
    assert steps[0].iteration > 0 and [c.label for c in steps[-1].candidates] == ["restart 1", "restart 2"]


def test_eval_batches_take_the_network_band_too(engines):
    image, mask = holed()
    fills, _ = fill_batch(image[None], mask[None], settings(), engines, windows=[WINDOW])
    (r,) = inpaint(image, mask, settings(), engines, window=WINDOW).regions
    from inpaint_gui.core.engines.gan.resample import from_model

    win, fill = r.final.candidates[r.final.best].payload
    np.testing.assert_allclose(fills[0].pixels, from_model(fill, win[2]), atol=1.0)


def test_a_cancelled_search_keeps_its_fills_without_the_network(engines):
    import threading

    image, mask = holed()
    long = settings(iterations=500)
    (region,) = plan(image, mask, long, engines, window=WINDOW)
    cancel = threading.Event()
    steps = []
    for step in run(image, mask, region, long, engines, cancel):
        steps.append(step)
        if step.iteration >= 3:
            cancel.set()
    assert steps[-1].cancelled and steps[-1].candidates
    assert all(c.label.startswith("restart") for c in steps[-1].candidates)


def test_the_networks_fill_is_the_mean_of_each_networks_pass_and_its_mirror(engines):
    from inpaint_gui.core.engines.feedforward.fill import predict_windows, window_input

    image, mask = holed()
    ce, pggan = engines["face"].networks("ce128+pggan128")
    small, hole = window_input(image, mask, WINDOW, 128)
    passes = [
        predict_windows(net, np.stack([small, small[:, ::-1]]), np.stack([hole, hole[:, ::-1]])) for net in (ce, pggan)
    ]
    expected = np.mean([p[0] for p in passes] + [p[1][:, ::-1] for p in passes], axis=0)  # (128, 128, 3)
    both = network_fill([ce, pggan], image, mask, WINDOW)
    assert both.name == "ce128+pggan128"
    np.testing.assert_allclose(both.pixels, expected, atol=1e-3)
    alone = network_fill([ce], image, mask, WINDOW)
    assert alone.name == "ce128" and np.abs(alone.pixels - both.pixels)[hole].mean() > 1.0


def test_a_hole_past_the_context_encoders_block_is_filled_by_pggan_alone(engines):
    image = photo(120, 160)
    mask = np.zeros(image.shape[:2], bool)
    mask[30:100, 45:125] = True  # 80 px of a 96 px window: past the Context Encoder's 64 px block at 128
    win = (32, 12, 96)
    fill = network_fill(engines["face"].networks("ce128+pggan128"), image, mask, win)
    assert fill is not None and fill.name == "pggan128"
    assert network_fill(engines["face"].networks("ce128"), image, mask, win) is None


def test_network_settings_name_one_network_or_several():
    from inpaint_gui.core.engines.gan.network import DEFAULT_NETWORKS, network_names

    assert network_names("auto") == DEFAULT_NETWORKS == ("ce128", "pggan128")
    assert network_names("auto", 32) == DEFAULT_NETWORKS  # a prior with no network of its own
    assert network_names("auto", 64) == network_names("auto", 128) == ("pggan64",)  # the shipped priors' windows
    assert network_names("ce128", 64) == ("ce128",)  # a name is used as it is, at any resolution
    assert network_names("none") == ()
    assert network_names("pggan128") == ("pggan128",)
    assert network_names(" ce128 + pggan128 +ce128") == ("ce128", "pggan128")


def test_a_network_that_is_not_installed_or_not_a_network_is_one_line(engines):
    from inpaint_gui.core.errors import WeightsError

    image, mask = holed()
    for name, words in (("nosuch", "unknown model 'nosuch'"), ("celeba64", "DCGAN prior"), ("ce128+nosuch", "nosuch")):
        with pytest.raises(WeightsError, match=words) as info:
            plan(image, mask, settings(network=name), engines, window=WINDOW)
        assert "\n" not in str(info.value)


def test_the_searchs_previews_are_shown_over_the_networks_low_band(engines):
    """While the search runs the canvas shows its fill as it will be: the prior's detail over
    the network's colours, not the prior's raw G(z)."""
    image, mask = holed()
    s = settings(preview_every=1)
    (region,) = plan(image, mask, s, engines, window=WINDOW)
    net_fill = network_fill(engines["face"].networks("ce128+pggan128"), image, mask, WINDOW)
    alone = settings(preview_every=1, network="none", low_band="off")
    (raw_region,) = plan(image, mask, alone, engines, window=WINDOW)
    raw = list(run(image, mask, raw_region, alone, engines))
    banded = list(run(image, mask, region, s, engines))
    raw_mid = [st for st in raw if not st.done and st.thumbnails is not None]
    mid = [st for st in banded[1:] if not st.done and st.thumbnails is not None]
    assert len(mid) == len(raw_mid) >= 5

    def low(x, s=BAND_SIGMA * 32 / 128):
        return gaussian_filter(np.asarray(x, np.float32), (s, s, 0), mode="nearest")

    target = low(net_fill.at(32))
    for a, b in zip(mid, raw_mid):  # the same search (same seed): banded previews, raw ones
        assert np.abs(low(a.thumbnails[a.best]) - target).mean() < np.abs(low(b.thumbnails[b.best]) - target).mean() / 2
        assert a.composite is not None and a.window == WINDOW


def test_a_network_of_another_resolution_joins_the_mean(engines, tmp_path):
    from inpaint_gui.core.engines.feedforward import pggan
    from inpaint_gui.core.engines.feedforward.weights import save_net
    from inpaint_gui.core.engines.gan.resample import from_model

    g, d = pggan.build(pggan.PGGANConfig(resolution=64, ngf=4, n_blocks=2, ndf=4), seed=3)
    folder = save_net(tmp_path / "p64", "pggan", g, d, {"name": "p64", "licence": "test"})
    image, mask = holed()
    face = engines["face"]
    both = network_fill(face.networks(f"ce128+{folder}"), image, mask, WINDOW)
    ce_only = network_fill(face.networks("ce128"), image, mask, WINDOW)
    p64 = network_fill(face.networks(str(folder)), image, mask, WINDOW)
    assert p64.pixels.shape == (64, 64, 3) and both.pixels.shape == ce_only.pixels.shape == (128, 128, 3)
    assert both.name == "ce128+p64"
    expected = (ce_only.pixels + from_model(p64.pixels, 128)) / 2  # the 64 px pass enlarged, then averaged
    assert np.allclose(both.pixels, expected, atol=1e-3)
    assert np.abs(both.pixels - ce_only.pixels).max() > 1  # the second network counts


@pytest.mark.parametrize("resolution", [64, 128])
def test_the_shipped_priors_windows_get_the_network_trained_at_64(monkeypatch, resolution):
    face = FaceEngine(tiny_model(resolution=resolution, nz=16, width=8, seed=0))
    image, mask = holed()
    (region,) = plan(image, mask, settings(), Engines(face=face), window=WINDOW)
    assert region.plan.network == "pggan64" and " over pggan64 " in region.label
    assert face.network("pggan64").resolution == 64
    final = list(run(image, mask, region, settings(iterations=2), Engines(face=face)))[-1]
    # the shipped card's split and share of --sharpen for this prior: under the 64 px prior less of
    # both; under the 128 px one (its fill enlarged) the split higher and the whole sharpening
    card = face.network("pggan64").card["face_engine"]["by_prior_resolution"][str(resolution)]
    assert final.info["band_sigma"] == card["band_sigma"] < BAND_SIGMA
    assert final.info["sharpen"] == round(1.5 * card["sharpen_scale"], 4)
    assert (final.info["sharpen"] < 1.5) == (resolution == 64)
    # without pggan64 installed the prior falls back to the default networks
    bare = FaceEngine(tiny_model(resolution=resolution, nz=16, width=8, seed=0))
    monkeypatch.setattr(bare, "has_model", lambda name: name != "pggan64")
    (region,) = plan(image, mask, settings(), Engines(face=bare), window=WINDOW)
    assert region.plan.network == "ce128+pggan128"


def test_a_network_declares_its_split_and_its_sharpening(engines, tmp_path):
    import json

    from inpaint_gui.core.engines.feedforward import pggan
    from inpaint_gui.core.engines.feedforward.weights import save_net
    from inpaint_gui.core.engines.gan.network import (
        NetworkFill,
        declared_sharpening,
        declared_split,
        network_low_band,
    )
    from inpaint_gui.core.engines.gan.twoband import two_band
    from inpaint_gui.core.errors import WeightsError

    g, d = pggan.build(pggan.PGGANConfig(resolution=64, ngf=4, n_blocks=2, ndf=4), seed=3)
    per = {"64": {"band_sigma": 1.0, "sharpen_scale": 0.5}, "0128": {"band_sigma": 3.0}}
    card = {"name": "p64", "licence": "test", "face_engine": {"sharpen_scale": 0.25, "by_prior_resolution": per}}
    folder = save_net(tmp_path / "p64", "pggan", g, d, card)
    face = engines["face"]
    image, mask = holed()
    both = network_fill(face.networks(f"ce128+{folder}"), image, mask, WINDOW, 64)
    assert declared_split(face.network("ce128"), 64) == BAND_SIGMA and both.band_sigma == BAND_SIGMA  # the largest
    assert declared_sharpening(face.network("ce128"), 64) == 1.0 and both.sharpen_scale == 0.75  # the mean
    alone = network_fill(face.networks(str(folder)), image, mask, WINDOW, 64)
    assert alone.band_sigma == 1.0 and alone.sharpen_scale == 0.5
    # under another prior: its entry there, else the card's own values, else the defaults
    under_128 = network_fill(face.networks(str(folder)), image, mask, WINDOW, 128)
    assert under_128.band_sigma == 3.0 and under_128.sharpen_scale == 0.25
    unsaid = network_fill(face.networks(str(folder)), image, mask, WINDOW)
    assert unsaid.band_sigma == BAND_SIGMA and unsaid.sharpen_scale == 0.25
    rng = np.random.default_rng(0)
    detail = rng.uniform(0, 255, (64, 64, 3)).astype(np.float32)
    got = network_low_band(detail, alone, sharpen=1.5, remove_checkerboard=True)
    # the split moves to 0.5 px at 64, the sharpening to half the setting's; the sharpened band and
    # the checkerboard stay where they were
    want = two_band(detail, alone.at(64), 0.5, 0.75, True, reference=BAND_SIGMA / 2)
    assert np.array_equal(got, want)
    as_default = NetworkFill(alone.window, alone.pixels, alone.name)  # BAND_SIGMA
    assert not np.array_equal(got, network_low_band(detail, as_default, sharpen=1.5, remove_checkerboard=True))
    edges = rng.uniform(0, 255, (64, 64, 3)).astype(np.float32)  # a fill with edges to sharpen
    half = network_low_band(detail, NetworkFill(WINDOW, edges, "x", 1.0, 0.5), sharpen=1.5)
    assert np.array_equal(half, two_band(detail, edges, 0.5, 0.75, reference=BAND_SIGMA / 2))
    assert not np.array_equal(half, network_low_band(detail, NetworkFill(WINDOW, edges, "x", 1.0), sharpen=1.5))
    card_path = folder / "model.json"
    bad = json.loads(card_path.read_text())
    bad["face_engine"] = {"band_sigma": "wide"}
    card_path.write_text(json.dumps(bad))
    from inpaint_gui.core.engines.feedforward.weights import load_net

    with pytest.raises(WeightsError, match="band_sigma must be a number") as info:
        declared_split(load_net(folder))
    assert "\n" not in str(info.value)
    bad["face_engine"] = {"by_prior_resolution": {"128": {"sharpen_scale": -1}}}
    card_path.write_text(json.dumps(bad))
    with pytest.raises(WeightsError, match=r"by_prior_resolution.128.sharpen_scale must be a number in \[0, 4\]"):
        load_net(folder)
    bad["face_engine"] = {"by_prior_resolution": {"large": {}}}
    card_path.write_text(json.dumps(bad))
    with pytest.raises(WeightsError, match="keys are resolutions in pixels, got 'large'"):
        load_net(folder)
