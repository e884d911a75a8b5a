"""The recovery copy of unsaved work: its files, written atomically, read back and verified.

No Qt here; the window's side (when to write, the startup question) is ``gui/recovery.py``.
One folder per running window holds, beside the photo on disk (never copied):

- ``manifest.json``: which photo (path, size, modification time, SHA-256 of its bytes), when,
  and the files below with their SHA-256: written last, by a rename, so that whatever moment
  the process dies at, the manifest names complete files only;
- ``mask-<hash>.png`` and ``exclude-<hash>.png``: the hole and "don't copy from" layers, 1-bit
  PNG (absent when empty);
- ``fill-<hash>.npz``: each applied fill of the undo history as its patches (the pixels before
  and after in the changed rectangle, and the hole bits it cleared), written once;
- ``base-<hash>.npz``: only when the undo history dropped its oldest fills (its memory budget):
  the pixels they changed, as one patch.

Files are named by a hash of their contents, so a file is never rewritten in place; the ones
the manifest no longer names are removed after it is replaced. Reading checks every file's
hash, shape and bounds, and :func:`replay` checks each fill's "before" pixels against the photo,
so a damaged copy or a photo that changed is found before anything is shown.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_gui.core.errors import InpaintError
from inpaint_gui.core.paths import sha256_file

FORMAT = 1
MANIFEST = "manifest.json"
LOCK = "lock"  # the running window's lock file (gui/recovery.py): kept by the file clean-up
Rect = tuple[int, int, int, int]  # (x0, y0, x1, y1), end exclusive
LAYERS = ("mask", "exclude")
KEEP = object()  # write(base=KEEP): the base patch as last written


class RecoveryError(InpaintError):
    """A recovery copy that cannot be read back (damaged, incomplete, or not for this photo)."""


# -- what is kept ------------------------------------------------------------------------------------
@dataclass(eq=False)
class PixelPart:
    """The photo's pixels in ``rect`` before and after a change: uint8 (h, w, 3) each."""

    rect: Rect
    before: np.ndarray
    after: np.ndarray


@dataclass(eq=False)
class MaskPart:
    """A change of a mask layer in ``rect``: the XOR of before and after, bit-packed (``shape`` is
    the rectangle's (h, w))."""

    layer: str
    rect: Rect
    shape: tuple[int, int]
    bits: np.ndarray


@dataclass(eq=False)
class Fill:
    """One applied fill, as the undo history holds it: its label and its parts, in order."""

    label: str
    parts: list[PixelPart | MaskPart]


@dataclass(frozen=True)
class PhotoStamp:
    """What identifies the photo's file: a change to it is found by :meth:`problem`."""

    path: str
    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike) -> PhotoStamp:
        p = Path(path).absolute()
        st = p.stat()
        return cls(str(p), st.st_size, st.st_mtime_ns, sha256_file(p))

    def problem(self) -> str | None:
        """Why the photo is no longer what the work was done on (missing, changed), or None.
        A file only touched (same bytes, new time) is the same photo."""
        p = Path(self.path)
        try:
            st = p.stat()
            if st.st_size == self.size and st.st_mtime_ns == self.mtime_ns:
                return None
            same = st.st_size == self.size and sha256_file(p) == self.sha256
        except FileNotFoundError:
            return f"{p.name} is no longer in {p.parent}"
        except OSError as exc:
            return f"{p.name} cannot be read ({exc.strerror or exc})"
        if same:
            return None
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(st.st_mtime))
        return f"{p.name} has changed on disk since (modified {when})"


@dataclass(eq=False)
class Recovery:
    """A recovery copy: the photo it is for, the layers, the fills (``applied`` of them in
    effect, the rest undone: the redo history) and the ``base`` patch of dropped fills."""

    photo: PhotoStamp
    shape: tuple[int, int]
    written: float  # time.time() of the write
    mask: np.ndarray | None  # bool (H, W), None: empty
    exclude: np.ndarray | None
    fills: list[Fill] = field(default_factory=list)
    applied: int = 0
    base: PixelPart | None = None  # "before" is unused (empty)

    @property
    def name(self) -> str:
        return Path(self.photo.path).name


