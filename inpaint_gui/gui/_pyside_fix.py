"""Work around a reference-count bug of PySide6 6.12 on CPython 3.11 and older.

PySide6 6.12's stable-ABI (abi3) binaries return ``None`` from every void C++ method without
taking a reference, which is only harmless on CPython >= 3.12 where ``None`` is immortal. On
3.11 each such call (``QWidget.update``, ``QPainter.setPen``, ``processEvents`` ...) lowers
``None``'s reference count by one, and after a few tens of thousands of calls the interpreter
aborts with "Fatal Python error: none_dealloc". The app makes that many calls within minutes.

:func:`apply` detects the bug with a harmless call and, only if it is present, adds 2**40
references to ``None``, ``True`` and ``False``: in effect the immortality CPython 3.12 gives
them. Nothing changes on unaffected versions.
"""

from __future__ import annotations

import sys

_EXTRA_REFS = 1 << 40  # at a million leaked references per second: 12 days
applied = False


def affected() -> bool:
    """True if a void PySide6 call leaks a reference to None in this interpreter."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    from PySide6.QtCore import QRect

    r = QRect(0, 0, 1, 1)
    before = sys.getrefcount(None)
    for _ in range(16):
        r.setWidth(1)  # a void method
    return sys.getrefcount(None) < before - 8


def apply() -> bool:
    """Make None/True/False effectively immortal if this PySide6 needs it; True if it did."""
    global applied
    if applied or not affected():
        return applied
    import ctypes

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA_REFS  # ob_refcnt is the first field
    applied = True
    return True
