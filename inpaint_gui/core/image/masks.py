"""Mask files: which pixels are the hole.

The rule, for a mask image of the photo's size (EXIF orientation applied first):

* **No alpha, or fully opaque:** a pixel is part of the hole where it is bright: its
  brightest channel is at least half of full scale (>= 128 of 255, >= 32768 of 65535). White
  (or any bright colour) is the hole, black is kept. The midpoint, rather than "not black",
  keeps JPEG ringing (the values 1..30 a JPEG puts around white strokes) and near-black
  noise out of the hole. One exception: a mask whose only values are 0 and 1 (a label image
  written without scaling, as ``mask.astype(np.uint8)`` gives) has its 1s as the hole.
* **Some pixels transparent** (alpha < 128): what painting programs (GIMP, Photoshop,
  Krita) export when you paint strokes on a transparent layer. The mask is flattened onto
  black, so the hole is where it is opaque *and* bright (brightness x alpha >= 128): the
  strokes. Transparent pixels are never the hole, whatever colour they store. One exception:
  if the opaque part looks like a photo (a copy of the photo with the unwanted part erased
  to transparency), the transparent part is the hole.
* **Not a mask:** an opaque image that looks like a photo -- many grey levels rather than
  two -- is refused with a one-line MaskError (pass the mask, not the photo); so is a mask
  file that marks no hole at all (all dark, or dark strokes on a transparent layer), with a
  message that says what the rule wants.

:func:`hole_share_warning` says when a hole covers most of the photo, the sign of an
inverted mask.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_gui.core.errors import ImageIOError, MaskError
from inpaint_gui.core.image import save as _save
from inpaint_gui.core.image.decode import StrPath, grey_to_u8, read, read_error, to_rgb

#: Brightness (0..255) from which a pixel is part of the hole.
HOLE_THRESHOLD = 128
#: A hole covering more than this share of the photo earns a warning.
LARGE_HOLE_SHARE = 0.5

# "Looks like a photo": more than a quarter of the pixels are mid-grey (between 32 and 223)
# and those take at least 64 different levels. A mask is two levels plus edges: soft-brush
# and anti-aliased edges, and JPEG ringing, are a thin band around the strokes; a flat grey
# stroke is one level (a JPEG of it, a few dozen at most).
_MID_LOW, _MID_HIGH = 32, 224
_PHOTO_MID_SHARE = 0.25
_PHOTO_MID_LEVELS = 64


def _mid_grey(values: np.ndarray) -> tuple[float, int]:
    """Share of ``values`` (uint8) that are mid-grey, and how many levels those take."""
    if values.size == 0:
        return 0.0, 0
    flat = values.ravel()
    counts = np.zeros(256, np.int64)
    for lo in range(0, flat.size, 1 << 22):  # bincount widens to int64: 8 bytes a pixel if done at once
        counts += np.bincount(flat[lo : lo + (1 << 22)], minlength=256)
    mid = counts[_MID_LOW:_MID_HIGH]
    return float(mid.sum()) / values.size, int(np.count_nonzero(mid))


def looks_like_photo(values: np.ndarray) -> bool:
    """True when uint8 brightness ``values`` spread over many grey levels, as a photo's do."""
    share, levels = _mid_grey(values)
    return share > _PHOTO_MID_SHARE and levels >= _PHOTO_MID_LEVELS


def hole_from(brightness: np.ndarray, alpha: np.ndarray | None, name: str = "the mask") -> np.ndarray:
    """The hole (bool (H, W)) of a mask given its brightness and alpha (uint8 (H, W) each).

    Implements the rule in the module docstring; raises MaskError for a photo.
    """
    if alpha is not None and bool((alpha < 128).any()):
        opaque = alpha >= 128
        if opaque.any() and looks_like_photo(brightness[opaque]):
            return ~opaque  # a photo with the hole erased to transparency
        flat = (brightness.astype(np.uint32) * alpha + 127) // 255  # onto black
        return flat >= HOLE_THRESHOLD
    if looks_like_photo(brightness):
        share, levels = _mid_grey(brightness)
        raise MaskError(
            f"{name} does not look like a mask: {share:.0%} of its pixels are mid-grey, in {levels} "
            f"levels (a mask is white or bright where the hole is and black elsewhere)"
        )
    if brightness.size and int(brightness.max()) == 1:
        return brightness == 1  # a 0/1 label image
    return brightness >= HOLE_THRESHOLD