@dataclass(frozen=True)
class Summary:
    """What the startup question says, from the manifest alone."""

    folder: Path
    photo: PhotoStamp
    written: float
    fills: int
    applied: int

    @property
    def name(self) -> str:
        return Path(self.photo.path).name


# -- files -------------------------------------------------------------------------------------------
def _write_new(folder: Path, name: str, data: bytes) -> None:
    """Write ``data`` as ``folder/name`` atomically (a temporary file, fsync, rename)."""
    from inpaint_gui.core.image.save import atomic_write

    atomic_write(folder / name, lambda fh: fh.write(data))


def _entry(folder: Path, prefix: str, suffix: str, data: bytes) -> dict:
    """Store ``data`` under a name made of its hash (nothing to do when that file exists)."""
    digest = hashlib.sha256(data).hexdigest()
    name = f"{prefix}-{digest[:24]}{suffix}"
    if not (folder / name).is_file():
        _write_new(folder, name, data)
    return {"file": name, "sha256": digest}


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (``np.load`` reads it) whose bytes depend on the arrays only (zip entries without
    the time of day), so the same fill always gets the same name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def fill_bytes(fill: Fill) -> bytes:
    """``fill`` as the bytes of its file."""
    meta: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    for i, part in enumerate(fill.parts):
        if isinstance(part, PixelPart):
            meta.append({"kind": "pixels", "rect": list(part.rect)})
            arrays[f"before{i}"], arrays[f"after{i}"] = part.before, part.after
        else:
            meta.append({"kind": "mask", "layer": part.layer, "rect": list(part.rect), "shape": list(part.shape)})
            arrays[f"bits{i}"] = part.bits
    header = json.dumps({"label": fill.label, "parts": meta}).encode()
    return _npz({"header": np.frombuffer(header, np.uint8), **arrays})


def _layer_bytes(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, bool)).save(buf, format="PNG", compress_level=1)  # mode "1": a bit a pixel
    return buf.getvalue()


@dataclass(eq=False)
class Written:
    """The files one :func:`write` stored, to pass back as ``known`` next time (no re-encoding)."""

    fills: dict[int, dict] = field(default_factory=dict)  # caller's key -> manifest entry
    layers: dict[str, dict | None] = field(default_factory=dict)  # "mask" / "exclude" -> entry or None
    base: dict | None = None


