"""``inpaint-gui bench`` and its measuring functions: shapes and consistency, never speed."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_gui.cli import main as cli_main
from inpaint_gui.core.engines.gan.models import DCGANConfig, build_models
from inpaint_gui.lab import bench
from tests.tiny import model_from_modules, save_tiny_model, tiny_model


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("bench") / "tiny")


def test_iteration_flops_of_the_papers_model():
    """The paper's DCGAN (ngf = ndf = 64, 64x64): about 0.84 GFLOP per restart-iteration, by hand:
    G 0.4 + 8.4 * 3 + 1.6 M MACs ... here summed per layer from the architecture."""
    g, d = build_models(DCGANConfig(), seed=0)
    model = model_from_modules(g, d)
    # G: 100->512 (1->4), 512->256 (4->8), 256->128 (8->16), 128->64 (16->32), 64->3 (32->64), MACs = Cin*Cout*16*Hin*Win
    g_macs = 100 * 512 * 16 * 1 + 512 * 256 * 16 * 16 + 256 * 128 * 16 * 64 + 128 * 64 * 16 * 256 + 64 * 3 * 16 * 1024
    # D: 3->64 (->32), 64->128 (->16), 128->256 (->8), 256->512 (->4), 512->1 (->1), MACs = Cin*Cout*16*Hout*Wout
    d_macs = 3 * 64 * 16 * 1024 + 64 * 128 * 16 * 256 + 128 * 256 * 16 * 64 + 256 * 512 * 16 * 16 + 512 * 1 * 16
    assert bench.forward_flops(model) == 2 * (g_macs + d_macs)
    assert bench.iteration_flops(model) == pytest.approx(0.84e9, rel=0.02)


def test_reference_loop_leaves_the_callers_model_frozen():
    m = tiny_model()
    before = copy.deepcopy(m.generator.state_dict())
    image = np.zeros((32, 32, 3), np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    step = bench.reference_loop(m, image, mask, 2, 0.003, torch.device("cpu"))
    step()
    assert not any(p.requires_grad for p in m.generator.parameters())
    assert all(torch.equal(before[k], v) for k, v in m.generator.state_dict().items())


def test_search_throughput_rows_are_consistent():
    m = tiny_model()
    rows = bench.search_throughput(m, batches=(2,), min_seconds=0.05, variants=("ours", "ours-unfused"), rounds=1)
    assert [r["loop"] for r in rows] == ["reference", "ours", "ours-unfused"]
    flops = bench.iteration_flops(m)
    ref = rows[0]
    for r in rows:
        assert r["batch"] == 2 and r["restart_it_s"] > 0
        assert r["gflops"] == pytest.approx(r["restart_it_s"] * flops / 1e9, rel=0.05, abs=0.01)
        assert r["vs_reference"] == pytest.approx(r["restart_it_s"] / ref["restart_it_s"], rel=0.05, abs=0.01)
    assert ref["vs_reference"] == 1.0
    with pytest.raises(ValueError, match="unknown search variant"):
        bench.search_throughput(m, batches=(1,), min_seconds=0.01, variants=("fastest",))


def test_bench_quick_json(tiny_folder, capsys):
    assert (
        cli_main(["bench", "--quick", "--model", str(tiny_folder), "--json", "--threads", "1", "--seconds", "0.1"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["machine"]["threads"] == 1 and report["matmul_gflops"]["cpu"] > 0
    rows = report["search"]
    assert {(r["batch"], r["loop"]) for r in rows} >= {(1, "reference"), (1, "ours"), (8, "reference"), (8, "ours")}
    for r in rows:
        assert r["share_of_matmul"] == pytest.approx(r["gflops"] / report["matmul_gflops"]["cpu"], abs=2e-3)
    assert "poisson" not in report and "run" not in report  # --quick: matmul and search only


def test_bench_table_has_a_header(tiny_folder, capsys):
    assert (
        cli_main(
            [
                "bench",
                "--parts",
                "search,matmul",
                "--batches",
                "2",
                "--model",
                str(tiny_folder),
                "--seconds",
                "0.05",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "reference = the textbook PyTorch loop" in out and "Ceiling: float32 matrix product" in out
    header = next(line for line in out.splitlines() if line.startswith("| device"))
    assert "vs_reference" in header and "share_of_matmul" in header


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--parts", "search,gpu"], "unknown bench part gpu"),
        (["--variants", "ours,warp"], "unknown search variant warp"),
        (["--batches", "1,x"], "--batches takes integers"),
        (["--threads", "0"], "--threads must be between 1 and"),
        (["--threads", "1000"], "--threads must be between 1 and"),
    ],
)
def test_bench_bad_options_are_one_line_errors(args, needle, capsys):
    assert cli_main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_bench_run_sets_the_defaults_against_the_fixed_window_and_the_paper_recipe(tiny_folder, capsys):
    assert cli_main(["bench", "--parts", "run", "--model", str(tiny_folder), "--threads", "1", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)["run"]
    ours, fixed, paper = run["defaults"], run["fixed_window"], run["paper_recipe"]
    assert "error" not in ours and "error" not in fixed and "error" not in paper, run
    assert ours["iterations"] <= 50 and ours["restarts"] == 2 and paper["iterations"] == 1500
    assert ours["framings"] > 1 and fixed["framings"] == 1
    assert run["framing_over_fixed"] == pytest.approx(ours["wall_seconds"] / fixed["wall_seconds"], abs=0.01)
    assert run["paper_over_fixed"] == pytest.approx(paper["wall_seconds"] / fixed["wall_seconds"], abs=0.01)
    alone = run["without_low_band"]  # a 32x32 model has no low-band model: the same run, timed again
    assert "error" not in alone and alone["model"] == ours["model"]
    assert run["low_band_over_alone"] == pytest.approx(ours["wall_seconds"] / alone["wall_seconds"], abs=0.01)
    assert ours["device"] == "CPU (1 thread)" and ours["peak_rss_mib"] > 0
    previous = run["previous_defaults"]  # the defaults before issue 23, in the same run
    assert "error" not in previous and previous["restarts"] == 4 and ours["iterations"] <= previous["iterations"] <= 300
    assert run["defaults_over_previous"] == pytest.approx(ours["wall_seconds"] / previous["wall_seconds"], abs=0.01)


def test_bench_large_times_run_on_a_large_photo(capsys):
    """The large part (issue 12's scratch across a large photo), at a small size for the test: every
    case runs ``inpaint-gui run``, the scratch takes the thin path under the default engine, and the
    targets are stated."""
    argv = ["bench", "--parts", "large", "--large-size", "480x360", "--repeats", "1", "--threads", "1", "--json"]
    assert cli_main(argv) == 0
    large = json.loads(capsys.readouterr().out)["large"]
    assert large["shape"] == [360, 480] and large["targets"]["scratch_wall_seconds"] == 5.0
    for case in ("scratch_png_to_png", "scratch_jpeg_to_png", "hole40_png_to_png", "reference_pillow_open_and_save"):
        assert large[case]["wall_seconds"] > 0 and large[case]["peak_rss_mib"] > 0, case
    for case in ("scratch_png_to_png", "scratch_jpeg_to_png"):
        assert large[case]["thin_path"] and large[case]["engines"] == ["scene"] and "meets_targets" in large[case]
    assert large["scratch_png_to_png"]["device"] == "CPU (1 thread)"


def test_bench_parts_that_take_minutes_are_opt_in():
    from inpaint_gui.commands.bench import OPT_IN, PARTS

    assert {"threads", "large"} <= set(OPT_IN) <= set(PARTS)


def test_measured_run_reports_the_childs_own_peak():
    """Linux counts in a child's ru_maxrss the memory of the process that exec'd it; measured
    straight from this process (300 MB held), a 20 MB child reported 300 MB and more."""
    import sys

    from inpaint_gui.lab.large_bench import measured_run

    held = np.ones(300 << 20, np.uint8)
    r = measured_run([sys.executable, "-c", "import numpy as np; a = np.ones(20 << 20, np.uint8); print(a.size)"])
    assert r["returncode"] == 0 and r["stdout"].strip() == str(20 << 20)
    assert 20 < r["peak_rss_mib"] < 200, r
    del held


def test_the_128_window_is_the_samples_face_framed_as_trained_with_its_centre_missing(tmp_path):
    from PIL import Image

    from inpaint_gui.lab.bench import face_window_photo

    repo = Path(__file__).resolve().parents[2]
    photo, mask = face_window_photo(repo, tmp_path)
    image, hole = np.asarray(Image.open(photo)), np.asarray(Image.open(mask)) >= 128
    assert image.shape == (128, 128, 3) and hole.sum() == 64 * 64 and hole[32:96, 32:96].all()
