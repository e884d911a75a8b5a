"""Mask files: which pixels are the hole, whatever painting program made the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_gui.core.errors import ImageIOError, MaskError
from inpaint_gui.core.image.io import (
    hole_share_warning,
    load_mask,
    save_mask,
)
from tests.core.photo_files import RNG, displayed, exif_with

# ----------------------------------------------------------------------------- masks


def test_mask_round_trip_and_file_format(tmp_path: Path) -> None:
    mask = RNG.random((7, 9)) > 0.6
    save_mask(tmp_path / "m.png", mask)
    with Image.open(tmp_path / "m.png") as im:
        assert im.format == "PNG" and im.mode == "L"
        stored = np.array(im)
    np.testing.assert_array_equal(stored, np.where(mask, 255, 0))
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", (7, 9)), mask)
    assert load_mask(tmp_path / "m.png", (7, 9, 3)).dtype == bool  # image.shape is accepted


def test_save_mask_wants_png(tmp_path: Path) -> None:
    with pytest.raises(ImageIOError, match="m.jpg"):
        save_mask(tmp_path / "m.jpg", np.zeros((4, 4), bool))


def test_mask_bright_is_hole(tmp_path: Path) -> None:
    """The hole is where the brightest channel is at least half of full scale."""
    grey = np.array([[0, 1, 17, 127, 128, 255]], np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    assert load_mask(tmp_path / "l.png", (1, 6)).tolist() == [[False, False, False, False, True, True]]

    rgb = np.zeros((1, 5, 3), np.uint8)
    rgb[0, 1, 2] = 1  # only blue, barely: not a hole (JPEG noise looks like this)
    rgb[0, 2, 0] = 255  # pure red strokes are a hole (luma would say 76)
    rgb[0, 3, 2] = 200  # so are blue ones
    rgb[0, 4] = 255
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert load_mask(tmp_path / "rgb.png", (1, 5)).tolist() == [[False, False, True, True, True]]

    g16 = np.array([[0, 1, 32767, 32768, 65535]], np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    assert load_mask(tmp_path / "g16.png", (1, 5)).tolist() == [[False, False, False, True, True]]

    Image.fromarray(np.array([[True, False, True, False]])).convert("1").save(tmp_path / "b.png")
    assert load_mask(tmp_path / "b.png", (1, 4)).tolist() == [[True, False, True, False]]


def test_mask_jpeg_ringing_does_not_grow_the_hole(tmp_path: Path) -> None:
    stored = np.zeros((120, 160), np.uint8)
    stored[37:77, 61:101] = 255  # a 1600-pixel hole, not aligned to the 8x8 JPEG blocks
    Image.fromarray(stored).save(tmp_path / "m.jpg", quality=75)
    with Image.open(tmp_path / "m.jpg") as im:
        decoded = np.asarray(im)
    ringing = (decoded > 0) & (stored == 0)
    assert ringing.sum() > 50 and decoded[ringing].max() < 64  # the JPEG really rings
    mask = load_mask(tmp_path / "m.jpg", (120, 160))
    np.testing.assert_array_equal(mask, stored > 0)


def _strokes() -> tuple[np.ndarray, np.ndarray]:
    strokes = np.zeros((60, 80), bool)
    strokes[10:20, 10:70] = True
    strokes[30:50, 35:45] = True
    return strokes, np.where(strokes, 255, 0).astype(np.uint8)


@pytest.mark.parametrize("background", [(0, 0, 0), (255, 255, 255)])
def test_mask_strokes_on_transparent_layer_are_the_hole(tmp_path: Path, background) -> None:
    """What GIMP/Photoshop/Krita export: opaque white strokes on a transparent layer (whose
    transparent pixels may store black or white)."""
    strokes, alpha = _strokes()
    rgba = np.zeros((60, 80, 4), np.uint8)
    rgba[..., :3] = background
    rgba[strokes, :3] = 255
    rgba[..., 3] = alpha
    Image.fromarray(rgba, "RGBA").save(tmp_path / "strokes.png")
    mask = load_mask(tmp_path / "strokes.png", (60, 80))
    np.testing.assert_array_equal(mask, strokes)
    assert hole_share_warning(mask) is None


def test_mask_soft_stroke_edges_flatten_onto_black(tmp_path: Path) -> None:
    alpha = np.array([[0, 127, 128, 200, 255, 255]], np.uint8)
    value = np.array([[255, 255, 255, 160, 127, 128]], np.uint8)
    rgba = np.dstack([value, value, value, alpha])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "soft.png")
    # brightness x alpha: 0, 127.5, 128.5, 125.5, 127, 128
    assert load_mask(tmp_path / "soft.png", (1, 6)).tolist() == [[False, False, True, False, False, True]]

    la = np.dstack([value, alpha])
    Image.fromarray(la, "LA").save(tmp_path / "soft_la.png")
    assert load_mask(tmp_path / "soft_la.png", (1, 6)).tolist() == [[False, False, True, False, False, True]]

    pal = Image.new("P", (4, 1))
    pal.putpalette([0, 0, 0, 255, 255, 255])
    pal.putdata([0, 1, 0, 1])
    pal.save(tmp_path / "p.png", transparency=0)  # black is transparent, white strokes
    assert load_mask(tmp_path / "p.png", (1, 4)).tolist() == [[False, True, False, True]]


def test_a_zero_one_mask_has_its_ones_as_the_hole(tmp_path: Path) -> None:
    """``Image.fromarray(mask.astype(np.uint8))``: a label image of 0s and 1s, never scaled to 255."""
    strokes, _ = _strokes()
    Image.fromarray(strokes.astype(np.uint8)).save(tmp_path / "labels.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "labels.png", (60, 80)), strokes)
    rgb = np.repeat(strokes.astype(np.uint8)[:, :, None], 3, axis=2)
    Image.fromarray(rgb).save(tmp_path / "labels_rgb.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "labels_rgb.png", (60, 80)), strokes)
    # JPEG ringing is not a label image: a white stroke's file still has its bright pixels
    values = np.where(strokes, 255, 0).astype(np.uint8)
    values[0, 0] = 1
    Image.fromarray(values).save(tmp_path / "ring.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "ring.png", (60, 80)), strokes)


@pytest.mark.parametrize(
    "kind, needle",
    [
        ("dark-strokes-on-transparent", "its opaque pixels are dark, and on a transparent layer"),
        ("fully-transparent", "it is fully transparent"),
        ("dim", "its brightest pixel is 40 of 255"),
    ],
)
def test_a_mask_file_that_marks_no_hole_says_why(tmp_path: Path, kind: str, needle: str) -> None:
    strokes, alpha = _strokes()
    if kind == "dim":
        Image.fromarray(np.where(strokes, 40, 0).astype(np.uint8)).save(tmp_path / "m.png")
    else:
        rgba = np.zeros((60, 80, 4), np.uint8)  # black strokes (or nothing) on a transparent layer
        rgba[..., 3] = alpha if kind == "dark-strokes-on-transparent" else 0
        Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    with pytest.raises(MaskError) as info:
        load_mask(tmp_path / "m.png", (60, 80))
    assert str(info.value).startswith(f"{tmp_path / 'm.png'} marks no hole") and needle in str(info.value)
    # an all-black mask is simply empty: the pipeline says so ("paint the hole")
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(tmp_path / "black.png")
    assert not load_mask(tmp_path / "black.png", (60, 80)).any()


def test_mask_photo_with_erased_hole(tmp_path: Path) -> None:
    """A copy of the photo with the unwanted part erased to transparency: that part is the hole."""
    photo = np.asarray(Image.open(Path(__file__).parents[2] / "resources" / "astronaut.png").convert("RGB"))
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[100:160, 200:300] = 0
    Image.fromarray(np.dstack([photo, alpha]), "RGBA").save(tmp_path / "erased.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "erased.png", photo.shape), alpha == 0)


def test_the_photo_is_not_a_mask(tmp_path: Path) -> None:
    photo = Path(__file__).parents[2] / "resources" / "astronaut.png"
    with pytest.raises(MaskError, match=r"astronaut.png does not look like a mask: \d+% of its pixels are mid-grey"):
        load_mask(photo, (512, 512))


def test_mask_with_opaque_alpha_uses_colour(tmp_path: Path) -> None:
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 1, :3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    assert load_mask(tmp_path / "m.png", (1, 3)).tolist() == [[False, True, False]]


def test_hole_share_warning() -> None:
    mask = np.zeros((10, 10), bool)
    mask[:5] = True
    assert hole_share_warning(mask) is None  # exactly half: fine
    mask[5, 0] = True
    warning = hole_share_warning(mask, "m.png")
    assert warning is not None and "51%" in warning and "m.png" in warning and "inverted" in warning
    assert "\n" not in warning
    assert hole_share_warning(np.zeros((0, 0), bool)) is None


def test_mask_orientation_applied(tmp_path: Path) -> None:
    stored = np.zeros((2, 3), np.uint8)
    stored[0, 0] = 255
    Image.fromarray(stored, "L").save(tmp_path / "m.png", exif=exif_with(6).tobytes())
    mask = load_mask(tmp_path / "m.png", (3, 2))
    np.testing.assert_array_equal(mask, displayed(stored[:, :, None], 6)[:, :, 0] > 0)
    assert mask[0, 1] and mask.sum() == 1


def test_mask_size_mismatch(tmp_path: Path) -> None:
    save_mask(tmp_path / "mask.png", np.zeros((480, 640), bool))
    with pytest.raises(MaskError, match=r"mask.png is 640x480 but the photo is 800x600"):
        load_mask(tmp_path / "mask.png", (600, 800))


def test_unreadable_mask(tmp_path: Path) -> None:
    (tmp_path / "mask.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageIOError, match="mask.png"):
        load_mask(tmp_path / "mask.png", (4, 4))
