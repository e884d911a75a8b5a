"""Load and save photos and masks: the one module callers import.

Reading goes through Pillow (:mod:`~inpaint_gui.core.image.decode`). Every photo comes back
upright (its EXIF orientation applied, the tag reset to 1) as uint8 (H, W, 3) RGB whatever
the file holds: greyscale, palette, 16-bit, float, CMYK (colour-managed when the file carries
a CMYK profile), LAB, YCbCr. 16-bit samples are rounded to 8 bits (65535 -> 255, 257 -> 1)
for grey and colour alike. Alpha travels beside the pixels; an RGB ICC profile, the EXIF
block and the resolution are kept for saving, and so is what is needed to write the photo
back in its own mode: greyscale stays greyscale, 16-bit stays 16-bit (PNG, TIFF), lossless
WebP stays lossless (:meth:`Photo.save_options`).

Saving (:func:`save_photo`, :func:`check_output_path`) lives in
:mod:`~inpaint_gui.core.image.save`; masks (:func:`load_mask`, the hole rule,
:func:`hole_share_warning`) in :mod:`~inpaint_gui.core.image.masks`.

Every problem with a file raises :class:`~inpaint_gui.core.errors.ImageIOError` (or
:class:`~inpaint_gui.core.errors.MaskError` for a mask that does not fit) whose one-line
message names the file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inpaint_gui.core.image.decode import StrPath, read, read_error, to_rgb
from inpaint_gui.core.image.masks import hole_share_warning, load_mask, save_mask
from inpaint_gui.core.image.save import (
    PNG_COMPRESS_LEVEL,
    SUPPORTED_SAVE_EXTENSIONS,
    TEMP_PREFIX,
    check_output_path,
    output_format_for,
    save_photo,
)

__all__ = [
    "PNG_COMPRESS_LEVEL",
    "SUPPORTED_SAVE_EXTENSIONS",
    "TEMP_PREFIX",
    "Photo",
    "check_output_path",
    "hole_share_warning",
    "load_mask",
    "load_photo",
    "output_format_for",
    "save_mask",
    "save_photo",
]

log = logging.getLogger(__name__)

_GREY_MODES = frozenset({"1", "L", "LA", "La"})


@dataclass(eq=False)
class Photo:
    """A decoded photo, upright, with what is needed to save it back faithfully."""

    image: np.ndarray = field(repr=False)  # uint8 (H, W, 3) RGB, orientation applied
    alpha: np.ndarray | None = field(repr=False)  # uint8 (H, W) or None
    icc_profile: bytes | None = field(repr=False)  # an RGB profile, or None (sRGB)
    exif: bytes | None = field(repr=False)  # b"Exif\0\0..." with Orientation reset to 1
    format: str | None  # as Pillow names it: "JPEG", "PNG", "TIFF", ...
    path: Path | None
    # The file's mode before conversion: Pillow's ("L", "I;16", "CMYK", "P", ...), or
    # "RGB;16" / "RGBA;16" for 16-bit colour (which Pillow calls "RGB").
    mode: str = "RGB"
    dpi: tuple[float, float] | None = None  # (x, y) after orientation, if the file says
    warnings: list[str] = field(default_factory=list)  # what was approximated or dropped
    # The file's 16-bit samples, upright: uint16 (H, W) grey or (H, W, 3|4) colour (+ alpha).
    original16: np.ndarray | None = field(default=None, repr=False)
    lossless_webp: bool = False  # the file was a lossless (VP8L) WebP

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def save_mode(self) -> str:
        """The mode that writes this photo back as it came: "L", "I;16", "RGB;16" or "RGB"."""
        if self.original16 is not None:
            return "I;16" if self.original16.ndim == 2 else "RGB;16"
        if self.mode in _GREY_MODES:
            return "L"
        if self.mode in ("I", "F") or self.mode.startswith("I;16"):  # rescaled to 8-bit grey
            return "L"
        return "RGB"

    def save_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`save_photo` that write a result like this photo:
        its alpha, colour profile, EXIF, resolution, mode and depth, and lossless WebP when
        it was lossless. Usage: ``save_photo(out, result, quality=q, **photo.save_options())``.
        """
        return {
            "alpha": self.alpha,
            "icc_profile": self.icc_profile,
            "exif": self.exif,
            "dpi": self.dpi,
            "lossless": self.lossless_webp,
            "mode": self.save_mode,
            "source": self,
        }


def load_photo(path: StrPath) -> Photo:
    """Read a photo as upright uint8 (H, W, 3) RGB with its alpha, ICC profile and EXIF.

    Raises ImageIOError naming the file if it is missing, a folder, unreadable, corrupt,
    truncated, of an unsupported format, or too large to open safely.
    """
    dec = read(path)
    notes = list(dec.notes)
    try:
        px = to_rgb(dec, dec.icc, notes)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise read_error(path, exc) from exc
    for note in notes:
        log.info("%s: %s", os.fspath(path), note)
    return Photo(
        image=px.rgb,
        alpha=px.alpha,
        icc_profile=px.icc,
        exif=dec.exif,
        format=dec.format,
        path=Path(path),
        mode=dec.mode,
        dpi=dec.dpi,
        warnings=notes,
        original16=px.deep,
        lossless_webp=dec.lossless_webp,
    )
