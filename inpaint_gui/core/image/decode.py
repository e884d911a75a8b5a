"""Decoding image files with Pillow: the shared reading layer under photos and masks.

:func:`read` opens a file, decodes its first frame fully and makes it upright (EXIF
orientation applied); :func:`to_rgb` turns any Pillow mode into uint8 RGB plus alpha.
16-bit files keep their full depth beside the 8-bit pixels: Pillow itself keeps only the high
byte of 16-bit colour, so those files are decoded a second time with the byte order swapped
to recover the low bytes. Every failure becomes a one-line
:class:`~inpaint_gui.core.errors.ImageIOError` naming the file.
"""

from __future__ import annotations

import io
import os
import re
import sys
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from inpaint_gui.core.errors import ImageIOError
from inpaint_gui.core.paths import is_too_long, name_problem, shorten

StrPath = str | os.PathLike[str]

ORIENTATION = 0x0112
# EXIF orientation -> the transpose that makes the pixels upright.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# TIFF tags that describe a file's own pixel layout. Pillow's getexif() of a TIFF returns
# its whole first IFD; these must not travel into another file's EXIF block.
TIFF_LAYOUT_TAGS = frozenset(
    {
        254,
        255,
        256,
        257,
        258,
        259,
        262,
        263,
        266,
        273,
        277,
        278,
        279,
        280,
        281,
        284,
        290,
        291,
        292,
        293,
        317,
        320,
        322,
        323,
        324,
        325,
        330,
        332,
        338,
        339,
        340,
        341,
        347,
        512,
        513,
        514,
        515,
        517,
        518,
        519,
        520,
        521,
        530,
        532,
        700,
        33723,
        34377,
        34675,
    }
)
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
RAW_GREY_MODES = frozenset({"1", "L", "I", "F"}) | SIXTEEN_BIT_MODES
# Pillow's raw modes for 16-bit colour, of which it keeps the high byte of each sample.
_DEEP_RAWMODES = frozenset(f"{m};16{e}" for m in ("RGB", "RGBA") for e in "BLN")


@dataclass
class Decoded:
    image: Image.Image  # upright, fully loaded, detached from the file
    format: str | None
    mode: str  # Pillow's mode, or "RGB;16" / "RGBA;16" for 16-bit colour
    icc: bytes | None
    exif: bytes | None
    dpi: tuple[float, float] | None
    notes: list[str]
    deep: np.ndarray | None = None  # uint16 (H, W, 3|4), upright, for 16-bit colour files
    lossless_webp: bool = False


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def read_error(path: StrPath, exc: BaseException) -> ImageIOError:
    """Translate what Pillow or the OS raised into a one-line ImageIOError."""
    if isinstance(exc, FileNotFoundError):
        why = "no such file"
    elif isinstance(exc, IsADirectoryError):
        why = "it is a folder, not an image file"
    elif isinstance(exc, PermissionError):
        why = "permission denied"
    elif is_too_long(exc):  # "File name too long": name the part, not the whole path twice
        return ImageIOError(f"cannot read {shorten(os.fspath(path))}: {name_problem(path) or 'the name is too long'}")
    elif isinstance(exc, UnidentifiedImageError):
        why = "not an image file (or a corrupt one)"
    elif isinstance(exc, Image.DecompressionBombError):
        limit = Image.MAX_IMAGE_PIXELS
        why = (
            f"the image is too large to open safely (more than {2 * limit:,} pixels)"
            if limit
            else "the image is too large to open safely"
        )
    elif isinstance(exc, MemoryError):
        why = "not enough memory to decode the image"
    else:
        detail = one_line(exc) or type(exc).__name__
        if "truncated" in detail:
            why = "the file is truncated (incomplete download or copy?)"
        elif re.search(r"(decoder|encoder) .* not available|unsupported|not supported", detail, re.I):
            why = f"unsupported image encoding ({detail})"
        else:
            why = f"corrupt image data ({detail})"
    return ImageIOError(f"cannot read {os.fspath(path)}: {why}")


