"""Where ``inpaint-gui run`` writes and how it saves, in a subprocess: the photo and the mask
are never overwritten by accident, every path is checked before any work, and the result keeps
the photo's resolution, mode, depth and lossless WebP."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import cli_here, make_cli_files, one_error_line

# the scene engine: no model to load, a fill in well under a second on these small photos
SCENE = ["--engine", "scene", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_cli_files(tmp_path_factory.mktemp("files"))


@pytest.fixture
def here(files, tmp_path):
    """A private copy of the photo and the mask: (folder, photo path, mask path, image, bool mask)."""
    d, image, mask = files
    shutil.copy(d / "photo.png", tmp_path / "photo.png")
    shutil.copy(d / "mask.png", tmp_path / "mask.png")
    return tmp_path, tmp_path / "photo.png", tmp_path / "mask.png", image, mask


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


# -- the output may not be the photo or the mask


def test_the_output_may_not_be_the_mask_or_the_photo(here):
    d, photo, mask_file, _image, _mask = here
    (d / "sub").mkdir()
    (d / "mask_link.png").symlink_to(mask_file)
    (d / "photo_link.png").symlink_to(photo)
    before = {p: p.read_bytes() for p in (photo, mask_file)}
    names = _names(d)
    cases = [
        (mask_file, "is the mask"),
        (d / "sub" / ".." / "mask.png", "is the mask"),  # another spelling
        (d / "mask_link.png", "is the mask"),  # a link to it
        (photo, "is the input photo"),
        (d / "photo_link.png", "is the input photo"),
    ]
    for target, needle in cases:
        r = cli_here("run", photo, "--mask", mask_file, "-o", target, *SCENE)
        one_error_line(r, needle, "--overwrite")
    assert {p: p.read_bytes() for p in before} == before and _names(d) == names
    # with --overwrite the user means it
    r = cli_here("run", photo, "--mask", mask_file, "-o", d / "mask_link.png", "--overwrite", *SCENE)
    assert r.returncode == 0, r.stderr
    assert mask_file.read_bytes() != before[mask_file] and (d / "mask_link.png").is_symlink()


# -- every path is checked before any work: nothing is written


@pytest.mark.parametrize(
    "candidates, needle",
    [
        ("{d}/a_file", "a_file is a file, not a folder"),
        ("{d}/a_file/cands", "a_file is a file, not a folder"),
        ("{d}/missing/cands", "does not exist"),
        ("/proc/cands", "the folder /proc is not writable"),
        ("{d}/cands", "a candidate could overwrite the photo"),
    ],
)
def test_a_bad_candidates_folder_is_found_before_any_work(here, candidates, needle):
    d, _photo, mask_file, image, _mask = here
    (d / "a_file").write_text("not a folder")
    (d / "cands").mkdir()
    photo = d / "cands" / "region0_candidate1.png"  # a photo whose name a candidate would take
    Image.fromarray(image).save(photo)
    names = _names(d)
    r = cli_here("run", photo, "--mask", mask_file, "-o", d / "out.png", "--candidates", candidates.format(d=d), *SCENE)
    one_error_line(r, needle)
    assert _names(d) == names and _names(d / "cands") == ["region0_candidate1.png"]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["-o", ""], "-o/--output: expected a file name"),
        (["-o", "{d}/out.jpg", "--lossless"], "JPEG is always lossy"),
        (["-o", "{d}/out.webp", "--lossless", "--quality", "80"], "not both"),
        (["-o", "{d}/out.png", "--quality", "0"], "quality must be a whole number from 1 to 100"),
        (["-o", "{d}/out.png", "--quality", "500"], "quality must be a whole number from 1 to 100"),
        (["-o", "{d}"], "it is a folder"),
        (["-o", "{d}/out"], "the name has no extension"),
        (["-o", "{d}/photo.png/out.png"], "photo.png is a file, not a folder"),
        (["-o", "/sys/out.png"], "the folder /sys is not writable"),
        (["-o", "{d}/out.png", "--candidates", ""], "--candidates: expected a file name"),
        # names the system cannot hold: "File name too long" used to come out as a traceback
        (["-o", "{d}/" + "a" * 300 + ".png"], "is 304 bytes long, more than the"),
        (["-o", "{d}/out.png", "--candidates", "{d}/" + "c" * 300], "is 300 bytes long, more than the"),
        # a trailing slash names a folder: it used to write out.png
        (["-o", "{d}/out.png/"], "a folder (drop the trailing '/')"),
    ],
)
def test_bad_outputs_are_one_line_and_write_nothing(here, extra, needle):
    d, photo, mask_file, _image, _mask = here
    names = _names(d)
    r = cli_here("run", photo, "--mask", mask_file, *[a.format(d=d) for a in extra], *SCENE)
    one_error_line(r, needle)
    assert _names(d) == names


def test_a_model_path_too_long_is_one_line_before_torch_loads(here):
    """``--engine face --model in/aaa…``: a traceback ("File name too long") once torch had loaded."""
    import subprocess
    import sys

    d, photo, mask_file, _image, _mask = here
    argv = ["run", str(photo), "--mask", str(mask_file), "-o", str(d / "out.png"), "--engine", "face"]
    argv += ["--model", str(d / ("m" * 300)), "--device", "cpu", "--quiet"]
    code = (
        "import sys\n"
        "from inpaint_gui.cli import main\n"
        f"rc = main({argv!r})\n"
        "assert rc == 2 and 'torch' not in sys.modules, (rc, 'torch' in sys.modules)\n"
    )
    names = _names(d)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr  # main returned 2 before torch loaded
    (line,) = r.stderr.splitlines()
    assert line.startswith("inpaint-gui: error: cannot load the model") and "is 300 bytes long, more than" in line
    assert _names(d) == names


def test_an_output_that_is_a_link_to_itself_is_refused(here):
    """A link that loops cannot be written through; it used to be replaced by a file."""
    d, photo, mask_file, _image, _mask = here
    (d / "loop.png").symlink_to("loop.png")
    names = _names(d)
    r = cli_here("run", photo, "--mask", mask_file, "-o", d / "loop.png", *SCENE)
    one_error_line(r, "loop.png", "symbolic link that loops")
    assert _names(d) == names and (d / "loop.png").is_symlink()


def test_a_photo_narrower_than_a_patch_says_which_patch_size_fits(tmp_path):
    """A hole across a 3-px-wide photo: refused when it is planned, before any fill (it failed at
    the fill with "the region (3x77) is smaller than a patch"), naming the --patch-size that works."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (77, 3, 3), dtype=np.uint8)).save(tmp_path / "thin.png")
    hole = np.zeros((77, 3), np.uint8)
    hole[20:60] = 255  # too thick for the smooth fill
    Image.fromarray(hole).save(tmp_path / "hole.png")
    photo, mask = tmp_path / "thin.png", tmp_path / "hole.png"
    r = cli_here("run", photo, "--mask", mask, "-o", tmp_path / "out.png", "--device", "cpu", "--quiet")  # engine auto
    one_error_line(r, "the region (3x77) is narrower than the scene engine's 7x7 patches", "--patch-size 3")
    assert not (tmp_path / "out.png").exists()
    r = cli_here("run", photo, "--mask", mask, "-o", tmp_path / "out.png", "--patch-size", "3", *SCENE)
    assert r.returncode == 0, r.stderr


