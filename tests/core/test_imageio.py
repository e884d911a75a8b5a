"""Photo IO: every input file is generated here with Pillow (or by hand)."""

from __future__ import annotations

import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from inpaint_gui.core.errors import ImageIOError
from inpaint_gui.core.image import io as imageio
from inpaint_gui.core.image import save as imagesave
from inpaint_gui.core.image.io import (
    SUPPORTED_SAVE_EXTENSIONS,
    load_mask,
    load_photo,
    output_format_for,
    save_mask,
    save_photo,
)
from tests.core.photo_files import (
    MAKE,
    ORIENTATION,
    RNG,
    displayed,
    exif_with,
    leftovers,
    rand_image,
    reopen,
    srgb_bytes,
)

# ----------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_exactly(tmp_path: Path, orientation: int) -> None:
    stored = rand_image(6, 10)  # non-square: rotations change the shape
    path = tmp_path / "o.png"
    Image.fromarray(stored).save(path, exif=exif_with(orientation, "Acme").tobytes())
    photo = load_photo(path)
    np.testing.assert_array_equal(photo.image, displayed(stored, orientation))
    with Image.open(path) as im:  # and Pillow's own reading of the tag agrees
        np.testing.assert_array_equal(photo.image, np.array(ImageOps.exif_transpose(im)))
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[ORIENTATION] == 1
    assert kept[MAKE] == "Acme"


def test_orientation_6_puts_top_left_at_top_right(tmp_path: Path) -> None:
    # A phone photo held upright: stored landscape 40x20, displayed portrait 20x40.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:5, :5] = (255, 0, 0)  # red block at the stored top-left
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif_with(6).tobytes())
    photo = load_photo(path)
    assert photo.image.shape == (40, 20, 3)
    assert photo.image[2, 17, 0] > 200 and photo.image[2, 17, 1] < 60  # top-right is red
    assert photo.image[2, 2].max() < 60  # top-left is black
    assert photo.format == "JPEG"


def test_orientation_swaps_dpi(tmp_path: Path) -> None:
    path = tmp_path / "dpi.jpg"
    Image.new("RGB", (8, 4)).save(path, dpi=(300, 150), exif=exif_with(8).tobytes())
    photo = load_photo(path)
    assert photo.dpi is not None and photo.dpi == pytest.approx((150, 300), abs=0.5)


# ----------------------------------------------------------------------------- modes


@pytest.mark.parametrize("name,kw", [("a.png", {}), ("a.webp", {"lossless": True}), ("a.tif", {}), ("a.tiff", {})])
def test_alpha_round_trip_is_exact(tmp_path: Path, name: str, kw: dict) -> None:
    image = rand_image(9, 13)
    alpha = RNG.integers(0, 256, size=(9, 13), dtype=np.uint8)
    alpha[0, :] = 0  # fully transparent pixels must keep their colour too
    warnings = save_photo(tmp_path / name, image, alpha=alpha, **kw)
    assert warnings == []
    photo = load_photo(tmp_path / name)
    np.testing.assert_array_equal(photo.image, image)
    assert photo.alpha is not None
    np.testing.assert_array_equal(photo.alpha, alpha)


def test_rgb_without_alpha_has_none(tmp_path: Path) -> None:
    image = rand_image(4, 5)
    save_photo(tmp_path / "x.png", image)
    photo = load_photo(tmp_path / "x.png")
    assert photo.alpha is None
    assert photo.image.dtype == np.uint8 and photo.image.flags.c_contiguous and photo.image.flags.writeable


def test_16bit_greyscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 128, 129, 257, 32896, 65278, 65535, 1000]], np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    assert reopen(path).mode.startswith("I")  # really stored at 16 bits
    photo = load_photo(path)
    expected = np.floor(values / 257.0 + 0.5).astype(np.uint8)  # [0, 0, 1, 1, 128, 254, 255, 4]
    for c in range(3):
        np.testing.assert_array_equal(photo.image[:, :, c], expected)
    assert photo.mode.startswith("I")