def _exif_of(im: Image.Image) -> tuple[Image.Exif | None, int, str | None]:
    """The file's EXIF (or None), its orientation (1..8) and a note if EXIF was unreadable."""
    try:
        exif = im.getexif()
        orientation = exif.get(ORIENTATION, 1)
    except Exception as exc:  # a broken EXIF block must not make the photo unreadable
        return None, 1, f"EXIF data could not be parsed and was dropped ({one_line(exc)})"
    if not isinstance(orientation, int) or orientation not in range(1, 9):
        orientation = 1
    return (exif if len(exif) else None), orientation, None


def clean_exif_bytes(exif: Image.Exif) -> bytes | None:
    """Serialise ``exif`` without TIFF layout tags and with Orientation set to 1."""
    for tag in TIFF_LAYOUT_TAGS & set(exif.keys()):
        del exif[tag]
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1
    if not len(exif):
        return None
    return exif.tobytes()


def _exif_dpi(exif: Image.Exif | None) -> tuple[float, float] | None:
    """The resolution EXIF records (XResolution, YResolution in ResolutionUnit): where WebP keeps it."""
    if exif is None or 0x011A not in exif or 0x011B not in exif:
        return None
    per = {2: 1.0, 3: 2.54}.get(exif.get(0x0128, 2))  # inches (the default) or centimetres
    try:
        return None if per is None else (float(exif[0x011A]) * per, float(exif[0x011B]) * per)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _dpi_of(im: Image.Image, swap: bool, exif: Image.Exif | None = None) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    if dpi is None and im.format == "WEBP":  # no resolution field of its own
        dpi = _exif_dpi(exif)
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    if not (x > 0 and y > 0) or (x, y) == (1.0, 1.0):  # 1x1 is a "no resolution" placeholder
        return None
    # PNG stores whole pixels per metre: 300 dpi comes back as 299.9994. Within 1/40 dpi of
    # a whole number (finer than any format's step), the whole number is what was meant.
    x, y = (float(round(v)) if abs(v - round(v)) < 0.025 else v for v in (x, y))
    return (y, x) if swap else (x, y)


def orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """``arr`` (H, W, ...) transposed as :data:`UPRIGHT` transposes an image of that orientation."""
    t = arr.swapaxes(0, 1)
    out = {
        1: arr,
        2: arr[:, ::-1],
        3: arr[::-1, ::-1],
        4: arr[::-1],
        5: t,
        6: t[:, ::-1],
        7: t[::-1, ::-1],
        8: t[::-1],
    }[orientation]
    return np.ascontiguousarray(out)


def _rawmode(args: object) -> str | None:
    raw = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) and args else None)
    return raw if isinstance(raw, str) else None


def _swapped(raw: str) -> str:
    end = raw[-1]
    if end == "N":
        end = "L" if sys.byteorder == "little" else "B"
    return raw[:-1] + ("L" if end == "B" else "B")


def _deep_colour(path: StrPath, high: np.ndarray) -> np.ndarray:
    """The 16-bit samples of a 16-bit colour file whose high bytes are ``high`` (as stored).

    Decoding with the opposite byte order makes Pillow's unpacker keep the low byte instead
    (same bits per pixel, so PNG filters and TIFF strips decode exactly as before).
    """
    with Image.open(path) as im:
        tiles = []
        for tile in im.tile:
            raw = _rawmode(tile.args)
            if raw not in _DEEP_RAWMODES:
                raise ValueError(f"unexpected 16-bit layout {raw!r}")
            args = _swapped(raw) if isinstance(tile.args, str) else (_swapped(raw), *tile.args[1:])
            tiles.append(tile._replace(args=args))
        im.tile = tiles
        im.load()
        low = np.asarray(im)
    if low.shape != high.shape:
        raise ValueError("the second decode differs in shape")
    return (high.astype(np.uint16) << 8) | low.astype(np.uint16)


