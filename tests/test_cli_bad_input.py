"""Bad input to the command line, tried as a user would: one line, exit 2, nothing lost."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import FAST, cli, cli_here, make_cli_files, one_error_line, spawn, wait_for


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_cli_files(tmp_path_factory.mktemp("cli"))


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args,needles",
    [
        (["run"], ["the following arguments are required: image, --mask, -o/--output"]),
        (["run", "p.png", "--mask", "m.png", "-o", "o.png", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["run", "p.png", "--mask", "m.png", "-o", "o.png", "--iterations", "abc"], ["--iterations", "'abc'"]),
        (["run", "p.png", "--mask", "m.png", "-o", "o.png", "--blend", "smear"], ["--blend", "'smear'"]),
        (["eval"], ["one of the arguments --images --photos is required"]),
        (["--nope"], ["unrecognized arguments: --nope"]),
        (["frobnicate", "x", "y"], ["unrecognized arguments"]),
    ],
)
def test_usage_errors_are_one_line(args, needles):
    line = one_error_line(cli(*args), *needles)
    assert "--help" in line  # where to look next


def test_negative_window_values_parse(files):
    d, *_ = files
    r = cli(
        "run",
        d / "photo.png",
        "--mask",
        d / "mask.png",
        "-o",
        d / "neg.png",
        "--model",
        d / "tiny",
        *FAST,
        "--window",
        "-10,-10,64",
    )
    line = one_error_line(r, "window")
    assert "expected one argument" not in line and "-10" in line  # the value reached the command
    assert not (d / "neg.png").exists()


def test_join_negative_values():
    from inpaint_gui.cli import CliParser, join_negative_values

    p = CliParser(prog="inpaint-gui")
    sub = p.add_subparsers(dest="command")
    run = sub.add_parser("run")
    assert isinstance(run, CliParser)  # commands' parsers inherit the one-line errors
    run.add_argument("--window")
    run.add_argument("--lam", type=float)
    run.add_argument("--quiet", action="store_true")
    run.add_argument("image", nargs="?")
    argv = ["run", "--window", "-10,-10,64", "--lam", "-1e-3", "--quiet", "--", "--window", "-1,2,3"]
    assert join_negative_values(p, argv) == [
        "run",
        "--window=-10,-10,64",
        "--lam=-1e-3",
        "--quiet",
        "--",
        "--window",
        "-1,2,3",
    ]
    assert join_negative_values(p, ["run", "--window", "-x"]) == ["run", "--window", "-x"]  # not a number
    args = p.parse_args(join_negative_values(p, ["run", "--window", "-10,-10,64", "--lam", "-1e-3"]))
    assert args.window == "-10,-10,64" and args.lam == -0.001


def _float_flags():
    from inpaint_gui.core.pipeline import settings_groups
    from inpaint_gui.core.settings import specs

    return [f.flag for _, cls in settings_groups() for f in specs(cls) if f.type is float and f.spec.cli]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-nan", "Infinity", "1e400"])
def test_every_float_option_refuses_non_finite_values(value, capsys):
    """Through the real parser (negative values joined as the CLI does): one line naming the setting."""
    from inpaint_gui.cli import _command_parser, join_negative_values

    parser = _command_parser()
    flags = _float_flags()
    assert {"--lam", "--lr", "--stop-tolerance", "--thin-radius"} <= set(flags)
    for flag in flags:
        argv = ["run", "p.png", "--mask", "m.png", "-o", "o.png", flag, value]
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(join_negative_values(parser, argv))
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
        assert "must be a finite number" in err and flag in err and "expected one argument" not in err, err


@pytest.mark.parametrize(
    "flag, value, needle",
    [
        ("--lam", "-inf", "lam must be a finite number, got -inf"),
        ("--stop-tolerance", "nan", "stop_tolerance must be a finite number"),
        ("--seed", str(2**70), f"seed must be >= 0 and <= {2**63 - 1}, got {2**70}"),
        ("--seed", str(2**63), f"got {2**63}"),  # exactly, not 9.22337e+18 on both sides
        ("--threads", "1000", "--threads must be between 1 and"),
        ("--restarts", "100000", "restarts must be >= 1 and <= 512"),
    ],
)
def test_out_of_range_values_are_one_line(files, flag, value, needle):
    d, *_ = files
    r = cli_here(
        "run", d / "photo.png", "--mask", d / "mask.png", "-o", d / "never.png", flag, value, "--device", "cpu"
    )
    one_error_line(r, needle)
    assert not (d / "never.png").exists()


def _strict_json(text):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_the_json_summary_is_strict_json(files, tmp_path):
    d, *_ = files
    for extra in (["--iterations", "0"], ["--iterations", "3", "--lam", "0"], ["--engine", "scene"]):
        r = cli_here(  # in this process: what is checked is the text on stdout
            "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "o.png", "--model", d / "tiny",
            *FAST, "--json", *extra,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        summary = _strict_json(r.stdout)
        assert summary["regions"] and "NaN" not in r.stdout and "Infinity" not in r.stdout


@pytest.mark.parametrize(
    "window, needles",
    [
        (None, ["already the largest the photo allows", "leave more of the photo outside the hole"]),
        ("10,10,40", ["covers the whole window 10,10,40", "place a larger window"]),
    ],
)
def test_a_window_with_nothing_to_condition_on_says_what_to_do(files, tmp_path, window, needles):
    """All hole but one pixel: the automatic window is already the whole photo, so 'make the
    window larger' (what this said before) was no help."""
    d, *_ = files
    almost = np.full((60, 80), 255, np.uint8)
    almost[0, 0] = 0
    Image.fromarray(almost).save(tmp_path / "almost.png")
    extra = ["--window", window] if window else []
    for framing in ("auto", "fixed"):
        r = cli_here(
            "run", d / "photo.png", "--mask", tmp_path / "almost.png", "-o", tmp_path / "o.png", "--model", d / "tiny",
            *FAST, "--framing", framing, *extra,
        )  # fmt: skip
        line = one_error_line(r, *needles)
        assert "make the window larger" not in line and not (tmp_path / "o.png").exists()


