"""The recovery copy's files: written atomically and small, read back verified, replayed only on
the photo the work was done on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from inpaint_gui.core import recovery as rec

RNG = np.random.default_rng(7)


def _photo(tmp_path: Path, h: int = 40, w: int = 50) -> tuple[Path, np.ndarray]:
    from inpaint_gui.core.image.io import save_photo

    image = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
    save_photo(tmp_path / "photo.png", image)
    return tmp_path / "photo.png", image


def _fill(image: np.ndarray, rect, seed: int, label: str = "Apply fill") -> rec.Fill:
    """A fill of ``rect`` on ``image`` (changed in place), clearing a hole there."""
    x0, y0, x1, y1 = rect
    after = np.random.default_rng(seed).integers(0, 256, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    part = rec.PixelPart(rect, image[y0:y1, x0:x1].copy(), after)
    image[y0:y1, x0:x1] = after
    hole = np.ones((y1 - y0, x1 - x0), bool)
    return rec.Fill(label, [part, rec.MaskPart("mask", rect, hole.shape, np.packbits(hole))])


@pytest.fixture
def work(tmp_path):
    """A photo, two fills (the second undone: the redo history) and both layers."""
    path, original = _photo(tmp_path)
    image = original.copy()
    first = _fill(image, (5, 5, 15, 12), 1)
    after_first = image.copy()
    second = _fill(image, (10, 8, 30, 20), 2)
    mask = np.zeros(original.shape[:2], bool)
    mask[30:35, 40:45] = True
    exclude = np.zeros_like(mask)
    exclude[:, :3] = True
    return path, original, after_first, [first, second], mask, exclude


def _write(folder, path, original, fills, mask, exclude, applied=1, **kw):
    stamp = rec.PhotoStamp.of(path)
    return rec.write(
        folder, stamp, original.shape[:2], list(enumerate(fills)), applied, {"mask": mask, "exclude": exclude}, **kw
    )


def test_the_work_comes_back_as_it_was(tmp_path, work):
    path, original, after_first, fills, mask, exclude = work
    folder = tmp_path / "copy"
    _write(folder, path, original, fills, mask, exclude)
    got = rec.read(folder)
    assert got.photo == rec.PhotoStamp.of(path) and got.shape == original.shape[:2] and got.applied == 1
    np.testing.assert_array_equal(got.mask, mask)
    np.testing.assert_array_equal(got.exclude, exclude)
    assert got.mask.view(np.uint8).max() == 1  # true bools (a 255 byte broke the canvas's lookup)
    assert [f.label for f in got.fills] == ["Apply fill", "Apply fill"]
    for want, have in zip(fills, got.fills):
        for a, b in zip(want.parts, have.parts):
            assert type(a) is type(b) and a.rect == b.rect
        np.testing.assert_array_equal(want.parts[0].after, have.parts[0].after)
        np.testing.assert_array_equal(want.parts[1].bits, have.parts[1].bits)
    image = original.copy()
    rec.replay(image, got)
    np.testing.assert_array_equal(image, after_first)  # the second fill is undone (redo history)
    s = rec.summary(folder)
    assert (s.name, s.fills, s.applied) == ("photo.png", 2, 1)


def test_the_copy_is_small_and_holds_no_photo(tmp_path):
    path, original = _photo(tmp_path, 300, 400)
    image = original.copy()
    fill = _fill(image, (100, 100, 120, 116), 3)
    mask = np.zeros(original.shape[:2], bool)
    mask[10:200, 10:300] = True  # a large hole compresses to almost nothing at a bit a pixel
    _write(tmp_path / "copy", path, original, [fill], mask, None)
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "copy").iterdir()}
    assert sum(sizes.values()) < original.nbytes / 20, sizes  # the photo is 360 kB
    assert sorted(n.split("-")[0] for n in sizes) == ["fill", "manifest.json", "mask"]


def test_files_are_written_once_and_the_ones_no_longer_named_go(tmp_path, work, monkeypatch):
    path, original, _after, fills, mask, exclude = work
    folder = tmp_path / "copy"
    known = _write(folder, path, original, fills, mask, exclude, applied=2)
    written = []
    real = rec._write_new
    monkeypatch.setattr(rec, "_write_new", lambda f, name, data: (written.append(name), real(f, name, data)))
    stamp = rec.PhotoStamp.of(path)
    # the same fills again (known: not even encoded), the second dropped, a new hole
    mask2 = mask.copy()
    mask2[0:4, 0:4] = True
    rec.write(folder, stamp, original.shape[:2], [(0, None)], 1, {"mask": mask2}, known=known)
    assert [n.split("-")[0] for n in written] == ["mask", "manifest.json"]
    names = {p.name for p in folder.iterdir()}
    assert known.fills[0]["file"] in names and known.fills[1]["file"] not in names
    assert known.layers["mask"]["file"] not in names and known.layers["exclude"]["file"] in names
    got = rec.read(folder)
    np.testing.assert_array_equal(got.mask, mask2)
    assert len(got.fills) == 1


def test_a_write_cut_short_leaves_the_previous_copy(tmp_path, work, monkeypatch):
    """The process dying before the manifest is replaced: the copy is the one before."""
    path, original, _after, fills, mask, exclude = work
    folder = tmp_path / "copy"
    _write(folder, path, original, fills[:1], mask, exclude)
    real = rec._write_new

    def die_at_the_manifest(f, name, data):
        if name == rec.MANIFEST:
            raise KeyboardInterrupt  # as a signal would
        real(f, name, data)

    monkeypatch.setattr(rec, "_write_new", die_at_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        _write(folder, path, original, fills, ~mask, exclude)
    got = rec.read(folder)
    assert len(got.fills) == 1
    np.testing.assert_array_equal(got.mask, mask)
    assert not [p for p in folder.iterdir() if p.suffix == ".part"]


@pytest.mark.parametrize("how", ["flipped byte", "missing layer", "broken manifest", "other format", "no manifest"])
def test_damage_is_found(tmp_path, work, how):
    path, original, _after, fills, mask, exclude = work
    folder = tmp_path / "copy"
    known = _write(folder, path, original, fills, mask, exclude)
    if how == "flipped byte":
        f = folder / known.fills[1]["file"]
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 1
        f.write_bytes(bytes(data))
    elif how == "missing layer":
        (folder / known.layers["exclude"]["file"]).unlink()
    elif how == "broken manifest":
        (folder / rec.MANIFEST).write_text('{"format": 1, "photo": ')
    elif how == "other format":
        (folder / rec.MANIFEST).write_text('{"format": 99}')
    else:
        (folder / rec.MANIFEST).unlink()
    with pytest.raises(rec.RecoveryError):
        rec.read(folder)


def test_a_photo_changed_on_disk_is_found(tmp_path):
    path, image = _photo(tmp_path)
    stamp = rec.PhotoStamp.of(path)
    assert stamp.problem() is None
    os.utime(path, ns=(stamp.mtime_ns + 10**9, stamp.mtime_ns + 10**9))  # touched: the same bytes
    assert stamp.problem() is None
    from inpaint_gui.core.image.io import save_photo

    save_photo(path, 255 - image)  # same size, other pixels
    assert "photo.png has changed on disk since" in stamp.problem()
    path.unlink()
    assert "photo.png is no longer in" in stamp.problem()


def test_replay_refuses_another_photo(tmp_path, work):
    path, original, _after, fills, mask, exclude = work
    _write(tmp_path / "copy", path, original, fills, mask, exclude)
    got = rec.read(tmp_path / "copy")
    other = original.copy()
    other[6, 6] ^= 1  # one pixel under the first fill
    with pytest.raises(rec.RecoveryError, match="fill 1 of the recovery copy does not match photo.png"):
        rec.replay(other, got)
    with pytest.raises(rec.RecoveryError, match="50x40 photo"):
        rec.replay(original[:30], got)


def test_a_base_patch_and_discard(tmp_path, work):
    path, original, _after, _fills, mask, exclude = work
    folder = tmp_path / "copy"
    base_pixels = np.full((3, 4, 3), 9, np.uint8)
    base = rec.PixelPart((40, 30, 44, 33), np.zeros((0, 0, 3), np.uint8), base_pixels)
    _write(folder, path, original, [], mask, exclude, applied=0, base=base)
    got = rec.read(folder)
    image = original.copy()
    rec.replay(image, got)
    np.testing.assert_array_equal(image[30:33, 40:44], base_pixels)
    (folder / rec.LOCK).write_text("")  # the running window's lock stays with discard()
    rec.discard(folder)
    assert [p.name for p in folder.iterdir()] == [rec.LOCK]
    rec.discard(folder, keep_lock=False)
    assert not folder.exists()
