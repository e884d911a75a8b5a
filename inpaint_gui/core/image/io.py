"""Load and save photos and masks.

Reading goes through Pillow. Every photo comes back upright (its EXIF orientation applied,
the tag reset to 1) as uint8 (H, W, 3) RGB whatever the file holds: greyscale, palette,
16-bit, float, CMYK (colour-managed when the file carries a CMYK profile), LAB, YCbCr.
Alpha travels beside the pixels; an RGB ICC profile and the EXIF block are kept for saving.

Writing is atomic: the file is encoded into a temporary file in the target's folder
(prefix :data:`TEMP_PREFIX`), flushed to disk, then renamed over the target, so a failed
save leaves any existing file untouched and no debris behind.

Mask files: a pixel is part of the hole (``True``) where it is not black, i.e. any channel is
non-zero at the file's own bit depth. A mask with an alpha channel (RGBA, LA, PA, a palette
or colour key with transparency) instead marks the hole where it is transparent
(alpha < 128); if its alpha marks no pixel that way (fully opaque), the colour rule applies.

Every problem with a file raises :class:`~inpaint_gui.core.errors.ImageIOError` (or
:class:`~inpaint_gui.core.errors.MaskError` for a mask of the wrong size) whose one-line
message names the file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import stat
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError, features

from inpaint_gui.core.errors import ImageIOError, MaskError

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]

#: Name prefix of the temporary files written during an atomic save.
TEMP_PREFIX = ".inpaint-gui-tmp-"

#: File extensions :func:`save_photo` accepts, with the Pillow format each one selects.
SUPPORTED_SAVE_EXTENSIONS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}

_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_ICC_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})
_EXIF_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})
_DPI_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "BMP"})

_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that makes the pixels upright.
_UPRIGHT = {
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
_TIFF_LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 290,
    291, 292, 293, 317, 320, 322, 323, 324, 325, 330, 332, 338, 339, 340, 341, 347,
    512, 513, 514, 515, 517, 518, 519, 520, 521, 530, 532, 700, 33723, 34377, 34675,
})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_RAW_GREY_MODES = frozenset({"1", "L", "I", "F"}) | _SIXTEEN_BIT_MODES


@dataclass(eq=False)
class Photo:
    """A decoded photo, upright, with what is needed to save it back faithfully."""

    image: np.ndarray = field(repr=False)  # uint8 (H, W, 3) RGB, orientation applied
    alpha: np.ndarray | None = field(repr=False)  # uint8 (H, W) or None
    icc_profile: bytes | None = field(repr=False)  # an RGB profile, or None (sRGB)
    exif: bytes | None = field(repr=False)  # b"Exif\0\0..." with Orientation reset to 1
    format: str | None  # as Pillow names it: "JPEG", "PNG", "TIFF", ...
    path: Path | None
    mode: str = "RGB"  # the file's Pillow mode before conversion, e.g. "I;16", "CMYK", "P"
    dpi: tuple[float, float] | None = None  # (x, y) after orientation, if the file says
    warnings: list[str] = field(default_factory=list)  # what was approximated or dropped

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


# --------------------------------------------------------------------------- reading


@dataclass
class _Decoded:
    image: Image.Image  # upright, fully loaded, detached from the file
    format: str | None
    mode: str
    icc: bytes | None
    exif: bytes | None
    dpi: tuple[float, float] | None
    notes: list[str]


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _read_error(path: StrPath, exc: BaseException) -> ImageIOError:
    """Translate what Pillow or the OS raised into a one-line ImageIOError."""
    if isinstance(exc, FileNotFoundError):
        why = "no such file"
    elif isinstance(exc, IsADirectoryError):
        why = "it is a folder, not an image file"
    elif isinstance(exc, PermissionError):
        why = "permission denied"
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
        detail = _one_line(exc) or type(exc).__name__
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
        orientation = exif.get(_ORIENTATION, 1)
    except Exception as exc:  # a broken EXIF block must not make the photo unreadable
        return None, 1, f"EXIF data could not be parsed and was dropped ({_one_line(exc)})"
    if not isinstance(orientation, int) or orientation not in range(1, 9):
        orientation = 1
    return (exif if len(exif) else None), orientation, None


def _clean_exif_bytes(exif: Image.Exif) -> bytes | None:
    """Serialise ``exif`` without TIFF layout tags and with Orientation set to 1."""
    for tag in _TIFF_LAYOUT_TAGS & set(exif.keys()):
        del exif[tag]
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1
    if not len(exif):
        return None
    return exif.tobytes()


def _dpi_of(im: Image.Image, swap: bool) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if not (x > 0 and y > 0) or (x, y) == (1.0, 1.0):  # 1x1 is a "no resolution" placeholder
        return None
    return (y, x) if swap else (x, y)


def _read(path: StrPath) -> _Decoded:
    """Open ``path``, decode its first frame fully and make it upright."""
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises beyond.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
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
                        exif_bytes = _clean_exif_bytes(exif)
                    except Exception as exc:
                        notes.append(f"EXIF data could not be kept ({_one_line(exc)})")
                icc = im.info.get("icc_profile") or None
                dpi = _dpi_of(im, swap=orientation >= 5)
                upright = im.transpose(_UPRIGHT[orientation]) if orientation != 1 else im.copy()
                upright.info = dict(im.info)
                return _Decoded(upright, im.format, im.mode, icc, exif_bytes, dpi, notes)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _read_error(path, exc) from exc


def _icc_colour_space(icc: bytes | None) -> str | None:
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


def _scale16(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255, rounded to nearest (65535 -> 255, 257 -> 1)."""
    v = np.clip(values.astype(np.int64), 0, 65535)
    return ((v * 255 + 32767) // 65535).astype(np.uint8)


def _grey_to_u8(im: Image.Image, notes: list[str]) -> np.ndarray:
    """uint8 (H, W) from a greyscale image of any depth."""
    mode = im.mode
    arr = np.array(im)
    if mode == "1":
        return arr.astype(np.uint8) * 255
    if mode == "L":
        return arr
    if mode in _SIXTEEN_BIT_MODES:
        return _scale16(arr)
    if mode == "I":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo >= 0 and hi <= 65535:
            return _scale16(arr)  # how Pillow has long carried 16-bit greyscale
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


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        return True
    if im.info.get("transparency") is not None:
        return True
    return im.mode == "P" and im.palette is not None and im.palette.mode.endswith("A")


def _to_rgb(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """uint8 (H, W, 3) RGB, uint8 (H, W) alpha or None, and the ICC profile still valid for it."""
    mode = im.mode
    space = _icc_colour_space(icc)
    if mode in _RAW_GREY_MODES and im.info.get("transparency") is None:
        grey = _grey_to_u8(im, notes)  # (H, W)
        return np.repeat(grey[:, :, None], 3, axis=2), None, (icc if space == "RGB" else None)
    if mode in _SIXTEEN_BIT_MODES or mode == "I":  # 16-bit with a transparent colour key
        raw = np.array(im)
        alpha = np.where(raw == im.info["transparency"], 0, 255).astype(np.uint8)
        grey = _grey_to_u8(im, notes)
        return np.repeat(grey[:, :, None], 3, axis=2), alpha, (icc if space == "RGB" else None)
    if mode == "CMYK":
        rgb_im = None
        if space == "CMYK":
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))  # type: ignore[arg-type]
                rgb_im = ImageCms.profileToProfile(im, src, _srgb(), outputMode="RGB")
            except Exception as exc:
                notes.append(f"the CMYK colour profile could not be applied ({_one_line(exc)}); colours are approximate")
        else:
            notes.append("CMYK image without a CMYK colour profile; colours are approximate")
        if rgb_im is None:
            rgb_im = im.convert("RGB")
        return np.array(rgb_im), None, None
    if mode == "LAB":
        try:
            lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
            rgb_im = ImageCms.profileToProfile(im, lab, _srgb(), outputMode="RGB")
        except Exception as exc:
            notes.append(f"LAB conversion failed ({_one_line(exc)}); colours are approximate")
            rgb_im = im.convert("RGB")
        return np.array(rgb_im), None, None
    if _has_alpha(im):
        if mode == "La":
            im = im.convert("LA")
        rgba = np.array(im.convert("RGBA"))  # (H, W, 4); premultiplied modes are undone here
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3]), (icc if space == "RGB" else None)
    rgb = np.array(im if mode == "RGB" else im.convert("RGB"))
    keep = icc if space == "RGB" else None
    if icc and keep is None and mode in ("RGB", "RGBX", "P", "YCbCr", "HSV"):
        notes.append(f"the embedded colour profile ({space or 'unknown'}) does not fit RGB and was dropped")
    return rgb, None, keep