def test_save_warnings_are_printed_once(files, tmp_path):
    d, image, _mask = files
    alpha = np.full(image.shape[:2], 255, np.uint8)
    alpha[:3] = 0
    Image.fromarray(np.dstack([image, alpha])).save(tmp_path / "rgba.png")
    r = cli_here(
        "run", tmp_path / "rgba.png", "--mask", d / "mask.png", "-o", tmp_path / "out.jpg", "--model", d / "tiny", *FAST
    )
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if "transparency" in line]
    assert len(lines) == 1 and lines[0].startswith("inpaint-gui: warning:"), r.stderr


# -- masks


def test_strokes_on_a_transparent_layer_are_the_hole(files, tmp_path):
    d, image, mask = files
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[mask] = 255  # opaque white strokes, everything else transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "strokes.png")
    r = cli_here(
        "run",
        d / "photo.png",
        "--mask",
        tmp_path / "strokes.png",
        "-o",
        tmp_path / "out.png",
        "--model",
        d / "tiny",
        *FAST,
    )
    assert r.returncode == 0, r.stderr
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert np.array_equal(out[~mask], image[~mask])  # only the strokes were filled (not 99% of the photo)


def test_the_photo_as_its_own_mask_is_refused(tmp_path):
    photo = REPO / "resources" / "astronaut.png"
    r = cli_here("run", photo, "--mask", photo, "-o", tmp_path / "out.png", "--device", "cpu")
    one_error_line(r, "astronaut.png does not look like a mask")
    assert list(tmp_path.iterdir()) == []


# -- model folders