def write(
    folder: str | os.PathLike,
    photo: PhotoStamp,
    shape: tuple[int, int],
    fills: list[tuple[int, Fill | None]],
    applied: int,
    layers: dict[str, np.ndarray | None],
    *,
    base: object = KEEP,
    known: Written | None = None,
) -> Written:
    """Store the work in ``folder`` (created if missing) and make it the recovery copy.

    ``fills``: (key, fill) in history order; a key already in ``known.fills`` needs no fill
    (None: its file is there). ``layers``: the bool (H, W) layers that changed since ``known``
    (a layer absent from the dict keeps its file; None or an empty array: no file). ``base``:
    the patch of fills the history dropped, None for none, :data:`KEEP` for ``known``'s. The
    manifest is replaced last, then the files it no longer names are removed. Returns what is
    stored, for the next call's ``known``.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)  # the user's work: theirs alone
    known = known or Written()
    out = Written()
    for key, fill in fills:
        if key in known.fills:
            out.fills[key] = known.fills[key]
        elif fill is None:
            raise ValueError(f"fill {key} is neither given nor already written")
        else:
            out.fills[key] = _entry(folder, "fill", ".npz", fill_bytes(fill)) | {"label": fill.label}
    for layer in LAYERS:
        if layer in layers:
            arr = layers[layer]
            out.layers[layer] = (
                None if arr is None or not arr.any() else _entry(folder, layer, ".png", _layer_bytes(arr))
            )
        else:
            out.layers[layer] = known.layers.get(layer)
    if base is KEEP:
        out.base = known.base
    elif isinstance(base, PixelPart):
        out.base = _entry(folder, "base", ".npz", _npz({"rect": np.asarray(base.rect, np.int64), "after": base.after}))
    manifest = {
        "format": FORMAT,
        "app": "inpaint-gui",
        "written": time.time(),
        "photo": {"path": photo.path, "size": photo.size, "mtime_ns": photo.mtime_ns, "sha256": photo.sha256},
        "shape": [int(shape[0]), int(shape[1])],
        "layers": out.layers,
        "base": out.base,
        "fills": [out.fills[key] for key, _fill in fills],
        "applied": int(applied),
    }
    _write_new(folder, MANIFEST, json.dumps(manifest, indent=1).encode())
    keep = {MANIFEST, LOCK, *(e["file"] for e in out.fills.values())}
    keep |= {e["file"] for e in (*out.layers.values(), out.base) if e is not None}
    _remove_others(folder, keep)
    return out


def _remove_others(folder: Path, keep: set[str]) -> None:
    for p in folder.iterdir():
        if p.name not in keep and not p.name.startswith(LOCK) and p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()


def discard(folder: str | os.PathLike, keep_lock: bool = True) -> None:
    """Remove the recovery copy in ``folder`` (the manifest first: what is left is no copy);
    the folder too unless ``keep_lock`` (the running window's lock file stays)."""
    folder = Path(folder)
    with contextlib.suppress(FileNotFoundError):
        (folder / MANIFEST).unlink()
    if folder.is_dir():
        _remove_others(folder, set())
    if not keep_lock:
        for p in folder.glob(f"{LOCK}*") if folder.is_dir() else []:
            with contextlib.suppress(OSError):
                p.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()


# -- reading -----------------------------------------------------------------------------------------
def _manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecoveryError(f"{folder.name}: no recovery copy (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise RecoveryError(f"{folder.name}: the recovery copy's {MANIFEST} is damaged ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecoveryError(f"{folder.name}: not a recovery copy this version reads (format {data.get('format')!r})")
    return data


def _stamp(data: dict) -> PhotoStamp:
    p = data["photo"]
    return PhotoStamp(str(p["path"]), int(p["size"]), int(p["mtime_ns"]), str(p["sha256"]))


def summary(folder: str | os.PathLike) -> Summary:
    """The manifest's account of the copy in ``folder`` (RecoveryError if there is none)."""
    folder = Path(folder)
    data = _manifest(folder)
    try:
        return Summary(folder, _stamp(data), float(data["written"]), len(data["fills"]), int(data["applied"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RecoveryError(f"{folder.name}: the recovery copy's {MANIFEST} is incomplete ({exc})") from None


def _load(folder: Path, entry: dict) -> bytes:
    try:
        data = (folder / entry["file"]).read_bytes()
    except (OSError, KeyError, TypeError) as exc:
        raise RecoveryError(f"a file of the recovery copy is missing ({exc})") from None
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise RecoveryError(f"{entry['file']} of the recovery copy is damaged (its checksum does not match)")
    return data


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rect(value, shape: tuple[int, int]) -> Rect:
    x0, y0, x1, y1 = (int(v) for v in value)
    if not (0 <= x0 < x1 <= shape[1] and 0 <= y0 < y1 <= shape[0]):
        raise ValueError(f"rectangle {x0},{y0},{x1},{y1} is outside the {shape[1]}x{shape[0]} photo")
    return (x0, y0, x1, y1)


def _pixels(arr: np.ndarray, rect: Rect) -> np.ndarray:
    x0, y0, x1, y1 = rect
    if arr.dtype != np.uint8 or arr.shape != (y1 - y0, x1 - x0, 3):
        raise ValueError(f"pixels of {arr.dtype} {arr.shape} do not fill rectangle {rect}")
    return arr


def _fill(data: bytes, shape: tuple[int, int]) -> Fill:
    arrays = _arrays(data)
    header = json.loads(arrays["header"].tobytes().decode())
    parts: list[PixelPart | MaskPart] = []
    for i, meta in enumerate(header["parts"]):
        rect = _rect(meta["rect"], shape)
        if meta["kind"] == "pixels":
            parts.append(PixelPart(rect, _pixels(arrays[f"before{i}"], rect), _pixels(arrays[f"after{i}"], rect)))
        elif meta["kind"] == "mask" and meta["layer"] in LAYERS:
            h, w = (int(v) for v in meta["shape"])
            bits = arrays[f"bits{i}"]
            if (h, w) != (rect[3] - rect[1], rect[2] - rect[0]) or bits.dtype != np.uint8 or bits.size * 8 < h * w:
                raise ValueError(f"mask bits of {bits.dtype} {bits.shape} do not fill rectangle {rect}")
            parts.append(MaskPart(meta["layer"], rect, (h, w), bits))
        else:
            raise ValueError(f"unknown part {meta.get('kind')!r}")
    return Fill(str(header["label"]), parts)


def _layer(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        arr = np.asarray(im.convert("L")) >= 128  # not asarray(mode "1"): a bool array holding bytes of 255
    if arr.shape != shape:
        raise ValueError(f"a layer of {arr.shape[1]}x{arr.shape[0]} for a {shape[1]}x{shape[0]} photo")
    return arr


def read(folder: str | os.PathLike) -> Recovery:
    """The recovery copy in ``folder``, every file verified (RecoveryError naming what is wrong)."""
    folder = Path(folder)
    data = _manifest(folder)
    try:
        shape = (int(data["shape"][0]), int(data["shape"][1]))
        layers = {
            k: None if data["layers"].get(k) is None else _layer(_load(folder, data["layers"][k]), shape)
            for k in LAYERS
        }
        fills = [_fill(_load(folder, e), shape) for e in data["fills"]]
        applied = int(data["applied"])
        if not 0 <= applied <= len(fills):
            raise ValueError(f"{applied} fills applied of {len(fills)}")
        base = None
        if data.get("base") is not None:
            arrays = _arrays(_load(folder, data["base"]))
            rect = _rect(arrays["rect"], shape)
            base = PixelPart(rect, np.zeros((0, 0, 3), np.uint8), _pixels(arrays["after"], rect))
        return Recovery(
            _stamp(data), shape, float(data["written"]), layers["mask"], layers["exclude"], fills, applied, base
        )
    except RecoveryError:
        raise
    except (KeyError, TypeError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise RecoveryError(f"the recovery copy in {folder.name} is damaged ({exc})") from None


def replay(image: np.ndarray, recovery: Recovery) -> None:
    """Bring ``image`` (the photo as loaded, uint8 (H, W, 3); changed in place) to the state the
    copy was written in: the base patch, then the applied fills. Raises RecoveryError when a
    fill's "before" pixels are not the photo's (it is not the photo the work was done on); the
    fills of the redo history are checked too, against the state they were undone to."""
    if image.shape[:2] != recovery.shape:
        h, w = recovery.shape
        raise RecoveryError(
            f"the work was done on a {w}x{h} photo; {recovery.name} is {image.shape[1]}x{image.shape[0]}"
        )

    def put(part: PixelPart, pixels: np.ndarray) -> None:
        x0, y0, x1, y1 = part.rect
        image[y0:y1, x0:x1] = pixels

    def check(part: PixelPart, pixels: np.ndarray, index: int) -> None:
        x0, y0, x1, y1 = part.rect
        if not np.array_equal(image[y0:y1, x0:x1], pixels):
            raise RecoveryError(
                f"fill {index + 1} of the recovery copy does not match {recovery.name}: the photo is not the one "
                f"the work was done on"
            )

    if recovery.base is not None:
        put(recovery.base, recovery.base.after)
    for i, fill in enumerate(recovery.fills):
        for part in (p for p in fill.parts if isinstance(p, PixelPart)):
            check(part, part.before, i)
            put(part, part.after)
    for i in reversed(range(recovery.applied, len(recovery.fills))):  # the redo history: undone again
        for part in reversed([p for p in recovery.fills[i].parts if isinstance(p, PixelPart)]):
            check(part, part.after, i)
            put(part, part.before)
