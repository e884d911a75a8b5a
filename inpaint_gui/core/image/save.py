"""Saving photos: checking an output path up front, encoding, and atomic writes.

Writing is atomic: the file is encoded into a temporary file in the target's folder
(prefix :data:`TEMP_PREFIX`), flushed to disk, then renamed over the target, so a failed or
interrupted save (any exception, Ctrl+C, SIGTERM turned into an exception by the CLI) leaves
any existing file untouched and no temporary file behind.

Pixels outside the hole stay bit-identical in PNG, TIFF, BMP and lossless WebP, in the
photo's own mode: 8-bit RGB, 8-bit greyscale, and 16-bit greyscale or colour (PNG and TIFF
only; pixels that were not changed keep their original 16-bit values). JPEG and lossy WebP
re-encode every pixel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, features

from inpaint_gui.core.errors import ImageIOError
from inpaint_gui.core.image.decode import StrPath, clean_exif_bytes, icc_colour_space, one_line
from inpaint_gui.core.image.deep import deepen, luminance, write_png16, write_tiff16
from inpaint_gui.core.image.png import write_png
from inpaint_gui.core.paths import loop_problem, name_problem, shorten

log = logging.getLogger(__name__)

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

#: zlib level for PNG (and 16-bit TIFF). Pillow's default (zlib's 6) spent ~15 s on an
#: 8000x6000 photo. Measured on 8000x6000 images against the default in the same run:
#: level 4 took 0.26-0.40x the time for 0.99-1.02x the size; levels 1-3 took 0.17-0.52x the
#: time but were up to 1.17x the size on smooth (upscaled) photos.
PNG_COMPRESS_LEVEL = 4

#: From this many pixels a PNG is written by :func:`~inpaint_gui.core.image.png.write_png`: the
#: Sub filter and zlib level 1 restricted to runs, bands deflated on ``threads`` at once. On a
#: grainy 8000x6000 photo (a quarter of it, one run) that took 0.14x the time of Pillow at
#: level 4 on one thread, for 0.98x the size (1.2-1.6x on smooth upscales, which Pillow's
#: adaptive filters suit); ``inpaint-gui bench --parts large`` times a whole run.
FAST_PNG_PIXELS = 4_000_000
FAST_PNG_LEVEL = 1

#: Modes :func:`save_photo` writes: 8-bit RGB, 8-bit grey, 16-bit grey, 16-bit RGB.
SAVE_MODES = ("RGB", "L", "I;16", "RGB;16")

_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_ICC_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})
_EXIF_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})
_DPI_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "BMP"})
_DEEP_FORMATS = frozenset({"PNG", "TIFF"})
_QUALITY_FORMATS = frozenset({"JPEG", "WEBP"})
X_RESOLUTION, Y_RESOLUTION, RESOLUTION_UNIT = 0x011A, 0x011B, 0x0128  # EXIF (TIFF) tags

# Tests only: seconds to pause in the middle of every save, with the temporary file written,
# so that a test can deliver a signal while a save is in progress.
TEST_SAVE_DELAY_ENV = "INPAINT_GUI_TEST_SAVE_DELAY"


def output_format_for(path: StrPath) -> str:
    """The Pillow format a save to ``path`` writes, from its extension (case-insensitive)."""
    ext = Path(path).suffix.lower()
    try:
        return SUPPORTED_SAVE_EXTENSIONS[ext]
    except KeyError:
        kinds = ", ".join(dict.fromkeys(SUPPORTED_SAVE_EXTENSIONS))
        if ext:
            why = f"unsupported file type '{ext}'"
        else:
            why = "the name has no extension, so the format is unknown"
        raise ImageIOError(f"cannot save {os.fspath(path)}: {why} (use {kinds})") from None


def _check_quality(path: StrPath, quality: object) -> None:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= int(quality) <= 100:
        raise ImageIOError(
            f"cannot save {os.fspath(path)}: quality must be a whole number from 1 to 100, got {quality!r}"
        )


def _folder_problem(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (None if one can), found by trying."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the deepest part of the path that exists
    if probe != folder and probe.exists() and not probe.is_dir():
        return f"{os.fspath(probe)} is a file, not a folder"
    if not folder.exists():
        return f"the folder {os.fspath(folder)} does not exist"
    if not folder.is_dir():
        return f"{os.fspath(folder)} is a file, not a folder"
    try:  # os.access() says yes for /proc and /sys, and no for some writable network folders
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".probe", dir=folder)
    except PermissionError:
        return f"the folder {os.fspath(folder)} is not writable (permission denied)"
    except OSError as exc:
        return f"the folder {os.fspath(folder)} is not writable ({one_line(exc.strerror or exc)})"
    try:
        os.close(fd)
    finally:  # a signal here (SIGTERM, Ctrl+C) must not leave the probe behind
        with contextlib.suppress(OSError):
            os.unlink(name)
    return None


def new_folder_problem(folder: StrPath) -> str | None:
    """Why files cannot be written into ``folder``, which is created if missing (its parent
    must exist), or None if they can. Found by trying, like the output's folder; creates
    nothing."""
    problem = name_problem(folder)
    if problem:
        return problem
    folder = Path(folder)
    if folder.exists():
        return _folder_problem(folder)
    return _folder_problem(folder.absolute().parent)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(
    path: StrPath,
    *,
    quality: int | None = None,
    input_path: StrPath | None = None,
    mask_path: StrPath | None = None,
    overwrite: bool = False,
    exclude_path: StrPath | None = None,
) -> str:
    """Check, before any work, that a photo can be saved to ``path``; return its format.

    Checks that the system can hold the name (no part over 255 bytes), that ``path`` is not a
    symbolic link that loops (one to itself is refused rather than replaced), the extension,
    ``quality`` (1..100; it is given to every format, so a bad value is an error whatever the
    format), that ``path`` is not a folder, that its folder exists,
    is a folder and really accepts a new file (a temporary file is created and removed), and,
    unless ``overwrite``, that ``path`` is neither ``input_path`` (the user's original),
    ``mask_path`` nor ``exclude_path`` (links and other spellings of the same file included). Raises
    :class:`ImageIOError` with one line naming the file. Creates nothing.
    """
    shown = os.fspath(path)
    target = Path(path)
    problem = name_problem(target) or loop_problem(target)
    if problem:
        raise ImageIOError(f"cannot save {shorten(shown)}: {problem}")
    if target.is_dir():
        raise ImageIOError(f"cannot save {shown}: it is a folder")
    fmt = output_format_for(path)
    if quality is not None:
        _check_quality(path, quality)
    for role, other in (("input photo", input_path), ("mask", mask_path), ("exclude mask", exclude_path)):
        if other is not None and not overwrite and _same_file(target, Path(other)):
            raise ImageIOError(f"{shown} is the {role}: refusing to overwrite it (pass --overwrite to allow)")
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    problem = _folder_problem(real.absolute().parent)
    if problem:
        raise ImageIOError(f"cannot save {shown}: {problem}")
    return fmt


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


def _test_pause() -> None:
    delay = os.environ.get(TEST_SAVE_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


_TEMPORARIES: set[str] = set()  # temporary files of the saves in progress


def remove_temporaries() -> None:
    """Remove the temporary files of the saves in progress (for a process ending at once)."""
    for name in list(_TEMPORARIES):
        with contextlib.suppress(OSError):
            os.unlink(name)


def atomic_write(path: StrPath, write: Callable[[IO[bytes]], None]) -> None:
    """Run ``write`` on a temporary file beside ``path``, fsync it, then rename it over ``path``.

    The temporary file is removed on any exception, KeyboardInterrupt and SystemExit included.
    """
    shown = os.fspath(path)
    target = Path(path)
    problem = name_problem(target) or loop_problem(target)
    if problem:
        raise ImageIOError(f"cannot save {shorten(shown)}: {problem}")
    if target.is_symlink():
        target = Path(os.path.realpath(target))  # replace the file the link points to
    if target.is_dir():
        raise ImageIOError(f"cannot save {shown}: it is a folder")
    folder = target.absolute().parent
    if not folder.is_dir():
        raise ImageIOError(f"cannot save {shown}: {_folder_problem(folder)}")
    # The name is registered before the file exists, so that however a signal interrupts (an
    # exception anywhere from here on, or the process ending at once), the file is removed.
    tmp_name = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}.part")
    _TEMPORARIES.add(tmp_name)
    tmp = Path(tmp_name)
    try:
        try:
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except OSError as exc:  # not created (an existing file of that name is not ours to remove)
            _TEMPORARIES.discard(tmp_name)
            if isinstance(exc, PermissionError):
                raise ImageIOError(f"cannot save {shown}: the folder is not writable (permission denied)") from exc
            raise ImageIOError(f"cannot save {shown}: {one_line(exc.strerror or exc)}") from exc
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            _test_pause()
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _default_file_mode()
            os.chmod(tmp, mode)
        except OSError:
            pass  # permissions are a nicety; the data is what matters
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp_name in _TEMPORARIES:  # created here (or not yet): ours to remove
            with contextlib.suppress(OSError):
                tmp.unlink()
        if not isinstance(exc, Exception) or isinstance(exc, ImageIOError):  # KeyboardInterrupt, SIGTERM, ...
            raise
        if isinstance(exc, PermissionError):
            why = "permission denied"
        elif isinstance(exc, OSError) and exc.strerror:
            why = one_line(exc.strerror)
        else:
            why = one_line(exc) or type(exc).__name__
        raise ImageIOError(f"cannot save {shown}: {why}") from exc
    finally:
        _TEMPORARIES.discard(tmp_name)
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
        return clean_exif_bytes(parsed)
    except Exception as exc:
        notes.append(f"the EXIF data could not be parsed and was not written ({one_line(exc)})")
        return None


def _exif_with_resolution(
    exif_bytes: bytes | None, dpi: tuple[float, float], notes: list[str], name: str
) -> bytes | None:
    """``exif_bytes`` (or a new EXIF block) with XResolution, YResolution and ResolutionUnit
    (inches) set to ``dpi``: how a format without a resolution field of its own (WebP) keeps it."""
    from fractions import Fraction

    from PIL.TiffImagePlugin import IFDRational

    try:
        parsed = Image.Exif()
        if exif_bytes:
            parsed.load(exif_bytes)
        parsed[X_RESOLUTION], parsed[Y_RESOLUTION] = (
            IFDRational(Fraction(float(v)).limit_denominator(10_000)) for v in dpi
        )
        parsed[RESOLUTION_UNIT] = 2  # inches
        return parsed.tobytes()
    except Exception as exc:
        notes.append(f"the resolution ({dpi[0]:g}x{dpi[1]:g} dpi) could not be stored in {name} ({one_line(exc)})")
        return exif_bytes


def _deep_samples(image: np.ndarray, alpha: np.ndarray | None, mode: str, source: Any) -> np.ndarray:
    """uint16 (H, W, C) for a 16-bit save, keeping ``source``'s samples where nothing changed."""
    original = getattr(source, "original16", None)
    loaded = getattr(source, "image", None)
    loaded_alpha = getattr(source, "alpha", None)
    if mode == "I;16":
        new = luminance(image)[:, :, None]
        ref = loaded[:, :, :1] if loaded is not None else None
        orig = original[:, :, None] if original is not None and original.ndim == 2 else None
    else:
        new = image
        ref = loaded
        orig = original[:, :, :3] if original is not None and original.ndim == 3 else None
    channels = [deepen(new, ref, orig)]
    if alpha is not None:
        orig_a = original[:, :, 3:4] if orig is not None and original.ndim == 3 and original.shape[2] == 4 else None
        ref_a = loaded_alpha[:, :, None] if loaded_alpha is not None and orig_a is not None else None
        channels.append(deepen(alpha[:, :, None], ref_a, orig_a))
    return np.concatenate(channels, axis=2) if len(channels) > 1 else channels[0]


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
    mode: str = "RGB",
    source: Any = None,
    threads: int = 1,
) -> list[str]:
    """Write ``image`` (uint8 (H, W, 3) RGB) atomically in the format ``path``'s extension names.

    ``alpha`` (uint8 (H, W)) is stored in PNG, WebP and TIFF; JPEG and BMP cannot store it,
    so it is dropped with a warning. ``icc_profile`` (RGB profiles only) and ``exif``
    (Orientation reset to 1, since the pixels are upright) are written where the format
    supports them; ``dpi`` in PNG, JPEG, TIFF and BMP. ``quality`` (1..100) drives JPEG and
    lossy WebP; ``lossless`` selects lossless WebP.

    ``mode`` is what is written: "RGB"; "L" (greyscale by luminance, exact where R = G = B);
    "I;16" or "RGB;16" (16-bit grey or colour, in PNG and TIFF; other formats get 8 bits
    with a warning). With ``source`` (the loaded :class:`~inpaint_gui.core.image.io.Photo`),
    a 16-bit save keeps the file's own 16-bit samples where ``image`` still equals
    ``source.image``. ``Photo.save_options()`` gives all of these as the input had them.
    A PNG of :data:`FAST_PNG_PIXELS` or more is deflated on ``threads`` threads.

    Returns the warnings (what could not be stored); logged at debug level only, since the
    caller shows them. Raises ImageIOError naming the file if it cannot be written; the
    target is then untouched.
    """
    fmt = output_format_for(path)
    image = _check_image(image)
    _check_quality(path, quality)
    if mode not in SAVE_MODES:
        raise ValueError(f"mode must be one of {SAVE_MODES}, got {mode!r}")
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
        space = icc_colour_space(icc_profile)
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
    if dpi is not None and fmt == "WEBP":  # no resolution field in WebP: its EXIF holds it
        exif_bytes = _exif_with_resolution(exif_bytes, dpi, notes, name)
    if mode in ("I;16", "RGB;16") and fmt not in _DEEP_FORMATS:
        notes.append(f"{fmt} cannot store 16 bits per channel; {name} was saved at 8 bits")
        mode = "L" if mode == "I;16" else "RGB"
    if dpi is not None and fmt in _DPI_FORMATS:
        dpi = (float(dpi[0]), float(dpi[1]))
    else:
        dpi = None

    write: Callable[[IO[bytes]], None]
    large = image.shape[0] * image.shape[1] >= FAST_PNG_PIXELS
    meta = {"icc_profile": icc_profile, "exif": exif_bytes, "dpi": dpi}
    if mode in ("I;16", "RGB;16"):
        samples = _deep_samples(image, alpha, mode, source)
        if fmt == "PNG":
            fast = {"level": FAST_PNG_LEVEL, "filter": "sub", "rle": True, "threads": threads} if large else {}

            def write(fh: IO[bytes]) -> None:
                write_png16(fh, samples, **meta, **{"level": PNG_COMPRESS_LEVEL, **fast})
        else:

            def write(fh: IO[bytes]) -> None:
                write_tiff16(fh, samples, **meta, level=PNG_COMPRESS_LEVEL)
    elif fmt == "PNG" and large:
        pixels = luminance(image) if mode == "L" else image  # (H, W) or (H, W, 3): no copy for RGB
        if alpha is not None:
            pixels = np.dstack([pixels, alpha])

        def write(fh: IO[bytes]) -> None:
            write_png(fh, pixels, **meta, level=FAST_PNG_LEVEL, filter="sub", rle=True, threads=threads)
    else:
        pixels = luminance(image) if mode == "L" else image
        if mode == "L" and fmt == "WEBP":  # WebP has no greyscale: the grey in all three channels
            pixels = np.repeat(pixels[:, :, None], 3, axis=2)
        pil = Image.fromarray(pixels)  # L (H, W) or RGB (H, W, 3)
        if alpha is not None:
            pil = Image.merge(pil.mode + "A", [*pil.split(), Image.fromarray(alpha)])
        params: dict[str, Any] = {}
        if fmt == "PNG":
            params.update(compress_level=PNG_COMPRESS_LEVEL)
        elif fmt == "JPEG":
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
        if dpi is not None:
            params["dpi"] = dpi

        def write(fh: IO[bytes]) -> None:
            _write_image(pil, fh, fmt, params)

    atomic_write(path, write)
    for note in notes:
        log.debug("%s: %s", os.fspath(path), note)
    return notes