def _no_hole_message(brightness: np.ndarray, alpha: np.ndarray | None, name: str) -> str | None:
    """Why a mask file that is not blank marks no hole, or None for a blank (all black) one."""
    if alpha is not None and bool((alpha < 128).any()):
        opaque = alpha >= 128
        if not opaque.any():
            return f"{name} marks no hole: it is fully transparent (paint the hole in white)"
        return (
            f"{name} marks no hole: its opaque pixels are dark, and on a transparent layer the hole is "
            f"what is painted white or bright (transparent pixels are never the hole)"
        )
    brightest = int(brightness.max()) if brightness.size else 0
    if brightest == 0:
        return None
    return (
        f"{name} marks no hole: its brightest pixel is {brightest} of 255, and the hole is where a mask "
        f"is white or bright ({HOLE_THRESHOLD} or more)"
    )


def load_mask(path: StrPath, shape: tuple[int, ...]) -> np.ndarray:
    """Read a mask file as bool (H, W), True = hole, for a photo of ``shape`` (H, W, ...).

    The hole is where the mask is bright (brightest channel >= 128 of 255); for a mask with
    transparent pixels, where it is opaque and bright (painted strokes on a transparent
    layer); see the module docstring for the whole rule. Raises MaskError if the size
    differs from ``shape`` or the file looks like a photo, ImageIOError if it cannot be read.
    """
    h, w = int(shape[0]), int(shape[1])
    dec = read(path)
    im = dec.image
    shown = os.fspath(path)
    if im.size != (w, h):
        raise MaskError(f"{shown} is {im.width}x{im.height} but the photo is {w}x{h}")
    try:
        if im.mode in ("1", "L") and im.info.get("transparency") is None:
            brightness, alpha = grey_to_u8(im, []), None  # no RGB copy: a 48-MP mask is 48 MB, not 144
        else:
            px = to_rgb(dec, None, [])
            brightness, alpha = px.rgb.max(axis=2), px.alpha
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise read_error(path, exc) from exc
    del dec, im
    hole = hole_from(brightness, alpha, shown)
    if not hole.any() and (why := _no_hole_message(brightness, alpha, shown)):
        raise MaskError(why)
    return hole


def hole_share_warning(mask: np.ndarray, name: str | None = None) -> str | None:
    """A one-line warning when the hole covers most of the photo (> 50%), else None.

    For the CLI and the GUI to show after loading a mask: a hole that large is usually an
    inverted mask (black where the hole should be).
    """
    mask = np.asarray(mask, dtype=bool)
    share = float(mask.mean()) if mask.size else 0.0
    if share <= LARGE_HOLE_SHARE:
        return None
    of = f" ({name})" if name else ""
    return f"the hole covers {share:.0%} of the photo{of}: is the mask inverted? (white or bright = hole, black = kept)"


def save_mask(path: StrPath, mask: np.ndarray) -> None:
    """Write a bool (H, W) mask atomically as a lossless greyscale PNG, 255 = hole, 0 = kept."""
    arr = np.asarray(mask)
    if arr.dtype != np.bool_ or arr.ndim != 2:
        raise ValueError(f"mask must be bool (H, W), got {arr.dtype} {arr.shape}")
    if Path(path).suffix.lower() != ".png":
        raise ImageIOError(f"cannot save {os.fspath(path)}: masks are saved as PNG; use a .png name")
    pil = Image.fromarray(arr.astype(np.uint8) * 255, "L")  # (H, W)
    _save.atomic_write(path, lambda fh: _save._write_image(pil, fh, "PNG", {"compress_level": 6}))