def _png_rgb16(path: Path, rgb: np.ndarray) -> None:
    """Write a 16-bit RGB PNG by hand (Pillow cannot write one)."""
    h, w, _ = rgb.shape
    rows = b"".join(b"\x00" + rgb[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )


def _tiff_rgb16(path: Path, rgb: np.ndarray) -> None:
    """Write an uncompressed little-endian 16-bit RGB TIFF by hand."""
    h, w, _ = rgb.shape
    pixels = rgb.astype("<u2").tobytes()
    n = 10
    ifd_at = 8
    extra_at = ifd_at + 2 + n * 12 + 4  # BitsPerSample values live here
    data_at = extra_at + 6
    entries = [
        (256, 3, 1, w),
        (257, 3, 1, h),
        (258, 3, 3, extra_at),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, data_at),
        (277, 3, 1, 3),
        (278, 3, 1, h),
        (279, 4, 1, len(pixels)),
        (284, 3, 1, 1),
    ]
    ifd = (
        struct.pack("<H", n)
        + b"".join(
            struct.pack("<HHI", tag, typ, cnt)
            + (struct.pack("<HH", val, 0) if typ == 3 and cnt == 1 else struct.pack("<I", val))
            for tag, typ, cnt, val in entries
        )
        + struct.pack("<I", 0)
    )
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + ifd + struct.pack("<HHH", 16, 16, 16) + pixels)