# -- the result is saved like the photo


def _outside_equal(a, b, mask):
    return np.array_equal(np.asarray(a)[~mask], np.asarray(b)[~mask])


def test_run_keeps_the_resolution(here):
    d, _photo, mask_file, image, _mask = here
    from inpaint_gui.core.image.io import load_photo

    Image.fromarray(image).save(d / "dpi.png", dpi=(300, 300))
    Image.fromarray(image).save(d / "dpi.jpg", dpi=(300, 300), quality=95)
    for src, name in (("dpi.png", n) for n in ("out.png", "out.tif", "out.jpg", "out.bmp")):
        r = cli_here("run", d / src, "--mask", mask_file, "-o", d / name, *SCENE)
        assert r.returncode == 0, r.stderr
        with Image.open(d / name) as out:
            assert out.info["dpi"] == pytest.approx((300, 300), abs=0.01), name
    # WebP has no resolution field: it goes into the EXIF block (it was lost without a word)
    r = cli_here("run", d / "dpi.jpg", "--mask", mask_file, "-o", d / "out.webp", *SCENE)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    with Image.open(d / "out.webp") as out:
        exif = out.getexif()
        assert (float(exif[0x011A]), float(exif[0x011B]), exif[0x0128]) == (300.0, 300.0, 2)
    assert load_photo(d / "out.webp").dpi == (300.0, 300.0)  # and is read back from there


def _webp_kind(path) -> bytes:
    from inpaint_gui.core.image.decode import webp_is_lossless

    return b"VP8L" if webp_is_lossless(path) else b"VP8"


