"""Saving in the photo's own mode and depth, lossless WebP, DPI, output checks, interrupted saves."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_gui.core.errors import ImageIOError
from inpaint_gui.core.image import save as imagesave
from inpaint_gui.core.image.decode import UPRIGHT, orient
from inpaint_gui.core.image.deep import luminance, write_png16
from inpaint_gui.core.image.io import TEMP_PREFIX, check_output_path, load_photo, save_photo
from tests.core.test_imageio import _png_rgb16, _tiff_rgb16, exif_with

RNG = np.random.default_rng(99)


def photo_like(h: int, w: int) -> np.ndarray:
    """Smooth gradients plus sensor-like noise: compresses like a photo, not like noise or flat colour."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255.0 / w, y * 255.0 / h, 128 + 60 * np.sin(x / 17.0) * np.cos(y / 23.0)], -1)
    return np.clip(base + RNG.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


# ----------------------------------------------------------------------------- 16-bit reading


def _png_unfilter(path: Path) -> np.ndarray:
    """An independent PNG decoder (16-bit, non-interlaced): the raw big-endian sample bytes."""
    data = path.read_bytes()
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, colour, *_ = ihdr
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    bpp, stride = channels * depth // 8, w * channels * depth // 8
    raw = zlib.decompress(idat)
    out = np.zeros((h, stride), np.int64)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        kind, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (line[i] + pred) & 0xFF
        out[y], prev = cur, cur
    return out.astype(np.uint8).view(">u2").reshape(h, w, channels).astype(np.uint16)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png16_writer_is_valid_png(tmp_path: Path, channels: int) -> None:
    samples = RNG.integers(0, 65536, (7, 9, channels)).astype(np.uint16)
    samples[:, :, 0] = np.arange(9)[None] * 7000  # smooth, where filters matter
    with open(tmp_path / "s.png", "wb") as fh:
        write_png16(fh, samples, dpi=(300, 300))
    np.testing.assert_array_equal(_png_unfilter(tmp_path / "s.png"), samples)
    with Image.open(tmp_path / "s.png") as im:  # Pillow reads it (the high bytes, for colour)
        im.load()
        assert im.size == (9, 7) and im.info["dpi"] == pytest.approx((300, 300), abs=0.01)


@pytest.mark.parametrize("writer,name", [(_png_rgb16, "c16.png"), (_tiff_rgb16, "c16.tif")])
def test_16bit_rgb_rounds_like_16bit_grey(tmp_path: Path, writer, name: str) -> None:
    """Issue 12 item 9: 16-bit colour was truncated to its high byte, 16-bit grey rounded."""
    values = np.array([0, 128, 129, 200, 32767, 32896, 65278, 65535], np.uint16)
    rgb = np.stack([values, values[::-1], values], -1)[None]  # (1, 8, 3)
    writer(tmp_path / name, rgb)
    Image.fromarray(values[None]).save(tmp_path / "g16.png")
    colour, grey = load_photo(tmp_path / name), load_photo(tmp_path / "g16.png")
    expected = ((values.astype(int) * 255 + 32767) // 65535).astype(np.uint8)  # [0 0 1 1 127 128 254 255]
    np.testing.assert_array_equal(colour.image[0, :, 0], expected)
    np.testing.assert_array_equal(colour.image[0, :, 1], expected[::-1])
    np.testing.assert_array_equal(grey.image[0, :, 0], expected)
    assert colour.mode == "RGB;16" and colour.save_mode == "RGB;16"
    np.testing.assert_array_equal(colour.original16, rgb[0:1])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_matches_pillow(orientation: int) -> None:
    arr = RNG.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    im = Image.fromarray(arr)
    expected = np.asarray(im.transpose(UPRIGHT[orientation])) if orientation != 1 else arr
    np.testing.assert_array_equal(orient(arr, orientation), expected)


def test_16bit_colour_with_orientation(tmp_path: Path) -> None:
    samples = RNG.integers(0, 65536, (4, 6, 3)).astype(np.uint16)
    with open(tmp_path / "o.png", "wb") as fh:
        write_png16(fh, samples, exif=exif_with(6).tobytes())
    photo = load_photo(tmp_path / "o.png")
    assert photo.image.shape == (6, 4, 3)
    np.testing.assert_array_equal(photo.original16, orient(samples, 6))


# ----------------------------------------------------------------------------- writing in the photo's mode


def _fill(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a block changed (as an inpainting would), and that block's mask."""
    out = image.copy()
    hole = np.zeros(image.shape[:2], bool)
    hole[2:5, 3:7] = True
    out[hole] = (out[hole].astype(int) + 77) % 256
    return out, hole


@pytest.mark.parametrize("out_name", ["o.png", "o.tif"])
@pytest.mark.parametrize("src", ["png", "tif"])
def test_16bit_colour_stays_16bit_and_untouched_pixels_keep_their_samples(tmp_path: Path, src, out_name) -> None:
    rgb = RNG.integers(0, 65536, (9, 11, 3)).astype(np.uint16)
    (_png_rgb16 if src == "png" else _tiff_rgb16)(tmp_path / f"in.{src}", rgb)
    photo = load_photo(tmp_path / f"in.{src}")
    result, hole = _fill(photo.image)
    assert save_photo(tmp_path / out_name, result, **photo.save_options()) == []
    again = load_photo(tmp_path / out_name)
    assert again.mode == "RGB;16"
    np.testing.assert_array_equal(again.original16[~hole], rgb[~hole])  # bit-identical outside the hole
    np.testing.assert_array_equal(again.original16[hole], result[hole].astype(np.uint16) * 257)
    np.testing.assert_array_equal(again.image, result)


def test_16bit_colour_with_alpha(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 65536, (6, 8, 4)).astype(np.uint16)
    with open(tmp_path / "a.png", "wb") as fh:
        write_png16(fh, rgba)
    photo = load_photo(tmp_path / "a.png")
    assert photo.mode == "RGBA;16" and photo.alpha is not None
    result, hole = _fill(photo.image)
    save_photo(tmp_path / "b.png", result, **photo.save_options())
    again = load_photo(tmp_path / "b.png")
    np.testing.assert_array_equal(again.original16[:, :, 3], rgba[:, :, 3])  # alpha untouched: all 16 bits
    np.testing.assert_array_equal(again.original16[~hole], rgba[~hole])


@pytest.mark.parametrize("out_name", ["o.png", "o.tif"])
def test_16bit_grey_stays_16bit(tmp_path: Path, out_name: str) -> None:
    grey = RNG.integers(0, 65536, (9, 11)).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "g.png")
    photo = load_photo(tmp_path / "g.png")
    assert photo.save_mode == "I;16"
    result, hole = _fill(photo.image)
    save_photo(tmp_path / out_name, result, **photo.save_options())
    with Image.open(tmp_path / out_name) as im:
        assert im.mode.startswith("I;16")
        stored = np.asarray(im).astype(np.uint16)
    np.testing.assert_array_equal(stored[~hole], grey[~hole])
    np.testing.assert_array_equal(stored[hole], result[hole][:, 0].astype(np.uint16) * 257)


@pytest.mark.parametrize("name,fmt_mode", [("o.jpg", "RGB"), ("o.bmp", "RGB"), ("o.webp", "RGB")])
def test_16bit_to_an_8bit_format_says_so(tmp_path: Path, name: str, fmt_mode: str) -> None:
    _png_rgb16(tmp_path / "in.png", RNG.integers(0, 65536, (4, 4, 3)).astype(np.uint16))
    photo = load_photo(tmp_path / "in.png")
    notes = save_photo(tmp_path / name, photo.image, **photo.save_options())
    assert len(notes) == 1 and "16 bits" in notes[0] and name in notes[0]
    with Image.open(tmp_path / name) as im:
        assert im.mode == fmt_mode


@pytest.mark.parametrize("name", ["o.png", "o.tif", "o.bmp", "o.jpg", "o.webp"])
def test_greyscale_stays_greyscale(tmp_path: Path, name: str) -> None:
    grey = RNG.integers(0, 256, (10, 12), dtype=np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    photo = load_photo(tmp_path / "g.png")
    assert photo.save_mode == "L"
    result, _hole = _fill(photo.image)
    assert save_photo(tmp_path / name, result, quality=100, **photo.save_options()) == []
    with Image.open(tmp_path / name) as im:
        im.load()
        assert im.mode == ("RGB" if name.endswith(".webp") else "L")  # WebP has no greyscale mode
        stored = np.asarray(im.convert("L"))
    if name.endswith((".png", ".tif", ".bmp")):
        np.testing.assert_array_equal(stored, result[:, :, 0])  # exact: R = G = B
    else:
        assert np.abs(stored.astype(int) - result[:, :, 0]).max() <= 12


def test_grey_mode_uses_luminance() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 10, 10], [255, 255, 255]]], np.uint8)
    assert luminance(rgb).tolist() == [[76, 150, 29, 10, 255]]


