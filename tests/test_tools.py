"""The developer tools in ``tools/`` still run against the package they drive."""

import json
import runpy
from pathlib import Path

from tests.tiny import save_tiny_model, write_random_images

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def test_tune_writes_a_paired_sweep(tmp_path):
    model = save_tiny_model(tmp_path / "tiny")
    faces = write_random_images(tmp_path / "faces", 4, seed=1)
    out = tmp_path / "sweep"
    main = runpy.run_path(str(TOOLS / "tune.py"))["main"]  # defines main() without running it
    assert (
        main(
            [
                "--images",
                str(faces),
                "--n",
                "3",
                "--model",
                str(model),
                "--only",
                "defaults,2 restarts",
                "--base",
                "iterations=40",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "sweep.json").read_text())
    assert [r["setting"] for r in report["rows"]] == ["harmonic fill (reference)", "defaults", "2 restarts"]
    capped = report["rows"][2]
    assert capped["settings"]["restarts"] == 2 and 0 < capped["mean_iterations"] <= 40
    assert len(capped["per_image_psnr"]) == 3 and report["n"] == 3
    md = (out / "sweep.md").read_text()
    assert md.count("| center |") == 3 and "± " in md.splitlines()[-1]  # a paired difference against the defaults


def test_compare_evals_pairs_the_same_faces(tmp_path, capsys):
    def write(path, method, psnrs):
        rows = [
            {"mask": "parts", "method": method, "image": f"{i}.jpg", "psnr": v, "ssim": v / 100, "sharpness": 1.0}
            for i, v in enumerate(psnrs)
        ]
        path.write_text(json.dumps({"per_image": rows}))
        return path

    a = write(tmp_path / "a.json", "default", [20.0, 22.0, 30.0])
    b = write(tmp_path / "b.json", "full", [19.0, 23.0])  # one face fewer: only the shared ones are paired
    compare = runpy.run_path(str(TOOLS / "compare_evals.py"))
    assert compare["main"]([f"{a}:default", f"{b}:full"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| parts"))
    assert "| 2 |" in line and "21.00 / 21.00" in line and "+0.00 ± 1.00 (50%)" in line
    _, rows = compare["load"](f"{a}+{b}")  # joined runs, every method
    assert len(rows) == 3 and rows[("parts", "1.jpg")]["psnr"] == 23.0


def test_calibrate_engine_choice_writes_the_confusion_table(tmp_path):
    faces = write_random_images(tmp_path / "faces", 4, seed=2)
    photos = write_random_images(tmp_path / "photos", 2, shape=(160, 200), seed=3)
    main = runpy.run_path(str(TOOLS / "calibrate_engine_choice.py"))["main"]
    out = tmp_path / "calib"
    args = ["--faces", str(faces), "--photos", str(photos), "--n-faces", "2", "--crops", "1", "--photos-train", "1"]
    args += ["--grid-step", "96"]  # 25 holes on the sample instead of 192
    assert main([*args, "--out", str(out)]) == 0
    probs = json.loads((out / "probabilities.json").read_text())
    assert sorted(probs) == sorted(
        [
            "faces_1-2",
            "faces_3-4",
            "photo_objects_train",
            "photo_objects_held_out",
            "photo_crops_train",
            "photo_crops_held_out",
        ]
    )
    assert all(0.0 <= p <= 1.0 for values in probs.values() for p in values)
    table = json.loads((out / "confusion.json").read_text())
    assert [row["threshold"] for row in table][:2] == [0.1, 0.2] and "faces_1-2_to_face" in table[0]
    grid = json.loads((out / "sample_grid.json").read_text())
    assert grid["in_face_n"] > 0 and grid["clear_of_head_n"] > 0


def test_pack_faces_spreads_over_the_set_within_the_budget(tmp_path):
    import zipfile

    faces = write_random_images(tmp_path / "faces", 9, seed=2)
    tool = runpy.run_path(str(TOOLS / "pack_faces.py"))
    order = tool["spread_order"](9)
    assert sorted(order) == list(range(9)) and order[:3] == [0, 8, 4]  # every prefix spans the set
    names = sorted(p.name for p in faces.iterdir())
    out = tmp_path / "all.zip"
    assert tool["main"]([str(faces), str(out), "--size", "16"]) == 0
    with zipfile.ZipFile(out) as z:
        packed = z.namelist()
        sizes = [i.file_size for i in z.infolist()]
    assert len(packed) == 9 and all(n.startswith("all/") and n.endswith(".webp") for n in packed)
    budget = (sum(sizes) - min(sizes) // 2) / 2**20  # room for all but one face
    small = tmp_path / "small.zip"
    assert tool["main"]([str(faces), str(small), "--size", "16", "--max-mib", str(budget)]) == 0
    with zipfile.ZipFile(small) as z:
        assert 1 <= len(z.namelist()) < 9 and sum(i.file_size for i in z.infolist()) <= budget * 2**20
    first = tmp_path / "first.zip"
    assert tool["main"]([str(faces), str(first), "--first", "3", "--copy"]) == 0
    with zipfile.ZipFile(first) as z:
        assert z.namelist() == [f"first/{n}" for n in names[:3]]
        assert z.read(f"first/{names[0]}") == (faces / names[0]).read_bytes()


def test_levers_measures_each_lever_against_the_search_alone(tmp_path):
    model = save_tiny_model(tmp_path / "tiny")
    faces = write_random_images(tmp_path / "faces", 3, seed=2)
    main = runpy.run_path(str(TOOLS / "levers.py"))["main"]
    common = ["--images", str(faces), "--n", "3", "--size", "32", "--model", str(model)]
    out = tmp_path / "fit.json"
    assert main(["fit", *common, "--variants", "steps=2;steps=2,feature=0", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["variant"] for r in rows] == ["the search alone (defaults)", "fit steps=2", "fit steps=2,feature=0"]
    assert len(rows[1]["psnr_vs_search"]) == 3 and len(rows[1]["per_face_psnr"]) == 3
    out = tmp_path / "bn.json"
    assert main(["bn", *common, "--samples", "256", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["rows"][1]["variant"] == "BatchNorm statistics of 256 z"
