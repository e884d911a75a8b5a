"""Training the face check end to end on a handful of generated images (the mechanics, not the skill)."""

from inpaint_gui.core.engines.gan.facecheck import WEIGHTS_FILE, load_check
from inpaint_gui.lab.train_facecheck import main
from tests.tiny import write_random_images


def test_train_facecheck_writes_a_verified_check(tmp_path):
    faces = write_random_images(tmp_path / "faces", 6, shape=(128, 128), seed=1)
    val = write_random_images(tmp_path / "val", 3, shape=(128, 128), seed=2)
    photos = write_random_images(tmp_path / "photos", 3, shape=(160, 200), seed=3)
    out = tmp_path / "facecheck"
    args = ["--faces", str(faces), "--val-faces", str(val), "--photos", str(photos), "--photos-train", "2"]
    assert main([*args, "--photo-windows", "200", "--epochs", "1", "--out", str(out)]) == 0
    check = load_check(out)  # hash and weights verified, weights_only
    assert check.card["data"]["faces_n"] == 6 and check.card["training"]["epochs"] == 1
    held = check.card["held_out"]
    assert 0.0 <= held["faces_called_faces"] <= 1.0 and 0.0 <= held["windows_called_not_faces"] <= 1.0
    assert (out / WEIGHTS_FILE).stat().st_size > 10_000