def test_rgb_photo_saves_rgb(tmp_path: Path) -> None:
    photo_path = tmp_path / "c.png"
    Image.fromarray(RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(photo_path)
    photo = load_photo(photo_path)
    assert photo.save_options()["mode"] == "RGB" and photo.original16 is None


# ----------------------------------------------------------------------------- lossless WebP


def test_lossless_webp_stays_lossless(tmp_path: Path) -> None:
    image = photo_like(64, 96)
    Image.fromarray(image).save(tmp_path / "in.webp", lossless=True)
    Image.fromarray(image).save(tmp_path / "lossy.webp", quality=90)
    assert not load_photo(tmp_path / "lossy.webp").lossless_webp
    photo = load_photo(tmp_path / "in.webp")
    assert photo.lossless_webp and np.array_equal(photo.image, image)
    result, _hole = _fill(photo.image)
    save_photo(tmp_path / "out.webp", result, **photo.save_options())
    again = load_photo(tmp_path / "out.webp")
    assert again.lossless_webp
    np.testing.assert_array_equal(again.image, result)  # every pixel, outside the hole above all
    save_photo(tmp_path / "plain.webp", result)  # the default stays lossy
    assert not load_photo(tmp_path / "plain.webp").lossless_webp


def test_lossless_webp_with_alpha_and_metadata(tmp_path: Path) -> None:
    """An extended (VP8X) WebP: the image chunk follows the ICC and ALPH chunks."""
    from tests.core.test_imageio import srgb_bytes

    alpha = RNG.integers(0, 256, (8, 8), dtype=np.uint8)
    save_photo(tmp_path / "a.webp", photo_like(8, 8), alpha=alpha, lossless=True, icc_profile=srgb_bytes())
    assert load_photo(tmp_path / "a.webp").lossless_webp
    save_photo(tmp_path / "b.webp", photo_like(8, 8), alpha=alpha, icc_profile=srgb_bytes())
    assert not load_photo(tmp_path / "b.webp").lossless_webp


# ----------------------------------------------------------------------------- DPI


@pytest.mark.parametrize("name", ["d.png", "d.jpg", "d.tif", "d.bmp", "d.webp"])
@pytest.mark.parametrize("dpi", [(300.0, 150.0), (72.0, 72.0), (96.0, 600.0)])
def test_dpi_round_trips(tmp_path: Path, name: str, dpi) -> None:
    save_photo(tmp_path / name, photo_like(4, 4), dpi=dpi)
    assert load_photo(tmp_path / name).dpi == dpi  # exactly: 72 dpi in a PNG comes back as 72.009 without care


def test_webp_keeps_the_resolution_in_exif_beside_the_photos_own_tags(tmp_path: Path) -> None:
    """WebP has no resolution field: the EXIF block carries it, over what the camera wrote there."""
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x011A] = exif[0x011B] = 72.0  # the camera's placeholder
    notes = save_photo(tmp_path / "d.webp", photo_like(4, 4), dpi=(300.0, 300.0), exif=exif.tobytes())
    assert notes == []
    with Image.open(tmp_path / "d.webp") as im:
        saved = im.getexif()
    assert saved[0x010F] == "Camera maker" and (float(saved[0x011A]), saved[0x0128]) == (300.0, 2)
    assert load_photo(tmp_path / "d.webp").dpi == (300.0, 300.0)