def _break_model(folder: Path, how: str) -> None:
    from inpaint_gui.core.engines.gan.weights import sha256_file

    card = json.loads((folder / "model.json").read_text())

    def resign(role):
        path = folder / card["files"][role]["path"]
        card["files"][role].update(sha256=sha256_file(path), bytes=path.stat().st_size)

    if how == "files-list":
        card["files"] = list(card["files"].values())
    elif how == "no-path":
        del card["files"]["generator"]["path"]
    elif how == "string-entry":
        card["files"]["discriminator"] = "discriminator.pt"
    elif how == "empty-generator":
        (folder / "generator.pt").write_bytes(b"")
        resign("generator")
    elif how == "corrupt-mean-face":
        (folder / "mean_face.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
        card["files"]["mean_face"] = {"path": "mean_face.png"}
        resign("mean_face")
    elif how == "nan-weights":
        import torch

        state = torch.load(folder / "generator.pt", weights_only=True)
        state["main.0.weight"].view(-1)[0] = float("nan")
        torch.save(state, folder / "generator.pt")
        resign("generator")
    elif how == "huge-architecture":
        card["architecture"]["ngf"] = 10**9  # building it would try to allocate terabytes
    elif how == "wider-architecture":
        card["architecture"]["ngf"] *= 64
    elif how == "integer-weights":
        import torch

        state = torch.load(folder / "generator.pt", weights_only=True)
        torch.save(
            {k: v.round().long() if v.is_floating_point() else v for k, v in state.items()}, folder / "generator.pt"
        )
        resign("generator")
    (folder / "model.json").write_text(json.dumps(card))


@pytest.mark.parametrize(
    "how,needles",
    [
        ("files-list", ["model.json", "'files' must be an object", "not a list"]),
        ("no-path", ["model.json", "files.generator has no 'path'"]),
        ("string-entry", ["model.json", "files.discriminator must be an object", "not a string"]),
        ("empty-generator", ["generator.pt", "empty (0 bytes)"]),
        ("corrupt-mean-face", ["mean_face.png", "cannot read the mean face image"]),
        ("nan-weights", ["generator.pt", "tensor main.0.weight holds 1 NaN"]),
        ("huge-architecture", ["generator.pt", "does not match its weights"]),
        ("wider-architecture", ["generator.pt", "does not match its weights"]),
        ("integer-weights", ["generator.pt", "holds int64 values", "floating-point"]),
    ],
)
def test_malformed_model_folders_are_one_line(files, tmp_path, how, needles):
    d, *_ = files
    shutil.copytree(d / "tiny", tmp_path / "model")
    _break_model(tmp_path / "model", how)
    r = cli_here(  # in this process: the loader's message is what is checked (a subprocess adds 2 s a case)
        "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "o.png", "--model", tmp_path / "model", *FAST
    )
    one_error_line(r, *needles)
    assert not (tmp_path / "o.png").exists()


# -- signals


def _importing_torch(pid: int) -> bool:
    try:
        return "torch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the imports start")
def test_ctrl_c_while_importing_is_one_line(files, tmp_path):
    d, *_ = files
    proc = spawn(
        "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "o.png", "--model", d / "tiny", *FAST
    )
    wait_for(lambda: _importing_torch(proc.pid), proc)  # torch's shared libraries are being loaded
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err == "inpaint-gui: interrupted\n", err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the imports start")
def test_signals_all_through_the_imports_are_one_line(files, tmp_path):
    """A signal at any moment while torch, numba and scipy load: one line and 130 or 143, never
    an abort from C++ (exit -6), a traceback, or exit 0 (all seen before, at about 1 s)."""
    d, *_ = files
    for i, delay in enumerate((0.0, 0.05, 0.15, 0.4, 0.9)):  # from the first import to torch loaded
        sig, code, word = (signal.SIGINT, 130, "interrupted") if i % 2 == 0 else (signal.SIGTERM, 143, "terminated")
        proc = spawn("run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "o.png", *FAST)
        wait_for(lambda p=proc: _importing_torch(p.pid), proc)
        time.sleep(delay)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=120)
        assert (proc.returncode, err) == (code, f"inpaint-gui: {word}\n"), (delay, proc.returncode, err)
    assert list(tmp_path.iterdir()) == []


def test_signals_end_the_process_at_once_while_the_libraries_load(monkeypatch):
    from inpaint_gui import cli

    seen = {}

    def parser():
        seen["int"], seen["term"] = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        raise SystemExit(0)

    monkeypatch.setattr(cli, "_command_parser", parser)
    sigint_before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background runner
    cli.install_signal_handlers()
    try:
        ours = cli._on_sigint if sigint_before is signal.default_int_handler else sigint_before  # SIG_IGN stays
        assert signal.getsignal(signal.SIGINT) is ours
        with pytest.raises(SystemExit):
            cli._main(["run"])
        during = cli._exit_now if ours is cli._on_sigint else signal.SIG_IGN  # an ignored SIGINT stays ignored
        assert seen == {"int": during, "term": cli._exit_now}
        # restored once the libraries are in
        assert signal.getsignal(signal.SIGINT) is ours
        assert signal.getsignal(signal.SIGTERM) is cli._on_sigterm
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, sigint_before)