def webp_is_lossless(path: StrPath) -> bool:
    """True when a WebP file's image is VP8L (lossless) rather than VP8 (lossy)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                return False
            for _ in range(64):  # a few chunks precede the image: VP8X, ICCP, ANIM, ALPH
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return False
                kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if kind == b"VP8L":
                    return True
                if kind in (b"VP8 ", b"ANMF"):
                    return False
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        pass
    return False


def read(path: StrPath) -> Decoded:
    """Open ``path``, decode its first frame fully and make it upright."""
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises beyond.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                raws = {_rawmode(t.args) for t in im.tile}
                im.load()
                n_frames = getattr(im, "n_frames", 1)
                if n_frames > 1:
                    notes.append(f"the file holds {n_frames} frames or pages; only the first was loaded")
                exif, orientation, note = _exif_of(im)
                if note:
                    notes.append(note)
                exif_bytes = None
                if exif is not None:
                    try:
                        exif_bytes = clean_exif_bytes(exif)
                    except Exception as exc:
                        notes.append(f"EXIF data could not be kept ({one_line(exc)})")
                icc = im.info.get("icc_profile") or None
                dpi = _dpi_of(im, swap=orientation >= 5, exif=exif)
                mode = im.mode
                deep = None
                if (
                    raws
                    and raws <= _DEEP_RAWMODES
                    and im.mode in ("RGB", "RGBA")
                    and n_frames == 1
                    and im.info.get("transparency") is None
                ):
                    try:
                        deep = orient(_deep_colour(path, np.asarray(im)), orientation)
                        mode = f"{im.mode};16"
                    except Exception as exc:  # keep what Pillow decoded rather than fail
                        notes.append(f"16-bit colour read at 8 bits ({one_line(exc)})")
                if orientation != 1:
                    upright = im.transpose(UPRIGHT[orientation])
                elif n_frames == 1 and getattr(im, "fp", None) is None and getattr(im, "map", None) is None:
                    upright = im  # decoded and done with its file: no second copy of a large photo
                else:
                    upright = im.copy()  # detached from the file (more frames) or its memory map
                upright.info = dict(im.info)
                lossless = im.format == "WEBP" and webp_is_lossless(path)
                return Decoded(upright, im.format, mode, icc, exif_bytes, dpi, notes, deep, lossless)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise read_error(path, exc) from exc


def icc_colour_space(icc: bytes | None) -> str | None:
    """The data colour space in an ICC header: "RGB", "CMYK", "GRAY", "Lab", ... or None."""
    if not icc or len(icc) < 20:
        return None
    return icc[16:20].decode("ascii", "replace").strip() or None


_SRGB: ImageCms.ImageCmsProfile | None = None


def _srgb() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def pixels_of(im: Image.Image) -> np.ndarray:
    """``np.array(im)``, copied in bands of rows: numpy's own conversion goes through a bytes
    object of the whole image first (a second full copy: 144 MB more for an 8000x6000 photo)."""
    w, h = im.size
    if h == 0 or w == 0:
        return np.array(im)
    head = np.asarray(im.crop((0, 0, w, 1)))
    out = np.empty((h, *head.shape[1:]), head.dtype)
    step = max(1, (8 << 20) // max(1, head.nbytes))
    for y in range(0, h, step):
        out[y : y + step] = np.asarray(im.crop((0, y, w, min(h, y + step))))
    return out


def scale16(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255, rounded to nearest (65535 -> 255, 257 -> 1)."""
    v = np.clip(values.astype(np.int64), 0, 65535)
    return ((v * 255 + 32767) // 65535).astype(np.uint8)


def grey_to_u8(im: Image.Image, notes: list[str]) -> np.ndarray:
    """uint8 (H, W) from a greyscale image of any depth."""
    mode = im.mode
    arr = pixels_of(im)
    if mode == "1":
        return arr.astype(np.uint8) * 255
    if mode == "L":
        return arr
    if mode in SIXTEEN_BIT_MODES:
        return scale16(arr)
    if mode == "I":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo >= 0 and hi <= 65535:
            return scale16(arr)  # how Pillow has long carried 16-bit greyscale
        notes.append(f"32-bit integer image rescaled from its range [{lo}, {hi}] to 8 bits")
        span = max(hi - lo, 1)
        return np.round((arr.astype(np.float64) - lo) * (255.0 / span)).astype(np.uint8)
    if mode == "F":
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        if arr.size and arr.min() >= 0.0 and arr.max() <= 1.0:
            arr = arr * 255.0  # a [0, 1] float image
        else:
            notes.append("floating-point image taken as 0..255 values (clipped)")
        return np.clip(np.round(arr), 0, 255).astype(np.uint8)
    raise AssertionError(mode)


def _grey16(im: Image.Image) -> np.ndarray | None:
    """The 16-bit samples of a 16-bit greyscale image, or None for other depths."""
    if im.mode in SIXTEEN_BIT_MODES:
        return np.asarray(im).astype(np.uint16)
    if im.mode == "I":
        arr = np.asarray(im)
        if arr.size and arr.min() >= 0 and arr.max() <= 65535:
            return arr.astype(np.uint16)
    return None


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        return True
    if im.info.get("transparency") is not None:
        return True
    return im.mode == "P" and im.palette is not None and im.palette.mode.endswith("A")


@dataclass
class Pixels:
    rgb: np.ndarray  # uint8 (H, W, 3)
    alpha: np.ndarray | None  # uint8 (H, W)
    icc: bytes | None  # the profile, if still valid for ``rgb``
    deep: np.ndarray | None = None  # uint16 (H, W) grey or (H, W, 3|4) colour: a 16-bit file's samples


def to_rgb(dec: Decoded, icc: bytes | None, notes: list[str]) -> Pixels:
    """uint8 RGB pixels, alpha and the ICC profile still valid for them (and 16-bit samples)."""
    im = dec.image
    mode = im.mode
    space = icc_colour_space(icc)
    rgb_icc = icc if space == "RGB" else None
    if dec.deep is not None:
        deep = dec.deep
        alpha = scale16(deep[:, :, 3]) if deep.shape[2] == 4 else None
        return Pixels(scale16(deep[:, :, :3]), alpha, rgb_icc, deep)
    if mode in RAW_GREY_MODES and im.info.get("transparency") is None:
        grey = grey_to_u8(im, notes)  # (H, W)
        return Pixels(np.repeat(grey[:, :, None], 3, axis=2), None, rgb_icc, _grey16(im))
    if mode in SIXTEEN_BIT_MODES or mode == "I":  # 16-bit with a transparent colour key
        raw = np.array(im)
        alpha = np.where(raw == im.info["transparency"], 0, 255).astype(np.uint8)
        grey = grey_to_u8(im, notes)
        return Pixels(np.repeat(grey[:, :, None], 3, axis=2), alpha, rgb_icc, _grey16(im))
    if mode == "CMYK":
        rgb_im = None
        if space == "CMYK":
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                rgb_im = ImageCms.profileToProfile(im, src, _srgb(), outputMode="RGB")
            except Exception as exc:
                notes.append(f"the CMYK colour profile could not be applied ({one_line(exc)}); colours are approximate")
        else:
            notes.append("CMYK image without a CMYK colour profile; colours are approximate")
        if rgb_im is None:
            rgb_im = im.convert("RGB")
        return Pixels(np.array(rgb_im), None, None)
    if mode == "LAB":
        try:
            lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
            rgb_im = ImageCms.profileToProfile(im, lab, _srgb(), outputMode="RGB")
        except Exception as exc:
            notes.append(f"LAB conversion failed ({one_line(exc)}); colours are approximate")
            rgb_im = im.convert("RGB")
        return Pixels(np.array(rgb_im), None, None)
    if _has_alpha(im):
        if mode == "La":
            im = im.convert("LA")
        rgba = np.array(im.convert("RGBA"))  # (H, W, 4); premultiplied modes are undone here
        return Pixels(np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3]), rgb_icc)
    rgb = pixels_of(im if mode == "RGB" else im.convert("RGB"))
    if icc and rgb_icc is None and mode in ("RGB", "RGBX", "P", "YCbCr", "HSV"):
        notes.append(f"the embedded colour profile ({space or 'unknown'}) does not fit RGB and was dropped")
    return Pixels(rgb, None, rgb_icc)
