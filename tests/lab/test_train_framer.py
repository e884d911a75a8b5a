"""Training the framer end to end on a handful of generated images (the mechanics, not the skill)."""

import numpy as np

from inpaint_gui.core.engines.gan.framer import WEIGHTS_FILE, apply_move, load_framer
from inpaint_gui.lab.train_framer import build, main, random_windows
from tests.tiny import write_random_images


def test_training_windows_carry_the_move_to_the_faces_framing():
    rng = np.random.default_rng(0)
    faces = [np.full((128, 128, 3), v, np.uint8) for v in (40, 200)]
    pixels, holes, moves, windows = build(faces, [], [], 3, rng)
    assert pixels.shape == (6, 64, 64, 3) and holes.shape == (6, 64, 64) and moves.shape == (6, 3)
    np.testing.assert_allclose(apply_move(windows, moves.astype(np.float64)), [[0, 0, 128]] * 6, atol=1e-3)
    w = random_windows(500, 128, 192.0, rng, (0.8, 1.25), 0.1)
    assert w[:, 2].min() >= 0.8 * 128 and w[:, 2].max() <= 1.25 * 128
    assert np.all(np.abs(w[:, 0] + w[:, 2] / 2 - 192) <= 0.1 * w[:, 2] + 1e-9)
    # outside the face the canvas is unknown (no photos given): a window past its left edge sees hole there
    left = windows[:, 0] < -4
    assert left.any() and holes[left][:, :, 0].all()


def test_train_framer_writes_a_verified_framer(tmp_path):
    faces = write_random_images(tmp_path / "faces", 6, shape=(128, 128), seed=1)
    val = write_random_images(tmp_path / "val", 3, shape=(128, 128), seed=2)
    photos = write_random_images(tmp_path / "photos", 3, shape=(160, 200), seed=3)
    out = tmp_path / "framer"
    args = ["--faces", str(faces), "--val-faces", str(val), "--photos", str(photos), "--photos-train", "2"]
    assert main([*args, "--epochs", "1", "--out", str(out)]) == 0
    framer = load_framer(out)  # hash and weights verified, weights_only
    assert framer.card["data"]["faces_n"] == 6 and framer.card["training"]["epochs"] == 1
    assert len(framer.card["held_out"]["move_error_mean_abs"]) == 3
    assert (out / WEIGHTS_FILE).stat().st_size > 10_000
