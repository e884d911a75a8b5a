"""Training images: any folder of photos, decoded once into a compact uint8 cache.

Each image is centre-square-cropped and area-resized to the model's side S, and the whole set
is kept as one uint8 array (N, S, S, 3) saved as ``.npy``; 16k faces at 64x64 take 196 MB and
load in well under a second, so epochs on two cores are spent training, not decoding JPEGs.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 (N, S, S, 3)
    skipped: int  # files that could not be decoded
    source: Path
    cache_path: Path | None

    def __len__(self) -> int:
        return len(self.images)


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursively, sorted for determinism."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def load_rgb(paths: list[Path]) -> list[np.ndarray]:
    """Each file as it is, uint8 RGB (H, W, 3): no crop or resize (the small networks cut windows)."""
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths]


def square_resize(im: Image.Image, size: int) -> np.ndarray:
    """Centre square crop, then area-resize to (size, size); returns uint8 (size, size, 3)."""
    im = ImageOps.exif_transpose(im).convert("RGB")
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    im = im.crop((left, top, left + side, top + side))
    if side != size:
        im = im.resize((size, size), Image.Resampling.BOX if side > size else Image.Resampling.BICUBIC)
    return np.asarray(im, dtype=np.uint8)


def _decode(path: Path, size: int) -> np.ndarray | None:
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (size, size))  # let libjpeg decode at a reduced scale (>= size)
            return square_resize(im, size)
    except Exception:  # corrupt, truncated or not an image: counted by the caller
        return None


def _cache_key(files: list[Path], size: int) -> str:
    h = hashlib.sha256(f"v1:{size}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "inpaint-gui"


def load_image_set(folder: Path, size: int, cache_dir: Path | None = None, workers: int | None = None) -> ImageSet:
    """Decode every image under ``folder`` to (size, size, 3), reusing the cache when the
    files are unchanged. Corrupt files are skipped and counted."""
    folder = Path(folder)
    if not folder.is_dir():
        from inpaint_gui.core.errors import InpaintError

        raise InpaintError(f"{folder}: not a folder of training images")
    files = list_images(folder)
    cache_path = None
    if cache_dir is not None:
        cache_path = Path(cache_dir) / f"{folder.name}-{size}-{_cache_key(files, size)}.npz"
        if cache_path.is_file():
            with np.load(cache_path) as z:
                return ImageSet(z["images"], int(z["skipped"]), folder, cache_path)
    workers = workers or min(8, (os.cpu_count() or 1) + 1)
    with ThreadPoolExecutor(workers) as pool:
        decoded = list(pool.map(lambda p: _decode(p, size), files))
    good = [a for a in decoded if a is not None]
    skipped = len(decoded) - len(good)
    images = np.stack(good) if good else np.zeros((0, size, size, 3), np.uint8)
    if cache_path is not None and len(images):
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp.npz")
        np.savez(tmp, images=images, skipped=np.int64(skipped))
        os.replace(tmp, cache_path)
    return ImageSet(images, skipped, folder, cache_path)
