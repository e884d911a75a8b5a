import json

import numpy as np
import pytest
import torch

from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
from inpaint_gui.core.engines.gan.weights import find_model, load_model, save_model
from inpaint_gui.core.errors import WeightsError


@pytest.fixture
def model_dir(tmp_path):
    g, d = build_models(DCGANConfig(resolution=32, nz=8, ngf=4, ndf=4), seed=0)
    from PIL import Image

    Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(tmp_path / "mean_face.png")
    folder = tmp_path / "tinyface"
    folder.mkdir()
    (tmp_path / "mean_face.png").rename(folder / "mean_face.png")
    save_model(
        folder, g, d, {"name": "tinyface", "licence": "test"}, extra_files={"mean_face": folder / "mean_face.png"}
    )
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
    card["files"][role]["bytes"] = (folder / card["files"][role]["path"]).stat().st_size
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
    size = sum(
        (folder / e["path"]).stat().st_size for k, e in card["files"].items() if k in ("generator", "discriminator")
    )
    assert size < 50 * 2**20
    with torch.no_grad():
        x = m.generator(torch.rand(4, m.config.nz) * 2 - 1)
    assert x.shape == (4, 3, 64, 64) and x.std() > 0.1  # a trained generator, not a flat untrained one


# ----------------------------------------------------------------------------- malformed model folders (issue 12, items 4 and 6)


def _edit_card(folder, edit):
    card = json.loads((folder / "model.json").read_text())
    edit(card)
    (folder / "model.json").write_text(json.dumps(card))


def _one_line_error(folder, *needles):
    with pytest.raises(WeightsError) as info:
        load_model(folder)
    message = str(info.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.mark.parametrize(
    "edit,needles",
    [
        (
            lambda c: c.update(files=[c["files"]["generator"], c["files"]["discriminator"]]),
            ["model.json", "'files' must be an object", "not a list"],
        ),
        (lambda c: c["files"]["generator"].pop("path"), ["model.json", "files.generator has no 'path'"]),
        (
            lambda c: c["files"].update(generator="generator.pt"),
            ["model.json", "files.generator must be an object", "not a string"],
        ),
        (lambda c: c["files"]["generator"].update(path=["generator.pt"]), ["files.generator.path must be a file name"]),
        (lambda c: c["files"]["generator"].update(path="../generator.pt"), ["must be a file inside the model folder"]),
        (lambda c: c["files"]["generator"].update(path="/etc/passwd"), ["must be a file inside the model folder"]),
        (
            lambda c: c["files"]["generator"].pop("sha256"),
            ["files.generator.sha256 must be 64 hexadecimal digits (missing)"],
        ),
        (
            lambda c: c["files"]["generator"].update(sha256="abc"),
            ["files.generator.sha256 must be 64 hexadecimal digits"],
        ),
        (lambda c: c["files"]["generator"].update(bytes="many"), ["files.generator.bytes must be a whole number"]),
        (lambda c: c["files"].pop("discriminator"), ["lists no discriminator file"]),
        (lambda c: c.update(architecture=[64, 100]), ["'architecture' must be an object, not a list"]),
        (lambda c: c["architecture"].update(nz="100"), ["architecture.nz must be a whole number, not a string"]),
        (lambda c: c["architecture"].update(type="stylegan"), ["architecture type 'stylegan' is not supported"]),
        (lambda c: c["architecture"].update(resolution=48), ["bad architecture", "resolution"]),
        (lambda c: c.update(format_version=99), ["format_version 99 is newer"]),
        (lambda c: c.update(name=3), ["'name' must be a string"]),
    ],
)
def test_malformed_card_is_one_line_naming_the_card(model_dir, edit, needles):
    folder, *_ = model_dir
    _edit_card(folder, edit)
    _one_line_error(folder, *needles)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[1, 2]", "not a model card (the file holds a list"),
        ('"weights"', "the file holds a string"),
        ('{"files": {}}', "'architecture' is missing"),
        ("", "cannot read the model card"),
    ],
)
def test_card_that_is_not_an_object(model_dir, text, needle):
    folder, *_ = model_dir
    (folder / "model.json").write_text(text)
    _one_line_error(folder, "model.json", needle)


def test_empty_weights_file_with_matching_hash(model_dir):
    """The hash of an empty file matched; formatting torch's empty error message raised IndexError."""
    folder, *_ = model_dir
    (folder / "generator.pt").write_bytes(b"")
    _rehash(folder, "generator")
    _one_line_error(folder, "generator.pt", "empty (0 bytes)")


def test_size_difference_is_named(model_dir):
    folder, *_ = model_dir
    size = (folder / "generator.pt").stat().st_size
    with open(folder / "generator.pt", "ab") as fh:
        fh.write(b"extra")
    _one_line_error(
        folder, "generator.pt", "sha256 mismatch", f"it is {size + 5:,} bytes, the model card says {size:,}"
    )
    _rehash(folder, "generator")
    _edit_card(folder, lambda c: c["files"]["generator"].update(bytes=size))
    _one_line_error(folder, "generator.pt", f"the file is {size + 5:,} bytes but the model card says {size:,}")


def test_torch_error_without_a_message_is_still_one_line(model_dir, monkeypatch):
    folder, *_ = model_dir

    def silent(*args, **kwargs):
        raise RuntimeError("")

    monkeypatch.setattr(torch, "load", silent)
    _one_line_error(folder, "generator.pt", "cannot load weights safely (RuntimeError: RuntimeError)")


def test_corrupt_mean_face_with_matching_hash(model_dir):
    folder, *_ = model_dir
    (folder / "mean_face.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    _rehash(folder, "mean_face")
    _one_line_error(folder, "mean_face.png", "cannot read the mean face image")


@pytest.mark.parametrize(
    "role,bad", [("generator", float("nan")), ("discriminator", float("inf")), ("generator", -float("inf"))]
)
def test_non_finite_weights_are_refused(model_dir, role, bad):
    folder, g, d = model_dir
    net = g if role == "generator" else d
    state = {k: v.clone() for k, v in net.state_dict().items()}
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 3)
    state[key].view(-1)[:3] = bad
    torch.save(state, folder / f"{role}.pt")
    _rehash(folder, role)
    _one_line_error(folder, f"{role}.pt", f"tensor {key} holds 3 NaN or infinite values", "broken")


def test_non_finite_running_stats_are_refused(model_dir):
    folder, g, _ = model_dir
    state = {k: v.clone() for k, v in g.state_dict().items()}
    key = next(k for k in state if k.endswith("running_var"))
    state[key][0] = float("nan")
    torch.save(state, folder / "generator.pt")
    _rehash(folder, "generator")
    _one_line_error(folder, f"tensor {key} holds 1 NaN")


def test_validate_card_accepts_the_shipped_card():
    from inpaint_gui.core.engines.gan.weights import validate_card

    folder = find_model("celeba64")
    card = json.loads((folder / "model.json").read_text())
    assert validate_card(card, folder / "model.json") is card
