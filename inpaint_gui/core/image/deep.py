"""Writing a photo back in its own mode: greyscale, and 16 bits per sample.

Pillow cannot write 16-bit colour (and writes 16-bit greyscale without alpha only), so
16-bit PNG and TIFF files are encoded here with numpy and zlib: PNG by :mod:`~inpaint_gui.core.image.png`,
TIFF with Deflate and horizontal differencing, both readable by any image program.

The 8-bit result becomes 16-bit by :func:`deepen`: a pixel whose 8-bit value is what the
photo was loaded as keeps the file's original 16-bit samples bit for bit; any other pixel
(the fill) is ``value * 257``, which maps 0..255 onto 0..65535 exactly.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

import numpy as np
from PIL import Image, TiffTags
from PIL.TiffImagePlugin import ImageFileDirectory_v2

from inpaint_gui.core.image.decode import TIFF_LAYOUT_TAGS
from inpaint_gui.core.image.png import write_png

_BAND_BYTES = 4 << 20  # rows are filtered and compressed in bands of about this many bytes


def luminance(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) Rec. 601 luma of uint8 (H, W, 3) RGB, rounded; exact where R = G = B."""
    rgb = image.astype(np.uint32)
    return ((rgb[:, :, 0] * 299 + rgb[:, :, 1] * 587 + rgb[:, :, 2] * 114 + 500) // 1000).astype(np.uint8)


def deepen(new: np.ndarray, loaded: np.ndarray | None, original: np.ndarray | None) -> np.ndarray:
    """uint16 (H, W, C) from uint8 ``new`` (H, W, C): ``original`` where a pixel equals ``loaded``.

    ``loaded`` (uint8, the photo as it was read) and ``original`` (uint16, its samples in the
    file) have ``new``'s shape, or are None (then every pixel is ``value * 257``).
    """
    out = new.astype(np.uint16) * 257
    if loaded is not None and original is not None and loaded.shape == new.shape == original.shape:
        same = np.all(new == loaded, axis=2)  # (H, W): the whole pixel is as loaded
        out[same] = original[same]
    return out


def write_png16(
    fp: IO[bytes],
    samples: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    level: int = 6,
    filter: str = "paeth",
    rle: bool = False,
    threads: int = 1,
) -> None:
    """A 16-bit PNG of ``samples``: uint16 (H, W, C), C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA."""
    if samples.dtype != np.uint16:
        raise ValueError(f"samples must be uint16, got {samples.dtype}")
    write_png(
        fp, samples, icc_profile=icc_profile, exif=exif, dpi=dpi, level=level, filter=filter, rle=rle, threads=threads
    )


def write_tiff16(
    fp: IO[bytes],
    samples: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    level: int = 6,
) -> None:
    """A 16-bit Deflate TIFF (horizontal predictor) of ``samples``: uint16 (H, W, C), C = 1..4."""
    h, w, c = samples.shape
    ifd = ImageFileDirectory_v2(prefix=b"II")
    if exif:
        parsed = Image.Exif()
        parsed.load(exif)
        for key in set(parsed) - TIFF_LAYOUT_TAGS:
            ifd[key] = parsed.get_ifd(key) if key in TiffTags.TAGS_V2_GROUPS else parsed[key]
    diff = samples.astype("<u2")
    diff[:, 1:] -= samples[:, :-1].astype("<u2")  # TIFF predictor 2: each sample minus its left neighbour
    raw = diff.view(np.uint8).reshape(h, w * c * 2)
    rows_per_strip = max(1, min(h, _BAND_BYTES // 16 // max(1, raw.shape[1])))
    strips = [zlib.compress(raw[y : y + rows_per_strip].tobytes(), level) for y in range(0, h, rows_per_strip)]
    ifd[256], ifd[257] = w, h
    ifd[258] = (16,) * c
    ifd[259] = 8  # Adobe Deflate
    ifd[262] = 1 if c <= 2 else 2  # BlackIsZero or RGB
    ifd[277] = c
    ifd[278] = rows_per_strip
    ifd[284] = 1  # chunky
    ifd[317] = 2  # horizontal differencing
    if c in (2, 4):
        ifd[338] = 2  # unassociated alpha
    if dpi:
        ifd[282], ifd[283], ifd[296] = float(dpi[0]), float(dpi[1]), 2
    if icc_profile:
        ifd[34675] = icc_profile
    ifd.tagtype[273] = ifd.tagtype[279] = TiffTags.LONG
    ifd[279] = tuple(len(s) for s in strips)
    ifd[273] = tuple(int(v) for v in np.cumsum([0] + [len(s) for s in strips[:-1]]))  # moved past the IFD on write
    fp.write(b"II*\0" + struct.pack("<I", 8))
    fp.write(ifd.tobytes(8))
    for strip in strips:
        fp.write(strip)
