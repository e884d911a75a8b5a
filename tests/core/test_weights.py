import json

import numpy as np
import pytest
import torch

from inpaint_gui.core.errors import WeightsError
from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
from inpaint_gui.core.engines.gan.weights import find_model, load_model, save_model


@pytest.fixture
def model_dir(tmp_path):
    g, d = build_models(DCGANConfig(resolution=32, nz=8, ngf=4, ndf=4), seed=0)
    from PIL import Image

    Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(tmp_path / "mean_face.png")
    folder = tmp_path / "tinyface"
    folder.mkdir()
    (tmp_path / "mean_face.png").rename(folder / "mean_face.png")
    save_model(folder, g, d, {"name": "tinyface", "licence": "test"}, extra_files={"mean_face": folder / "mean_face.png"})
    return folder, g, d


def test_round_trip_is_exact_and_frozen(model_dir):
    folder, g, d = model_dir
    m = load_model(folder)
    assert m.config == g.config
    for a, b in ((m.generator, g), (m.discriminator, d)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sb)
        assert not a.training
        assert not any(p.requires_grad for p in a.parameters())
    assert m.mean_face.shape == (32, 32, 3) and m.mean_face[0, 0, 0] == 100
    card = json.loads((folder / "model.json").read_text())
    assert card["architecture"]["ngf"] == 4 and len(card["files"]["generator"]["sha256"]) == 64


def test_lookup_by_name(model_dir, monkeypatch):
    folder, *_ = model_dir
    monkeypatch.setenv("INPAINT_GUI_WEIGHTS", str(folder.parent))
    assert find_model("tinyface") == folder
    with pytest.raises(WeightsError, match="unknown model 'nosuch'"):
        load_model("nosuch")


def test_corrupt_file_is_caught_by_hash(model_dir):
    folder, *_ = model_dir
    data = bytearray((folder / "generator.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "generator.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"generator\.pt: sha256 mismatch"):
        load_model(folder)


def test_missing_file(model_dir):
    folder, *_ = model_dir
    (folder / "discriminator.pt").unlink()
    with pytest.raises(WeightsError, match=r"discriminator\.pt: missing"):
        load_model(folder)


def _rehash(folder, role):
    from inpaint_gui.core.engines.gan.weights import sha256_file

    card = json.loads((folder / "model.json").read_text())
    card["files"][role]["sha256"] = sha256_file(folder / card["files"][role]["path"])
    (folder / "model.json").write_text(json.dumps(card))


def test_shape_mismatch_is_named(model_dir):
    folder, *_ = model_dir
    g2, _ = build_models(DCGANConfig(resolution=32, nz=8, ngf=6, ndf=4))
    torch.save(g2.state_dict(), folder / "generator.pt")
    _rehash(folder, "generator")
    with pytest.raises(WeightsError, match=r"generator\.pt: .* has shape"):
        load_model(folder)


def test_pickled_code_is_refused(model_dir):
    """A weights file that would run code on load must be rejected, not executed."""
    folder, *_ = model_dir

    class Evil:
        def __reduce__(self):
            return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))

    torch.save({"x": Evil()}, folder / "generator.pt")
    _rehash(folder, "generator")
    with pytest.raises(WeightsError, match="cannot load weights safely"):
        load_model(folder)
    assert not (folder / "PWNED").exists()


def test_bad_card(model_dir):
    folder, *_ = model_dir
    (folder / "model.json").write_text("{not json")
    with pytest.raises(WeightsError, match=r"model\.json: cannot read the model card"):
        load_model(folder)


def test_half_storage_loads_into_float32(tmp_path):
    g, d = build_models(DCGANConfig(resolution=32, nz=8, ngf=4, ndf=4), seed=1)
    save_model(tmp_path / "h", g, d, {"name": "h"}, half=True)
    m = load_model(tmp_path / "h")
    w = m.generator.main[0].weight
    assert w.dtype == torch.float32
    assert torch.allclose(w, g.main[0].weight, atol=1e-3, rtol=1e-3)


def test_the_shipped_face_model_loads_and_verifies():
    """weights/celeba64 ships with the app: its hashes match, shapes load strictly, and its card
    carries the CelebA licence terms."""
    from inpaint_gui.core.engines.gan.weights import find_model, sha256_file

    folder = find_model("celeba64")
    card = json.loads((folder / "model.json").read_text())
    for entry in card["files"].values():
        assert sha256_file(folder / entry["path"]) == entry["sha256"]
    m = load_model("celeba64")
    assert m.config.resolution == 64 and m.mean_face.shape == (64, 64, 3)
    assert "non-commercial" in card["licence"]
    assert card["training"]["images_seen"] > 0 and card["training"]["command"].startswith("inpaint-gui train")
    size = sum((folder / e["path"]).stat().st_size for k, e in card["files"].items() if k in ("generator", "discriminator"))
    assert size < 50 * 2**20
    with torch.no_grad():
        x = m.generator(torch.rand(4, m.config.nz) * 2 - 1)
    assert x.shape == (4, 3, 64, 64) and x.std() > 0.1  # a trained generator, not a flat untrained one