def test_loading_the_libraries_keeps_an_ignored_sigint_ignored():
    """A background job (SIGINT ignored) is not ended by Ctrl-C meant for its terminal, not even
    while the libraries load; SIGTERM still ends it at once there."""
    from inpaint_gui import cli

    before = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.getsignal(signal.SIGTERM)
    try:
        with cli.exit_at_once_on_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is cli._exit_now
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is before[1]
    finally:
        signal.signal(signal.SIGINT, before[0])


def test_a_signal_during_an_import_ends_at_once_and_takes_the_saves_temporary_file(tmp_path):
    """After the start, a signal inside an import (torch loaded by the first engine that needs
    it) ends the process at once, as while the libraries load: ``_importing`` sees the import
    in the interrupted frame's callers, and ``remove_temporaries`` is what that exit runs."""
    from inpaint_gui import cli
    from inpaint_gui.core.image import save

    seen = {}

    def spy(signum, frame):
        seen["importing"] = cli._importing(frame)

    previous = signal.signal(signal.SIGUSR1, spy)
    try:
        sys.modules.pop("tests.signal_during_import", None)
        (tmp_path / "signal_during_import.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGUSR1)\n")
        sys.path.insert(0, str(tmp_path))
        try:
            import signal_during_import  # noqa: F401  (sends the signal while it is being imported)
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("signal_during_import", None)
        assert seen == {"importing": True}
        os.kill(os.getpid(), signal.SIGUSR1)  # and outside an import
        assert seen == {"importing": False}
    finally:
        signal.signal(signal.SIGUSR1, previous)

    def write(fh):
        seen["during"] = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".part")
        save.remove_temporaries()
        seen["after"] = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".part")
        raise RuntimeError("stop here")

    with pytest.raises(Exception, match="stop here"):
        save.atomic_write(tmp_path / "out.png", write)
    assert len(seen["during"]) == 1 and seen["after"] == [] and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "sig,code,word",
    [
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGINT, 130, "interrupted"),
        # the terminal closed: like SIGTERM (it used to kill the process and leave the ".part")
        pytest.param(
            getattr(signal, "SIGHUP", None),
            129,
            "hung up",
            marks=pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX"),
        ),
    ],
)
def test_signal_during_a_save_leaves_no_temporary_file(files, tmp_path, sig, code, word):
    from inpaint_gui.core.image.save import TEMP_PREFIX, TEST_SAVE_DELAY_ENV

    d, *_ = files
    (tmp_path / "keep.png").write_bytes(b"old")  # an existing output must survive untouched
    # the scene engine: no torch to load, so the save starts in about a second
    proc = spawn(
        "run", d / "photo.png", "--mask", d / "mask.png", "-o", tmp_path / "keep.png",
        "--engine", "scene", "--device", "cpu", "--quiet",
        env={TEST_SAVE_DELAY_ENV: "60"},
    )  # fmt: skip
    # the save's temporary file (".part"), not the probe that checks the folder before any work
    wait_for(lambda: any(p.name.startswith(TEMP_PREFIX) and p.suffix == ".part" for p in tmp_path.iterdir()), proc)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == code and err == f"inpaint-gui: {word}\n", err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]
    assert (tmp_path / "keep.png").read_bytes() == b"old"


# -- the window on a new Linux desktop


def _gui_env(**env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")
    }
    return {**base, **env}


@pytest.mark.skipif(sys.platform != "linux", reason="the xcb check is for Linux")
def test_no_display_is_one_line():
    r = subprocess.run(
        [sys.executable, "-m", "inpaint_gui"], capture_output=True, text=True, timeout=120, env=_gui_env(), cwd=REPO
    )
    one_error_line(r, "there is no display", "inpaint-gui run")


@pytest.mark.skipif(sys.platform != "linux", reason="the xcb check is for Linux")
def test_missing_xcb_libraries_name_the_packages():
    from inpaint_gui.gui.app import XCB_LIBRARIES, missing_xcb_libraries

    missing = missing_xcb_libraries()
    if not missing:
        pytest.skip("every library Qt's xcb plugin needs is installed here")
    r = subprocess.run(
        [sys.executable, "-m", "inpaint_gui"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_gui_env(DISPLAY=":99"),
        cwd=REPO,
    )
    line = one_error_line(r, "sudo apt install", *missing)
    assert all(XCB_LIBRARIES[s] in line for s in missing)