@pytest.mark.parametrize("name", ["d.png", "d.tif"])
def test_dpi_round_trips_at_16_bits(tmp_path: Path, name: str) -> None:
    _png_rgb16(tmp_path / "in.png", RNG.integers(0, 65536, (4, 4, 3)).astype(np.uint16))
    photo = load_photo(tmp_path / "in.png")
    save_photo(tmp_path / name, photo.image, **{**photo.save_options(), "dpi": (300.0, 240.0)})
    assert load_photo(tmp_path / name).dpi == (300.0, 240.0)


# ----------------------------------------------------------------------------- checking an output path


def test_check_output_path_accepts_a_good_path(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "out.JPG", quality=80) == "JPEG"
    assert check_output_path(tmp_path / "out.png", quality=95) == "PNG"
    assert os.listdir(tmp_path) == []  # the writability probe leaves nothing behind


@pytest.mark.parametrize("quality", [0, 101, 500, -3, True, 9.5])
def test_check_output_path_quality(tmp_path: Path, quality) -> None:
    with pytest.raises(ImageIOError, match=r"out.jpg: quality must be a whole number from 1 to 100"):
        check_output_path(tmp_path / "out.jpg", quality=quality)
    with pytest.raises(ImageIOError, match="quality"):
        save_photo(tmp_path / "out.jpg", photo_like(4, 4), quality=quality)
    assert os.listdir(tmp_path) == []