@pytest.mark.parametrize("writer,name", [(_png_rgb16, "c16.png"), (_tiff_rgb16, "c16.tif")])
def test_16bit_rgb_maps_full_range(tmp_path: Path, writer, name: str) -> None:
    rgb = np.array([[[0, 257, 65535], [32896, 65535, 0], [514, 0, 65535]]], np.uint16)  # (1, 3, 3)
    writer(tmp_path / name, rgb)
    photo = load_photo(tmp_path / name)
    np.testing.assert_array_equal(photo.image, (rgb // 257).astype(np.uint8))  # exact multiples of 257


def test_greyscale_modes(tmp_path: Path) -> None:
    grey = RNG.integers(0, 256, size=(5, 6), dtype=np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    np.testing.assert_array_equal(load_photo(tmp_path / "l.png").image, np.dstack([grey] * 3))

    bits = RNG.random((5, 6)) > 0.5
    Image.fromarray(bits).convert("1").save(tmp_path / "b.png")
    assert load_photo(tmp_path / "b.png").image[:, :, 1].tolist() == (bits * 255).tolist()

    la = np.dstack([grey, 255 - grey])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    photo = load_photo(tmp_path / "la.png")
    np.testing.assert_array_equal(photo.image[:, :, 2], grey)
    np.testing.assert_array_equal(photo.alpha, 255 - grey)


def test_float_tiff_in_unit_range(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.5, 1.0, 0.25]], np.float32)
    Image.fromarray(values, "F").save(tmp_path / "f.tif")
    photo = load_photo(tmp_path / "f.tif")
    np.testing.assert_array_equal(photo.image[0, :, 0], [0, 128, 255, 64])


def test_palette_with_transparency(tmp_path: Path) -> None:
    pal = Image.new("P", (3, 2))
    pal.putpalette([10, 20, 30, 200, 0, 0, 0, 0, 250])
    idx = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    pal.putdata(idx.ravel().tolist())
    pal.save(tmp_path / "p.png", transparency=0)
    pal.save(tmp_path / "p.gif", transparency=0)
    colours = np.array([[10, 20, 30], [200, 0, 0], [0, 0, 250]], np.uint8)
    for name in ("p.png", "p.gif"):
        photo = load_photo(tmp_path / name)
        assert photo.mode == "P"
        np.testing.assert_array_equal(photo.alpha, np.where(idx == 0, 0, 255))
        np.testing.assert_array_equal(photo.image[idx != 0], colours[idx[idx != 0]])


def test_palette_without_transparency_is_plain_rgb(tmp_path: Path) -> None:
    Image.fromarray(rand_image(4, 4)).convert("P").save(tmp_path / "p.png")
    photo = load_photo(tmp_path / "p.png")
    assert photo.alpha is None and photo.image.shape == (4, 4, 3)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_colours_approximately_right(tmp_path: Path, fmt: str) -> None:
    # Pure inks: cyan, magenta, yellow, black, paper.
    inks = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0)]
    expected = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (0, 0, 0), (255, 255, 255)]
    cmyk = np.repeat(np.array(inks, np.uint8)[None], 8, axis=0).repeat(8, axis=1)  # (8, 40, 4)
    path = tmp_path / ("c.jpg" if fmt == "JPEG" else "c.tif")
    Image.fromarray(cmyk, "CMYK").save(path, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    photo = load_photo(path)
    assert photo.mode == "CMYK" and photo.icc_profile is None
    for i, rgb in enumerate(expected):
        got = photo.image[4, 8 * i + 4].astype(int)
        assert np.abs(got - rgb).max() <= 12, (i, got, rgb)
    assert any("CMYK" in w for w in photo.warnings)


def test_cmyk_with_broken_profile_falls_back(tmp_path: Path) -> None:
    fake = bytearray(200)
    fake[16:20] = b"CMYK"
    path = tmp_path / "c.jpg"
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(path, icc_profile=bytes(fake))
    photo = load_photo(path)
    assert photo.icc_profile is None  # a CMYK profile never travels with RGB pixels
    assert np.abs(photo.image[1, 1].astype(int) - (255, 0, 0)).max() <= 12
    assert any("profile" in w for w in photo.warnings)


def test_lab_tiff_neutral_grey(tmp_path: Path) -> None:
    Image.new("LAB", (3, 3), (128, 128, 128)).save(tmp_path / "lab.tif")  # L* = 50.2, a* = b* = 0
    photo = load_photo(tmp_path / "lab.tif")
    y = ((128 / 255 * 100 + 16) / 116) ** 3  # CIE L* -> relative luminance
    srgb = 255 * (1.055 * y ** (1 / 2.4) - 0.055)
    assert np.abs(photo.image[1, 1].astype(float) - srgb).max() <= 2.5
    # Pillow stores a* and b* offset by 128: +a* is red against green, +b* yellow against blue.
    Image.new("LAB", (1, 2), (128, 188, 128)).save(tmp_path / "a.tif")
    r, g, b = load_photo(tmp_path / "a.tif").image[0, 0].astype(int)
    assert r > g + 60 and b > g
    Image.new("LAB", (1, 2), (128, 128, 188)).save(tmp_path / "b.tif")
    r, g, b = load_photo(tmp_path / "b.tif").image[0, 0].astype(int)
    assert min(r, g) > b + 60


def test_ycbcr_tiff(tmp_path: Path) -> None:
    Image.new("YCbCr", (3, 3), (235, 128, 128)).save(tmp_path / "y.tif")  # Pillow's full-range YCbCr
    photo = load_photo(tmp_path / "y.tif")
    assert photo.mode == "YCbCr"
    assert np.abs(photo.image[0, 0].astype(int) - 235).max() <= 1


# ----------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", ["i.png", "i.jpg", "i.webp", "i.tif"])
def test_icc_profile_kept_on_save(tmp_path: Path, name: str) -> None:
    icc = srgb_bytes()
    assert save_photo(tmp_path / name, rand_image(8, 8), icc_profile=icc) == []
    assert load_photo(tmp_path / name).icc_profile == icc
    assert reopen(tmp_path / name).info.get("icc_profile") == icc


def test_icc_dropped_with_warning_where_unsupported(tmp_path: Path) -> None:
    warnings = save_photo(tmp_path / "i.bmp", rand_image(4, 4), icc_profile=srgb_bytes())
    assert len(warnings) == 1 and "colour profile" in warnings[0]
    gray = bytearray(srgb_bytes())
    gray[16:20] = b"GRAY"
    warnings = save_photo(tmp_path / "g.png", rand_image(4, 4), icc_profile=bytes(gray))
    assert len(warnings) == 1 and "GRAY" in warnings[0]
    assert load_photo(tmp_path / "g.png").icc_profile is None


@pytest.mark.parametrize("name", ["e.png", "e.jpg", "e.webp", "e.tif"])
def test_exif_kept_on_save_with_orientation_reset(tmp_path: Path, name: str) -> None:
    image = rand_image(6, 10)
    save_photo(tmp_path / name, image, exif=exif_with(6, "Acme").tobytes(), quality=100)
    photo = load_photo(tmp_path / name)
    assert photo.image.shape == (6, 10, 3)  # not rotated again on load
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[MAKE] == "Acme"
    assert kept[ORIENTATION] == 1
    assert reopen(tmp_path / name).getexif()[ORIENTATION] == 1  # as any viewer sees it


def test_photo_metadata_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src.jpg"
    Image.fromarray(rand_image(10, 20)).save(src, exif=exif_with(6, "Acme").tobytes(), icc_profile=srgb_bytes())
    photo = load_photo(src)
    save_photo(tmp_path / "out.png", photo.image, icc_profile=photo.icc_profile, exif=photo.exif)
    again = load_photo(tmp_path / "out.png")
    assert again.image.shape == (20, 10, 3)  # stays upright
    assert again.icc_profile == photo.icc_profile
    assert reopen(tmp_path / "out.png").getexif()[MAKE] == "Acme"


def test_tiff_layout_tags_do_not_leak_into_exif(tmp_path: Path) -> None:
    Image.fromarray(rand_image(4, 4)).save(tmp_path / "t.tif", exif=exif_with(1, "Acme").tobytes())
    photo = load_photo(tmp_path / "t.tif")
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[MAKE] == "Acme"
    assert not {256, 257, 273, 279} & set(kept)  # width, height, strip offsets/counts


def test_jpeg_quality_changes_file_size(tmp_path: Path) -> None:
    y, x = np.mgrid[0:128, 0:128]
    image = np.dstack([x * 2, y * 2, (x + y) % 256]).astype(np.uint8)
    image = np.clip(image.astype(int) + RNG.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    save_photo(tmp_path / "lo.jpg", image, quality=30)
    save_photo(tmp_path / "hi.jpg", image, quality=95)
    lo, hi = (tmp_path / "lo.jpg").stat().st_size, (tmp_path / "hi.jpg").stat().st_size
    assert lo < 0.6 * hi
    err_lo = np.abs(load_photo(tmp_path / "lo.jpg").image.astype(int) - image).mean()
    err_hi = np.abs(load_photo(tmp_path / "hi.jpg").image.astype(int) - image).mean()
    assert err_hi < err_lo


def test_jpeg_drops_alpha_with_warning(tmp_path: Path) -> None:
    warnings = save_photo(tmp_path / "a.jpg", rand_image(4, 4), alpha=np.zeros((4, 4), np.uint8))
    assert len(warnings) == 1 and "alpha" in warnings[0] and "a.jpg" in warnings[0]
    assert load_photo(tmp_path / "a.jpg").alpha is None


def test_save_format_follows_extension(tmp_path: Path) -> None:
    for ext, fmt in SUPPORTED_SAVE_EXTENSIONS.items():
        path = tmp_path / f"f{ext.upper()}"
        save_photo(path, rand_image(4, 4))
        assert reopen(path).format == fmt
        assert output_format_for(path) == fmt


@pytest.mark.parametrize("name", ["x.gif", "x.xyz", "noext"])
def test_unknown_extension_is_an_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ImageIOError, match=name):
        output_format_for(name)
    with pytest.raises(ImageIOError, match=name):
        save_photo(tmp_path / name, rand_image(4, 4))
    assert not (tmp_path / name).exists()


def test_bad_arrays_are_programming_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_photo(tmp_path / "x.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        save_photo(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        save_photo(tmp_path / "x.png", rand_image(4, 4), alpha=np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError):
        save_mask(tmp_path / "m.png", np.zeros((4, 4), np.uint8))


# ----------------------------------------------------------------------------- atomic save


def test_failed_write_leaves_target_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "photo.png"
    save_photo(target, rand_image(8, 8))
    before = target.read_bytes()
    seen: list[str] = []

    def half_written(im, fp, fmt, params):
        seen.extend(leftovers(tmp_path))  # the temp file exists while encoding
        fp.write(b"\x89PNG partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imagesave, "_write_image", half_written)
    with pytest.raises(ImageIOError, match="photo.png.*No space left"):
        save_photo(target, rand_image(8, 8))
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert len(seen) == 1  # it was writing a temp file, not the target


def test_failed_rename_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "mask.png"
    save_mask(target, np.zeros((4, 4), bool))
    before = target.read_bytes()

    def no_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio.os, "replace", no_replace)
    with pytest.raises(ImageIOError, match="mask.png"):
        save_mask(target, np.ones((4, 4), bool))
    assert target.read_bytes() == before and leftovers(tmp_path) == []


def test_overwrite_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "p.png"
    save_photo(target, rand_image(4, 4))
    os.chmod(target, 0o640)
    save_photo(target, rand_image(5, 5))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert load_photo(target).image.shape == (5, 5, 3)


def test_new_file_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        save_photo(tmp_path / "n.png", rand_image(4, 4))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.png").stat().st_mode) == 0o640  # not mkstemp's 0o600


def test_save_through_symlink_keeps_link(tmp_path: Path) -> None:
    real = tmp_path / "real.png"
    save_photo(real, rand_image(4, 4))
    link = tmp_path / "link.png"
    link.symlink_to(real)
    image = rand_image(6, 6)
    save_photo(link, image)
    assert link.is_symlink()
    np.testing.assert_array_equal(load_photo(real).image, image)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_real(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageIOError, match="out.png.*not writable"):
            save_photo(folder / "out.png", rand_image(4, 4))
    finally:
        folder.chmod(0o700)


def test_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def refuse_to_create(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(imagesave.os, "open", refuse_to_create)
    with pytest.raises(ImageIOError, match="out.png.*not writable") as caught:
        save_photo(tmp_path / "out.png", rand_image(4, 4))
    assert str(caught.value).count("cannot save") == 1  # said once, not wrapped in itself
    assert list(tmp_path.iterdir()) == [] and set() == imagesave._TEMPORARIES


def test_missing_folder_and_folder_target(tmp_path: Path) -> None:
    with pytest.raises(ImageIOError, match="does not exist"):
        save_photo(tmp_path / "nope" / "out.png", rand_image(4, 4))
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageIOError, match="d.png.*folder"):
        save_photo(tmp_path / "d.png", rand_image(4, 4))


# ----------------------------------------------------------------------------- bad inputs


def _check_read_error(path: Path, fragment: str) -> None:
    for load in (load_photo, lambda p: load_mask(p, (4, 4))):
        with pytest.raises(ImageIOError) as info:
            load(path)
        msg = str(info.value)
        assert path.name in msg and fragment in msg, msg
        assert "\n" not in msg


def test_read_errors(tmp_path: Path) -> None:
    _check_read_error(tmp_path / "missing.jpg", "no such file")
    (tmp_path / "folder.png").mkdir()
    _check_read_error(tmp_path / "folder.png", "folder")
    (tmp_path / "text.jpg").write_text("not a picture at all")
    _check_read_error(tmp_path / "text.jpg", "not an image file")
    (tmp_path / "empty.png").write_bytes(b"")
    _check_read_error(tmp_path / "empty.png", "not an image file")


@pytest.mark.parametrize("name", ["t.jpg", "t.png", "t.webp"])
def test_truncated_files(tmp_path: Path, name: str) -> None:
    full = tmp_path / ("full" + Path(name).suffix)
    Image.fromarray(rand_image(64, 64)).save(full)
    data = full.read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageIOError, match=name):
        load_photo(tmp_path / name)


def test_corrupt_png_data(tmp_path: Path) -> None:
    path = tmp_path / "c.png"
    Image.fromarray(rand_image(32, 32)).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 20
    data[start : start + 40] = bytes(40)  # zeroed compressed data (CRC now wrong too)
    path.write_bytes(bytes(data))
    with pytest.raises(ImageIOError, match="c.png"):
        load_photo(path)


def test_decompression_bomb_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_photo(tmp_path / "big.png", rand_image(50, 50))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # errors beyond 2000 pixels
    with pytest.raises(ImageIOError, match="big.png.*too large"):
        load_photo(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 2500 pixels: only Pillow's warning
    assert load_photo(tmp_path / "big.png").image.shape == (50, 50, 3)


def test_multiframe_loads_first_with_note(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (4, 4), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "two.tif", save_all=True, append_images=frames[1:])
    photo = load_photo(tmp_path / "two.tif")
    assert tuple(photo.image[0, 0]) == (255, 0, 0)
    assert any("2 frames" in w for w in photo.warnings)