def load_photo(path: StrPath) -> Photo:
    """Read a photo as upright uint8 (H, W, 3) RGB with its alpha, ICC profile and EXIF.

    Raises ImageIOError naming the file if it is missing, a folder, unreadable, corrupt,
    truncated, of an unsupported format, or too large to open safely.
    """
    dec = _read(path)
    notes = list(dec.notes)
    try:
        image, alpha, icc = _to_rgb(dec.image, dec.icc, notes)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _read_error(path, exc) from exc
    for note in notes:
        log.info("%s: %s", os.fspath(path), note)
    return Photo(
        image=image,
        alpha=alpha,
        icc_profile=icc,
        exif=dec.exif,
        format=dec.format,
        path=Path(path),
        mode=dec.mode,
        dpi=dec.dpi,
        warnings=notes,
    )


def load_mask(path: StrPath, shape: tuple[int, ...]) -> np.ndarray:
    """Read a mask file as bool (H, W), True = hole, for a photo of ``shape`` (H, W, ...).

    Hole rule (see the module docstring): transparent (alpha < 128) where the file has an
    alpha channel that marks any pixel so; otherwise any channel non-zero. EXIF orientation
    is applied first. Raises MaskError if the size differs from ``shape``, ImageIOError if
    the file cannot be read.
    """
    h, w = int(shape[0]), int(shape[1])
    dec = _read(path)
    im = dec.image
    if im.size != (w, h):
        raise MaskError(f"{os.fspath(path)} is {im.width}x{im.height} but the photo is {w}x{h}")
    try:
        rgb, alpha, _ = _to_rgb(im, None, [])
        if alpha is not None:
            hole = alpha < 128  # (H, W)
            if hole.any():
                return hole
        if im.mode in _RAW_GREY_MODES:
            return np.array(im) != 0  # at the file's own depth: 16-bit 1 counts
        return rgb.any(axis=2)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _read_error(path, exc) from exc


