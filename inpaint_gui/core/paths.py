"""Paths the system cannot hold, found before anything touches the file system.

A file name (one part of a path) longer than the file system allows (255 bytes on most) makes
every call on the path fail with "File name too long" (``ENAMETOOLONG``), ``Path.exists()`` and
``Path.is_dir()`` included; :func:`name_problem` says so in words first, so that a check can
turn it into a one-line error naming the part.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path

NAME_MAX = 255  # bytes in one file name: ext4, XFS, Btrfs, APFS, NTFS (in UTF-16 units)
PATH_MAX = 4096  # bytes in a whole path (Linux)


def _limit(path: Path, key: str, default: int) -> int:
    """``os.pathconf`` of the deepest folder of ``path`` that exists (``default`` where the
    system cannot say)."""
    probe = path.absolute().parent
    for folder in (probe, *probe.parents):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if os.path.isdir(folder):
                value = os.pathconf(folder, key)
                return value if value and value > 0 else default
    return default


def shorten(text: str, keep: int = 24) -> str:
    """``text`` with its middle left out when longer than about ``2 * keep`` characters."""
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep // 2 :]}"


def name_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot name a file here because it, or a part of it, is too long; None if
    it can. Reads nothing but the limits of the folder that holds it."""
    raw = os.fsencode(os.fspath(path))
    seps = {os.sep.encode(), (os.altsep or os.sep).encode()}
    parts = [raw]
    for sep in seps:
        parts = [piece for part in parts for piece in part.split(sep)]
    longest = max(parts, key=len, default=b"")
    name_max = _limit(Path(os.fsdecode(raw)), "PC_NAME_MAX", NAME_MAX)
    if len(longest) > name_max:
        name = shorten(os.fsdecode(longest))
        return f"the name {name!r} is {len(longest)} bytes long, more than the {name_max} a file name can have"
    whole = len(os.fsencode(os.path.abspath(os.fsdecode(raw))))
    path_max = _limit(Path(os.fsdecode(raw)), "PC_PATH_MAX", PATH_MAX)
    if whole >= path_max:
        return f"the path is {whole} bytes long, more than the {path_max - 1} a path can have"
    return None


def is_too_long(exc: BaseException) -> bool:
    """``exc`` is the system's "File name too long"."""
    return isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG


def loop_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be written through: a symbolic link that loops (to itself, or
    through other links back to itself); None otherwise."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return (
                "it is a symbolic link that loops (to itself or through other links); remove it or choose another name"
            )
    return None


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