def test_check_output_path_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir.png").mkdir()
    cases = {
        tmp_path / "noext": "the name has no extension",
        tmp_path / "o.gifx": "unsupported file type '.gifx'",
        tmp_path / "missing" / "o.png": f"the folder {tmp_path / 'missing'} does not exist",
        tmp_path / "file.txt" / "o.png": f"{tmp_path / 'file.txt'} is a file, not a folder",
        tmp_path / "file.txt" / "deeper" / "o.png": f"{tmp_path / 'file.txt'} is a file, not a folder",
        tmp_path / "dir.png": "it is a folder",
        Path("/proc/o.png"): "the folder /proc is not writable",
        Path("/sys/o.png"): "the folder /sys is not writable",
    }
    for path, needle in cases.items():
        with pytest.raises(ImageIOError) as info:
            check_output_path(path, quality=95)
        message = str(info.value)
        assert os.fspath(path) in message and needle in message and "\n" not in message, message
        assert "unsupported a name" not in message


def test_check_output_path_protects_the_input(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    Image.fromarray(photo_like(4, 4)).save(photo)
    (tmp_path / "link.png").symlink_to(photo)
    for target in (photo, tmp_path / "link.png", tmp_path / "." / "photo.png"):
        with pytest.raises(ImageIOError, match="is the input photo: refusing to overwrite it"):
            check_output_path(target, quality=95, input_path=photo)
    assert check_output_path(photo, quality=95, input_path=photo, overwrite=True) == "PNG"
    with pytest.raises(ImageIOError, match="is the mask: refusing to overwrite it"):
        check_output_path(tmp_path / "link.png", quality=95, input_path=tmp_path / "other.png", mask_path=photo)
    assert check_output_path(tmp_path / "new.png", quality=95, input_path=photo, mask_path=photo) == "PNG"


def test_names_too_long_and_links_that_loop_are_refused_before_writing(tmp_path: Path) -> None:
    """The window's saves too (they do not go through check_output_path)."""
    (tmp_path / "loop.png").symlink_to("loop.png")
    cases = [(tmp_path / ("a" * 300 + ".png"), "is 304 bytes long"), (tmp_path / "loop.png", "loops")]
    for target, needle in cases:
        for check in (check_output_path, lambda t: save_photo(t, photo_like(4, 4))):
            with pytest.raises(ImageIOError, match=needle):
                check(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.png"] and (tmp_path / "loop.png").is_symlink()


def test_saving_into_proc_fails_cleanly() -> None:
    with pytest.raises(ImageIOError, match="/proc/o.png"):
        save_photo("/proc/o.png", photo_like(4, 4))


# ----------------------------------------------------------------------------- encoding details


def test_png_uses_the_fast_compression_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict] = []
    real = imagesave._write_image

    def spy(im, fp, fmt, params):
        seen.append(dict(params))
        real(im, fp, fmt, params)

    monkeypatch.setattr(imagesave, "_write_image", spy)
    save_photo(tmp_path / "p.png", photo_like(8, 8))
    assert seen[0]["compress_level"] == imagesave.PNG_COMPRESS_LEVEL < 6


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_interrupted_save_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc) -> None:
    target = tmp_path / "photo.png"
    save_photo(target, photo_like(8, 8))
    before = target.read_bytes()

    def interrupted(im, fp, fmt, params):
        fp.write(b"\x89PNG partial")
        raise exc()

    monkeypatch.setattr(imagesave, "_write_image", interrupted)
    with pytest.raises(exc):
        save_photo(target, photo_like(8, 8))
    assert target.read_bytes() == before and leftovers(tmp_path) == []