# --------------------------------------------------------------------------- writing


def output_format_for(path: StrPath) -> str:
    """The Pillow format a save to ``path`` writes, from its extension (case-insensitive)."""
    ext = Path(path).suffix.lower()
    try:
        return SUPPORTED_SAVE_EXTENSIONS[ext]
    except KeyError:
        kinds = ", ".join(dict.fromkeys(SUPPORTED_SAVE_EXTENSIONS))
        what = f"file type '{ext}'" if ext else "a name without an extension"
        raise ImageIOError(f"cannot save {os.fspath(path)}: unsupported {what} (use {kinds})") from None


def _write_image(im: Image.Image, fp: IO[bytes], fmt: str, params: dict[str, Any]) -> None:
    """Encode ``im`` into ``fp`` (a seam for tests that simulate a failing encoder)."""
    im.save(fp, format=fmt, **params)


def _default_file_mode() -> int:
    """0o666 less the process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: StrPath, write: Callable[[IO[bytes]], None]) -> None:
    """Run ``write`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    shown = os.fspath(path)
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))  # replace the file the link points to
    if target.is_dir():
        raise ImageIOError(f"cannot save {shown}: it is a folder")
    folder = target.parent
    if not folder.is_dir():
        raise ImageIOError(f"cannot save {shown}: the folder {os.fspath(folder)} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=folder)
    except PermissionError as exc:
        raise ImageIOError(f"cannot save {shown}: the folder is not writable (permission denied)") from exc
    except OSError as exc:
        raise ImageIOError(f"cannot save {shown}: {_one_line(exc.strerror or exc)}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _default_file_mode()
            os.chmod(tmp, mode)
        except OSError:
            pass  # permissions are a nicety; the data is what matters
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, PermissionError):
            why = "permission denied"
        elif isinstance(exc, OSError) and exc.strerror:
            why = _one_line(exc.strerror)
        else:
            why = _one_line(exc) or type(exc).__name__
        raise ImageIOError(f"cannot save {shown}: {why}") from exc
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with contextlib.suppress(OSError):
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr)


def _exif_for_save(exif: bytes | Image.Exif | None, notes: list[str]) -> bytes | None:
    if exif is None or (isinstance(exif, bytes) and not exif):
        return None
    try:
        parsed = exif if isinstance(exif, Image.Exif) else Image.Exif()
        if not isinstance(exif, Image.Exif):
            parsed.load(bytes(exif))
        return _clean_exif_bytes(parsed)
    except Exception as exc:
        notes.append(f"the EXIF data could not be parsed and was not written ({_one_line(exc)})")
        return None


def save_photo(
    path: StrPath,
    image: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | Image.Exif | None = None,
    quality: int = 95,
    lossless: bool = False,
    dpi: tuple[float, float] | None = None,
) -> list[str]:
    """Write ``image`` (uint8 (H, W, 3) RGB) atomically in the format ``path``'s extension names.

    ``alpha`` (uint8 (H, W)) is stored as RGBA in PNG, WebP and TIFF; JPEG and BMP cannot
    store it, so it is dropped with a warning. ``icc_profile`` (RGB profiles only) and
    ``exif`` (Orientation reset to 1, since the pixels are upright) are written where the
    format supports them. ``quality`` (1..100) drives JPEG and lossy WebP; ``lossless``
    selects lossless WebP. Returns the warnings (also logged): what could not be stored.
    Raises ImageIOError naming the file if it cannot be written; the target is then untouched.
    """
    fmt = output_format_for(path)
    image = _check_image(image)
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.dtype != np.uint8 or alpha.shape != image.shape[:2]:
            raise ValueError(f"alpha must be uint8 {image.shape[:2]}, got {alpha.dtype} {alpha.shape}")
    notes: list[str] = []
    name = Path(path).name
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        notes.append(f"{fmt} cannot store transparency; the alpha channel was not saved in {name}")
        alpha = None
    if icc_profile:
        space = _icc_colour_space(icc_profile)
        if space != "RGB":
            notes.append(f"the colour profile is not an RGB profile ({space or 'unreadable'}); not saved in {name}")
            icc_profile = None
        elif fmt not in _ICC_FORMATS:
            notes.append(f"{fmt} cannot store a colour profile; not saved in {name}")
            icc_profile = None
    exif_bytes = _exif_for_save(exif, notes)
    if exif_bytes and fmt not in _EXIF_FORMATS:
        notes.append(f"{fmt} cannot store EXIF data; not saved in {name}")
        exif_bytes = None

    if alpha is None:
        pil = Image.fromarray(image, "RGB")
    else:
        pil = Image.fromarray(np.dstack([image, alpha]), "RGBA")  # (H, W, 4)
    params: dict[str, Any] = {}
    if fmt == "JPEG":
        # 4:4:4 chroma at high quality: the default 4:2:0 smears colour edges of a retouch.
        params.update(quality=int(quality), optimize=True, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        params.update(quality=int(quality), lossless=bool(lossless), exact=True)
    elif fmt == "TIFF":
        params.update(compression="tiff_deflate" if features.check_codec("libtiff") else "raw")
    if icc_profile:
        params["icc_profile"] = bytes(icc_profile)
    if exif_bytes:
        params["exif"] = exif_bytes
    if dpi is not None and fmt in _DPI_FORMATS:
        params["dpi"] = (float(dpi[0]), float(dpi[1]))

    _atomic_write(path, lambda fh: _write_image(pil, fh, fmt, params))
    for note in notes:
        log.warning("%s: %s", os.fspath(path), note)
    return notes


def save_mask(path: StrPath, mask: np.ndarray) -> None:
    """Write a bool (H, W) mask atomically as a lossless greyscale PNG, 255 = hole, 0 = kept."""
    arr = np.asarray(mask)
    if arr.dtype != np.bool_ or arr.ndim != 2:
        raise ValueError(f"mask must be bool (H, W), got {arr.dtype} {arr.shape}")
    if Path(path).suffix.lower() != ".png":
        raise ImageIOError(f"cannot save {os.fspath(path)}: masks are saved as PNG; use a .png name")
    pil = Image.fromarray(arr.astype(np.uint8) * 255, "L")  # (H, W)
    _atomic_write(path, lambda fh: _write_image(pil, fh, "PNG", {}))


def readable_extensions() -> list[str]:
    """Extensions Pillow can open here (lower case, with the dot), for file dialogs."""
    return sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)
