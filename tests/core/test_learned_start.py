"""The learned start (issue 23, lever 1): a prior's encoder gives the search's last restart its z."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from inpaint_gui.core.engines import Engines
from inpaint_gui.core.engines.gan.encoder import Encoder, EncoderConfig, save_encoder
from inpaint_gui.core.engines.gan.engine import FaceEngine
from inpaint_gui.core.engines.gan.search import latent_search, search_batch
from inpaint_gui.core.engines.gan.settings import SearchSettings
from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.pipeline import CommonSettings, InpaintSettings, plan, run
from tests.core.test_framing import photo
from tests.tiny import tiny_model

NZ = 16
STILL = SearchSettings(iterations=0, restarts=3, init_samples=4, seed=5, device="cpu")


class FixedStart:
    """An encoder that answers a known z for every window (and records what it saw)."""

    def __init__(self, z):
        self.z, self.seen = np.asarray(z, np.float32), []

    def latents(self, images, holes, outside=None):
        self.seen.append((images.shape, holes.copy()))
        return np.repeat(self.z[None], len(images), 0)


@pytest.fixture(scope="module")
def model():
    return tiny_model(resolution=32, nz=NZ, width=8, seed=0)


def holed(n=2):
    images = np.stack([photo(32, 32) for _ in range(n)])
    masks = np.zeros((n, 32, 32), bool)
    masks[:, 10:22, 8:20] = True
    return images, masks


def test_the_last_restart_starts_at_the_encoders_z_and_the_others_as_before(model):
    images, masks = holed()
    z = np.linspace(-0.9, 0.9, NZ)
    start = FixedStart(z)
    random = search_batch(model, images, masks, STILL)
    learned = search_batch(model, images, masks, STILL, encoder=start)
    np.testing.assert_allclose(learned.latents[:, -1], np.repeat(z[None], 2, 0), atol=1e-6)
    np.testing.assert_array_equal(learned.latents[:, :-1], random.latents[:, :-1])
    assert not np.allclose(random.latents[:, -1], learned.latents[:, -1])
    (shape, holes) = start.seen[0]
    assert shape == (2, 32, 32, 3) and np.array_equal(holes, masks)  # the windows at the model's resolution


def test_a_search_from_a_good_start_keeps_it(model):
    """A z the prior draws the image from: started there, the search's fill is that image."""
    z = torch.rand(1, NZ, generator=torch.Generator().manual_seed(3)) * 2 - 1
    with torch.no_grad():
        face = ((model.generator(z).permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).byte().numpy()[0]
    mask = holed(1)[1][0]
    settings = replace(STILL, iterations=5, restarts=2, lam=0.0)
    final = list(latent_search(model, face, mask, settings, encoder=FixedStart(z[0].numpy())))[-1]
    assert final.best == 1  # the encoder's restart
    fill = final.previews[final.best].astype(float)
    assert np.abs(fill - face)[mask].mean() < 3.0
    other = list(latent_search(model, face, mask, settings))[-1]
    assert np.abs(other.previews[other.best].astype(float) - face)[mask].mean() > 5.0


@pytest.fixture
def installed(tmp_path, monkeypatch, model):
    """weights/ holding the tiny prior and its encoder, and nothing else."""
    import inpaint_gui.core.engines.gan.weights as weights
    from inpaint_gui.core.engines.gan.weights import WEIGHTS_ENV, save_model

    save_model(tmp_path / "tiny", model.generator, model.discriminator, {"name": "tiny"})
    torch.manual_seed(0)
    save_encoder(tmp_path / "tiny-encoder", Encoder(EncoderConfig(32, NZ, 8)), {"name": "tiny-encoder"})
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    monkeypatch.setattr(weights, "weights_dirs", lambda: [tmp_path])
    return tmp_path


def settings(**face):
    base = SearchSettings(iterations=3, restarts=2, framing="fixed", network="none", low_band="off")
    return InpaintSettings(CommonSettings(device="cpu", engine="face"), {"face": replace(base, **face)})


def test_auto_takes_an_installed_encoder_random_does_not(installed):
    image = photo(96, 96)
    mask = np.zeros(image.shape[:2], bool)
    mask[40:56, 40:56] = True
    engines = Engines(face=FaceEngine("tiny"))
    (auto,) = plan(image, mask, settings(), engines)
    assert auto.plan.encoder == "tiny"
    steps = list(run(image, mask, auto, settings(), engines))
    assert steps[-1].done and len(steps[-1].candidates) == 2 and steps[-1].info["start"] == "tiny-encoder"
    (random,) = plan(image, mask, settings(start="random"), engines)
    assert random.plan.encoder is None
    assert list(run(image, mask, random, settings(start="random"), engines))[-1].info["start"] == "random draws"


def test_an_encoder_asked_for_but_not_installed_is_one_line(installed):
    (installed / "tiny-encoder" / "card.json").unlink()
    image = photo(96, 96)
    mask = np.zeros(image.shape[:2], bool)
    mask[40:56, 40:56] = True
    engines = Engines(face=FaceEngine("tiny"))
    (auto,) = plan(image, mask, settings(), engines)
    assert auto.plan.encoder is None  # auto: the random start
    with pytest.raises(WeightsError, match="tiny's encoder") as info:
        plan(image, mask, settings(start="encoder"), engines)
    assert "\n" not in str(info.value)


def test_an_encoder_made_for_another_prior_is_not_taken(installed):
    torch.manual_seed(0)
    save_encoder(installed / "tiny-encoder", Encoder(EncoderConfig(32, NZ + 4, 8)), {"name": "tiny-encoder"})
    image = photo(96, 96)
    mask = np.zeros(image.shape[:2], bool)
    mask[40:56, 40:56] = True
    engines = Engines(face=FaceEngine("tiny"))
    (auto,) = plan(image, mask, settings(), engines)
    assert auto.plan.encoder is None
    with pytest.raises(WeightsError, match="maps 32x32 windows to 20 latents; tiny takes 16"):
        plan(image, mask, settings(start="encoder"), engines)


def test_an_encoder_is_stored_as_float16_and_gives_the_float32_z(tmp_path):
    from inpaint_gui.core.engines.gan.encoder import load_encoder

    torch.manual_seed(0)
    net = Encoder(EncoderConfig(32, NZ, 8)).eval()
    save_encoder(tmp_path / "half", net, {"name": "tiny-encoder"})
    save_encoder(tmp_path / "full", net, {"name": "tiny-encoder"}, half=False)
    half, full = load_encoder("tiny", tmp_path / "half"), load_encoder("tiny", tmp_path / "full")
    assert half.card["weights_dtype"] == "float16" and full.card["weights_dtype"] == "float32"
    size = [(tmp_path / d / "encoder.pt").stat().st_size for d in ("half", "full")]
    assert size[0] < 0.6 * size[1]  # half the bytes (plus the file's framing)
    assert all(p.dtype == torch.float32 for p in half.net.parameters())  # computes in float32
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    holes = np.zeros((4, 32, 32), bool)
    holes[:, 8:24, 8:24] = True
    z16, z32 = half.latents(images, holes), full.latents(images, holes)
    assert np.abs(z16 - z32).max() < 0.01 * z32.std() + 1e-3 and not np.array_equal(z16, z32)
