"""The PNG encoder for large photos and 16 bits: valid files, exact pixels, bands on threads."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import inpaint_gui.core.image.png as png
import inpaint_gui.core.image.save as imagesave
from inpaint_gui.core.image.io import load_photo, save_photo

RNG = np.random.default_rng(7)


def test_adler32_combine_matches_zlib() -> None:
    for _ in range(300):
        a = RNG.integers(0, 256, int(RNG.integers(0, 5000)), dtype=np.uint8).tobytes()
        b = RNG.integers(0, 256, int(RNG.integers(0, 5000)), dtype=np.uint8).tobytes()
        assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
    big = b"\xff" * 100_000  # sums that wrap the modulus many times
    assert png.adler32_combine(zlib.adler32(big), zlib.adler32(big), len(big)) == zlib.adler32(big + big)


def _smooth(h: int, w: int, c: int, dtype) -> np.ndarray:
    top = 255 if dtype == np.uint8 else 65535
    yy, xx = np.mgrid[:h, :w]
    base = np.stack([(xx * 7 + yy * 3 + k * 40) % (top + 1) for k in range(c)], axis=-1)
    noise = RNG.integers(0, 5, (h, w, c))
    return np.clip(base + noise, 0, top).astype(dtype)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("filter_name", ["sub", "paeth"])
@pytest.mark.parametrize("rle", [False, True])
def test_write_png_round_trips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, channels: int, dtype, threads: int, filter_name: str, rle: bool
) -> None:
    monkeypatch.setattr(png, "BAND_BYTES", 3000)  # many bands: the seams between them are what is tested
    samples = _smooth(61, 53, channels, dtype)
    path = tmp_path / "x.png"
    with open(path, "wb") as fh:
        png.write_png(fh, samples, dpi=(300, 150), threads=threads, filter=filter_name, level=1, rle=rle)
    with Image.open(path) as im:
        im.load()  # Pillow checks every CRC and the zlib stream's Adler-32 as it decodes
        assert im.size == (53, 61) and im.info["dpi"] == pytest.approx((300, 150), abs=0.02)
        if dtype == np.uint8:
            assert np.array_equal(np.asarray(im).reshape(samples.shape), samples)
    if dtype == np.uint16 and channels in (3, 4):  # Pillow keeps the high bytes only: our reader, exactly
        photo = load_photo(path)
        assert np.array_equal(photo.original16[:, :, :channels], samples)
    elif dtype == np.uint16 and channels == 1:
        assert np.array_equal(load_photo(path).original16, samples[:, :, 0])


def test_the_stream_is_one_valid_zlib_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bands' deflate outputs join into one zlib stream with the Adler-32 of the whole."""
    monkeypatch.setattr(png, "BAND_BYTES", 1000)
    samples = _smooth(40, 30, 3, np.uint8)
    buf = io.BytesIO()
    png.write_png(buf, samples, threads=2)
    data, pos, idat = buf.getvalue(), 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)  # raises on a bad stream or checksum
    rows = np.frombuffer(raw, np.uint8).reshape(40, 1 + 30 * 3)
    assert (rows[:, 0] == 1).all()  # the Sub filter on every row


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8 or uint16"):
        png.write_png(io.BytesIO(), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="filter"):
        png.write_png(io.BytesIO(), np.zeros((4, 4, 3), np.uint8), filter="up")


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_large_photos_take_the_fast_writer_and_keep_everything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    from tests.core.photo_files import srgb_bytes

    monkeypatch.setattr(imagesave, "FAST_PNG_PIXELS", 1000)  # a small photo counts as large here
    calls: list[dict] = []
    real = png.write_png

    def spy(fp, samples, **kw):
        calls.append(kw)
        real(fp, samples, **kw)

    monkeypatch.setattr(imagesave, "write_png", spy)
    image = _smooth(50, 70, 3, np.uint8)
    if mode == "L":
        image = np.repeat(image[:, :, :1], 3, axis=2)
    alpha = RNG.integers(0, 256, (50, 70)).astype(np.uint8) if mode == "RGBA" else None
    save_photo(
        tmp_path / "big.png",
        image,
        alpha=alpha,
        icc_profile=srgb_bytes(),
        dpi=(240.0, 240.0),
        mode="L" if mode == "L" else "RGB",
        threads=2,
    )
    assert calls and calls[0]["level"] == imagesave.FAST_PNG_LEVEL and calls[0]["threads"] == 2 and calls[0]["rle"]
    photo = load_photo(tmp_path / "big.png")
    assert np.array_equal(photo.image, image) and photo.dpi == (240.0, 240.0) and photo.icc_profile
    assert photo.save_mode == ("L" if mode == "L" else "RGB")
    if alpha is not None:
        assert np.array_equal(photo.alpha, alpha)
    calls.clear()
    monkeypatch.setattr(imagesave, "FAST_PNG_PIXELS", 10**9)
    save_photo(tmp_path / "small.png", image)
    assert not calls  # below the size, Pillow (its adaptive filters, a smaller file)