def test_lossless_webp_stays_lossless_and_can_be_asked_for(here):
    d, photo, mask_file, image, mask = here
    Image.fromarray(image).save(d / "in.webp", lossless=True)
    r = cli_here("run", d / "in.webp", "--mask", mask_file, "-o", d / "out.webp", *SCENE)
    assert r.returncode == 0, r.stderr
    assert _webp_kind(d / "out.webp") == b"VP8L"
    assert _outside_equal(Image.open(d / "out.webp").convert("RGB"), image, mask)  # 0 pixels changed outside
    # a quality asks for a lossy file
    r = cli_here("run", d / "in.webp", "--mask", mask_file, "-o", d / "lossy.webp", "--quality", "90", *SCENE)
    assert r.returncode == 0 and _webp_kind(d / "lossy.webp") == b"VP8"
    # from any photo, --lossless
    r = cli_here("run", photo, "--mask", mask_file, "-o", d / "asked.webp", "--lossless", *SCENE)
    assert r.returncode == 0, r.stderr
    assert _webp_kind(d / "asked.webp") == b"VP8L"
    assert _outside_equal(Image.open(d / "asked.webp").convert("RGB"), image, mask)
    r = cli_here("run", photo, "--mask", mask_file, "-o", d / "plain.webp", *SCENE)
    assert r.returncode == 0 and _webp_kind(d / "plain.webp") == b"VP8"  # the default stays lossy


def test_grey_photos_stay_grey_and_16bit_stays_16bit(files, here):
    model = files[0] / "tiny"
    d, _photo, mask_file, image, mask = here
    grey = np.asarray(Image.fromarray(image).convert("L"))
    Image.fromarray(grey).save(d / "grey.png")
    deep = grey.astype(np.uint16) * 257 + np.arange(grey.size, dtype=np.uint16).reshape(grey.shape) % 200
    Image.fromarray(deep).save(d / "deep.png")
    engines = {"scene": ["--engine", "scene"], "face": ["--engine", "face", "--model", model, "--iterations", "5"]}
    for src, mode in (("grey.png", "L"), ("deep.png", "I;16")):
        for engine, flags in engines.items():
            out = d / f"{engine}_{src}"
            r = cli_here("run", d / src, "--mask", mask_file, "-o", out, "--device", "cpu", "--quiet", *flags)
            assert r.returncode == 0, r.stderr
            with Image.open(out) as im, Image.open(d / src) as original:
                assert im.mode == mode, (src, engine, im.mode)
                assert _outside_equal(im, original, mask)  # bit for bit, 16-bit samples included
                assert not np.array_equal(np.asarray(im)[mask], np.asarray(original)[mask])


def test_a_png_output_is_what_was_asked_even_with_odd_spellings(here):
    d, photo, mask_file, image, mask = here
    r = cli_here("run", photo, "--mask", mask_file, "-o", d / "OUT.PNG", *SCENE)
    assert r.returncode == 0, r.stderr
    with Image.open(d / "OUT.PNG") as im:
        assert im.format == "PNG" and _outside_equal(im, image, mask)
    assert not [n for n in os.listdir(d) if n.startswith(".inpaint-gui-tmp")]


# -- a scratch needs no torch


def test_a_scratch_filled_by_the_scene_engine_never_loads_torch(here):
    """A thin hole goes to the scene engine under the default engine: loading torch (a second
    and 240 MB on an 8000x6000 run) is for the face engine only."""
    import subprocess
    import sys

    d, photo, _mask_file, image, _mask = here
    scratch = np.zeros(image.shape[:2], np.uint8)
    scratch[30, 5:75] = 255  # one pixel wide
    Image.fromarray(scratch).save(d / "scratch.png")
    code = (
        "import json, sys\n"
        "from inpaint_gui.cli import main\n"
        f"rc = main(['run', {str(photo)!r}, '--mask', {str(d / 'scratch.png')!r}, '-o', {str(d / 'out.png')!r},"
        " '--quiet', '--json', '--threads', '1'])\n"
        "assert rc == 0 and 'torch' not in sys.modules, (rc, 'torch' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    import json

    summary = json.loads(r.stdout)
    assert summary["device"] == "CPU (1 thread)" and {g["engine"] for g in summary["regions"]} == {"scene"}


def test_a_thread_count_chosen_before_torch_loads_is_applied_when_it_does():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from inpaint_gui.commands.options import apply_threads\n"
        "from inpaint_gui.core.engines import Engines, engine_class, settings_types\n"
        "apply_threads(1, defer=True)\n"
        "assert settings_types() and 'torch' not in sys.modules\n"
        "engines = Engines()\n"
        "engines['face']\n"
        "assert 'torch' not in sys.modules  # the engine's class and instance load no torch ...\n"
        "assert engines['face'].has_model('celeba64')  # ... its first work does, with the count chosen\n"
        "import torch\n"
        "assert torch.get_num_threads() == 1, torch.get_num_threads()\n"
        "assert all(engine_class(n).info.settings is t for n, t in settings_types().items())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