def test_save_warnings_are_returned_not_printed(tmp_path: Path) -> None:
    """The CLI prints the returned notes; a logging warning as well made every note appear twice."""
    code = (
        "import numpy as np; from inpaint_gui.core.image.io import save_photo; "
        f"print(save_photo({str(tmp_path / 'a.jpg')!r}, np.zeros((4, 4, 3), np.uint8), alpha=np.zeros((4, 4), np.uint8)))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "alpha" in r.stdout
    assert r.stderr == ""


@pytest.mark.parametrize("name", ["m.png", "m.tif"])
def test_16bit_saves_keep_exif_and_profile(tmp_path: Path, name: str) -> None:
    from tests.core.test_imageio import srgb_bytes

    _png_rgb16(tmp_path / "in.png", RNG.integers(0, 65536, (4, 5, 3)).astype(np.uint16))
    photo = load_photo(tmp_path / "in.png")
    profile = srgb_bytes()  # made once: a profile carries its creation time
    options = {**photo.save_options(), "exif": exif_with(6, "Acme").tobytes(), "icc_profile": profile}
    assert save_photo(tmp_path / name, photo.image, **options) == []
    again = load_photo(tmp_path / name)
    exif = Image.Exif()
    exif.load(again.exif)
    assert again.mode == "RGB;16" and again.icc_profile == profile
    assert exif[0x010F] == "Acme" and exif[0x0112] == 1 and not {256, 257, 273, 279} & set(exif)
    assert again.image.shape == (4, 5, 3)  # not rotated again


@pytest.mark.parametrize("name", ["la.png", "la.tif"])
def test_grey_with_alpha_stays_grey_with_alpha(tmp_path: Path, name: str) -> None:
    la = RNG.integers(0, 256, (5, 6, 2), dtype=np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "in.png")
    photo = load_photo(tmp_path / "in.png")
    save_photo(tmp_path / name, photo.image, **photo.save_options())
    with Image.open(tmp_path / name) as im:
        assert im.mode == "LA"
        np.testing.assert_array_equal(np.asarray(im), la)
