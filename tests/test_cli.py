"""The ``inpaint-gui`` command end to end, in a subprocess, on small images."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from inpaint_gui.core.engines.gan.framing import REFINED_FINAL_KEEP, REFINED_KEEP
from tests.cli_helpers import FAST, cli, cli_here, make_cli_files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_cli_files(tmp_path_factory.mktemp("cli"))


def test_run_writes_the_result_and_a_summary(files):
    d, image, mask = files
    r = cli(
        "run",
        d / "photo.png",
        "--mask",
        d / "mask.png",
        "-o",
        d / "out.png",
        "--model",
        d / "tiny",
        *FAST,
        "--iterations",
        "40",  # past the framing search's first cut (framing.MIN_ROUND)
        "--json",
        "--candidates",
        d / "cands",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    region = summary["regions"][0]
    assert region["iterations"] == 40 and region["model"] == "tiny" and region["engine"] == "face"
    # the framing search: every framing tried with its normalised loss (where the framer landed the check's
    # proposals); the finalist's restarts are the candidates
    tried = region["framings"]
    assert 2 <= len(tried) <= REFINED_KEEP and region["chosen"] in [f["window"] for f in tried] and region["fit"] > 0
    assert len(region["losses"]) == 2 * REFINED_FINAL_KEEP + 1  # two restarts each, then the networks' pass (no loss)
    assert region["losses"][-1] is None and region["network"] == "ce128+pggan128"
    out = np.asarray(Image.open(d / "out.png"))
    assert np.array_equal(out[~mask], image[~mask]) and not np.array_equal(out[mask], image[mask])
    assert sorted(p.name for p in (d / "cands").iterdir()) == sorted(
        f"region0_candidate{k}{end}" for k in range(2 * REFINED_FINAL_KEEP + 1) for end in (".png", "_fill.png")
    )


def test_run_with_a_fixed_window_reports_its_losses(files):
    d, _image, _mask = files
    r = cli(
        "run",
        d / "photo.png",
        "--mask",
        d / "mask.png",
        "-o",
        d / "fixed.png",
        "--model",
        d / "tiny",
        *FAST,
        "--json",
        "--framing",
        "fixed",
    )
    assert r.returncode == 0, r.stderr
    region = json.loads(r.stdout)["regions"][0]
    assert "framings" not in region and len(region["losses"]) == 3 and len(region["contextual"]) == 2  # + the networks'
    assert region["label"].startswith("tiny over ce128+pggan128 ")


def test_run_paste_jpeg_and_window(files):
    d, _image, _mask = files
    r = cli(
        "run",
        d / "photo.png",
        "--mask",
        d / "mask.png",
        "-o",
        d / "out.jpg",
        "--model",
        d / "tiny",
        *FAST,
        "--blend",
        "paste",
        "--window",
        "20,10,45",
        "--quality",
        "80",
    )
    assert r.returncode == 0, r.stderr
    assert Image.open(d / "out.jpg").format == "JPEG"


@pytest.mark.parametrize(
    "case,needle",
    [
        (["run", "{d}/missing.png", "--mask", "{d}/mask.png", "-o", "{d}/o.png"], "no such file"),
        (["run", "{d}/corrupt.png", "--mask", "{d}/mask.png", "-o", "{d}/o.png"], "corrupt.png"),
        (
            ["run", "{d}/photo.png", "--mask", "{d}/small_mask.png", "-o", "{d}/o.png"],
            "is 80x50 but the photo is 80x60",
        ),
        (["run", "{d}/photo.png", "--mask", "{d}/empty.png", "-o", "{d}/o.png"], "mask is empty"),
        (
            ["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/o.png", "--model", "nosuchmodel"],
            "unknown model",
        ),
        (
            ["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/photo.png", "--model", "{d}/tiny"],
            "refusing to overwrite",
        ),
        (["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/nodir/o.png"], "does not exist"),
        (["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/o.gifx"], "unsupported file type"),
        (
            [
                "run",
                "{d}/photo.png",
                "--mask",
                "{d}/mask.png",
                "-o",
                "{d}/o.png",
                "--model",
                "{d}/tiny",
                "--window",
                "32,21,10",
            ],
            "whole window",
        ),
        (
            [
                "run",
                "{d}/photo.png",
                "--mask",
                "{d}/mask.png",
                "-o",
                "{d}/o.png",
                "--model",
                "{d}/tiny",
                "--window",
                "0,0,10",
            ],
            "contains no hole pixel",
        ),
        (
            [
                "run",
                "{d}/photo.png",
                "--mask",
                "{d}/mask.png",
                "-o",
                "{d}/o.png",
                "--model",
                "{d}/tiny",
                "--window",
                "50,50,40",
            ],
            "window",
        ),
        (
            [
                "run",
                "{d}/photo.png",
                "--mask",
                "{d}/mask.png",
                "-o",
                "{d}/o.png",
                "--weighting",
                "importance",
                "--weight-window",
                "4",
            ],
            "weight_window",
        ),
        (["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/o.png", "--init-samples", "0"], "init_samples"),
        (
            ["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/o.png", "--stop-patience", "-1"],
            "stop_patience",
        ),
        (["run", "{d}/photo.png", "--mask", "{d}/mask.png", "-o", "{d}/o.png", "--threads", "0"], "--threads"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(files, case, needle):
    d, *_ = files
    before = sorted(p.name for p in d.iterdir())
    r = cli_here(*[a.format(d=d) for a in case], "--device", "cpu")  # the process-level line: test_cli_bad_input
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inpaint-gui: error:") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in d.iterdir()) == before
    assert np.array_equal(np.asarray(Image.open(d / "photo.png")), files[1])


def test_stopping_rule_and_threads_reach_the_search(files):
    d, *_ = files
    base = [
        "run",
        d / "photo.png",
        "--mask",
        d / "mask.png",
        "-o",
        d / "stop.png",
        "--model",
        d / "tiny",
        "--restarts",
        "2",
        "--device",
        "cpu",
        "--quiet",
        "--json",
        "--threads",
        "1",
        "--iterations",
        "300",
        "--engine",
        "face",
    ]
    never = cli_here(*base, "--stop-patience", "0")
    soon = cli_here(
        *base, "--stop-patience", "5", "--stop-tolerance", "0.5", "--lr-schedule", "cosine", "--init-samples", "4"
    )
    assert never.returncode == 0 and soon.returncode == 0, never.stderr + soon.stderr
    never, soon = json.loads(never.stdout), json.loads(soon.stdout)
    assert never["regions"][0]["iterations"] == 300
    assert 5 <= soon["regions"][0]["iterations"] < 300  # a 50% improvement in 5 steps cannot last 300 steps
    assert soon["settings"]["lr_schedule"] == "cosine" and soon["settings"]["init_samples"] == 4
    assert soon["device"] == "CPU (1 thread)"


def test_every_declared_setting_has_a_flag_with_the_core_default():
    import argparse

    from inpaint_gui.commands.options import add_settings_options, settings_from
    from inpaint_gui.core.pipeline import InpaintSettings, settings_groups
    from inpaint_gui.core.settings import names, specs

    p = argparse.ArgumentParser()
    add_settings_options(p)
    flags = {opt for a in p._actions for opt in a.option_strings}
    declared = [f for _, cls in settings_groups() for f in specs(cls)]
    assert declared and {f.flag for f in declared} <= flags
    from inpaint_gui.commands.options import flag_plan

    all_flags = [flag for _, _, rows in flag_plan() for flag, _, _ in rows]
    assert len(all_flags) == len(set(all_flags))  # no two settings share a flag ...
    shared = {
        n for n in names(cls for _, cls in settings_groups()) if names(cls for _, cls in settings_groups()).count(n) > 1
    }
    for name in shared:  # ... a name several engines declare has each engine's own flag
        owners = [g for g, cls in settings_groups() if name in names([cls])]
        assert {f"--{g}-{name.replace('_', '-')}" for g in owners if g != "common"} <= flags, name
    assert settings_from(p.parse_args([])) == InpaintSettings()
    args = p.parse_args(
        [
            "--iterations",
            "7",
            "--restarts",
            "3",
            "--lam",
            "0.01",
            "--lr",
            "0.05",
            "--beta1",
            "0.5",
            "--lr-schedule",
            "cosine",
            "--weighting",
            "plain",
            "--weight-window",
            "5",
            "--init-samples",
            "2",
            "--stop-patience",
            "9",
            "--stop-tolerance",
            "0.02",
            "--precision",
            "bfloat16",
            "--seed",
            "4",
            "--device",
            "cpu",
            "--blend",
            "paste",
        ]
    )
    s = settings_from(args)
    f = s.of("face")
    assert (
        f.iterations,
        f.restarts,
        f.lam,
        f.lr,
        f.beta1,
        f.lr_schedule,
        f.weighting,
        f.weight_window,
        f.init_samples,
        f.stop_patience,
        f.stop_tolerance,
        f.precision,
    ) == (7, 3, 0.01, 0.05, 0.5, "cosine", "plain", 5, 2, 9, 0.02, "bfloat16")
    assert (s.common.seed, s.common.device, s.common.blend) == (4, "cpu", "paste")


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--lam", "nan", "lam must be a finite number"),
        ("--lr", "inf", "lr must be a finite number"),
        ("--stop-tolerance", "nan", "stop_tolerance must be a finite number"),
        ("--seed", str(2**70), "seed must be"),
        ("--lr", "0", "lr must be > 0"),
        ("--weight-window", "4", "odd"),
        ("--model", "", "must not be empty"),
        ("--restarts", "100000", "restarts must be"),
    ],
)
def test_bad_setting_values_are_refused_at_parse_time(flag, value, message):
    import argparse

    from inpaint_gui.commands.options import add_settings_options

    p = argparse.ArgumentParser()
    add_settings_options(p)
    errors = []
    p.error = lambda text: errors.append(text) or (_ for _ in ()).throw(SystemExit(2))
    with pytest.raises(SystemExit):
        p.parse_args([flag, value])
    assert message in errors[0]


def test_cuda_without_gpu_is_a_clear_error(files):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    d, *_ = files
    r = cli("run", d / "photo.png", "--mask", d / "mask.png", "-o", d / "o.png", "--device", "cuda")
    assert r.returncode == 2 and "no usable NVIDIA GPU" in r.stderr


def test_corrupt_weights_are_refused(files, tmp_path):
    d, *_ = files

    shutil.copytree(d / "tiny", tmp_path / "broken")
    (tmp_path / "broken" / "generator.pt").write_bytes(b"garbage")
    r = cli(
        "run",
        d / "photo.png",
        "--mask",
        d / "mask.png",
        "-o",
        tmp_path / "o.png",
        "--model",
        tmp_path / "broken",
        *FAST,
    )
    assert r.returncode == 2 and "sha256 mismatch" in r.stderr


def test_version_and_help():
    assert cli("--version").stdout.startswith("inpaint-gui ")
    r = cli("run", "--help")
    assert r.returncode == 0 and "--weighting" in r.stdout and "--candidates" in r.stdout
