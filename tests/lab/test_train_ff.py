"""The feed-forward networks (Context Encoder, PGGAN): models, holes, trainer, model folders, command."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_gui.core.engines.feedforward import ce, pggan
from inpaint_gui.core.engines.feedforward.fill import fill_windows, plan_block
from inpaint_gui.core.engines.feedforward.weights import load_net
from inpaint_gui.core.errors import MaskError, WeightsError
from inpaint_gui.lab.dataset import ImageSet
from inpaint_gui.lab.ff_holes import HoleSampler
from inpaint_gui.lab.train_ff import FFSettings, FFTrainer

TINY = {
    "ce": ce.CEConfig(resolution=32, nef=4, max_width=16, bottleneck=8, ndf=4),
    "pggan": pggan.PGGANConfig(resolution=32, ngf=4, n_blocks=2, ndf=4),
}


def faces(n=12, size=32, seed=0):
    """Smooth random 'faces': a few colour blobs, so that a fill can be learnt from the context."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for _ in range(n):
        a = rng.uniform(0, 1, (3, 3))
        img = 127 + 100 * np.stack([np.sin(3 * a[c, 0] * xx + 2 * a[c, 1] * yy + 6 * a[c, 2]) for c in range(3)], -1)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


def trainer(arch, n=12, **kw):
    data = ImageSet(faces(n), 0, None, None)
    settings = FFSettings(batch=4, epochs=2, seed=1, export_every=3, **kw)
    return FFTrainer(arch, TINY[arch], data, settings, torch.device("cpu"), val_images=faces(4, seed=9))


def states_equal(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("arch", ["ce", "pggan"])
def test_shapes_at_128(arch):
    module = ce if arch == "ce" else pggan
    g, d = module.build(module.CEConfig() if arch == "ce" else module.PGGANConfig(), seed=0)
    x = torch.zeros(2, module.IN_CHANNELS, 128, 128)
    if arch == "ce":
        assert g(x).shape == (2, 3, 64, 64)
        assert d(torch.zeros(2, 3, 64, 64)).shape == (2, 8, 8)  # the patch map on the block
    else:
        assert g(x).shape == (2, 3, 128, 128)
        glob, patch = d(torch.zeros(2, 3, 128, 128))
        assert glob.shape == (2,) and patch.shape == (2, 16, 16)  # one value and the 16x16 PatchGAN map


def test_ce_input_marks_the_hole_and_the_block():
    img = torch.ones(1, 3, 32, 32)
    hole = torch.zeros(1, 32, 32, dtype=torch.bool)
    hole[0, 10:14, 12:20] = True
    x = ce.ce_input(img, hole, torch.tensor([[4, 8]]), 16)
    assert x.shape == (1, 5, 32, 32)
    assert (x[0, :3][:, hole[0]] == 0).all() and (x[0, :3][:, ~hole[0]] == 1).all()
    assert torch.equal(x[0, 3].bool(), hole[0])
    assert x[0, 4].sum() == 256 and x[0, 4, 4:20, 8:24].all()


def test_plan_block_holds_the_hole_inside_the_window():
    mask = np.zeros((128, 128), bool)
    mask[2:30, 100:126] = True  # near a corner: the block is moved inside
    y, x = plan_block(mask, 64)
    assert 0 <= y <= 64 and 0 <= x <= 64
    assert mask[y : y + 64, x : x + 64].sum() == mask.sum()
    mask[:, :] = False
    mask[32:96, 32:96] = True
    assert plan_block(mask, 64) == (32, 32)
    mask[10, 10] = True  # 86 px across: no block of 64 holds it
    assert plan_block(mask, 64) is None


@pytest.mark.parametrize("arch", ["ce", "pggan"])
def test_holes_are_reproducible_and_fit_the_network(arch, tmp_path):
    rng = np.random.default_rng(0)
    masks = []
    for i in range(6):  # hand-drawn-like masks, 255 = hole, at another size than the windows
        m = np.zeros((200, 200), np.uint8)
        for _ in range(4):
            y, x = rng.integers(0, 180, 2)
            m[y : y + 20 + 10 * i, x : x + 8] = 255
        Image.fromarray(m).save(tmp_path / f"{i}.png")
        masks.append(tmp_path / f"{i}.png")
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(tmp_path / "empty.png")  # dropped: no hole
    sampler = HoleSampler(arch, 128, seed=3, irregular_files=[*masks, tmp_path / "empty.png"])
    assert len(sampler.irregular) == 6 and "irregular" in sampler.kinds
    holes, corners = sampler.sample(step=5, n=40)
    again, corners2 = sampler.sample(step=5, n=40)
    assert np.array_equal(holes, again) and np.array_equal(corners, corners2)
    assert not np.array_equal(holes, sampler.sample(step=6, n=40)[0])
    assert holes.any(axis=(1, 2)).all() and not holes.all(axis=(1, 2)).any()
    if arch == "ce":
        for h, (y, x) in zip(holes, corners):
            assert h[y : y + 64, x : x + 64].sum() == h.sum()  # every hole lies in its block


@pytest.mark.parametrize("arch", ["ce", "pggan"])
def test_training_lowers_the_loss_on_a_fixed_batch(arch):
    t = trainer(arch, lr=2e-3)
    fixed = t.batch(0)
    t.batch = lambda step: fixed  # the same images and holes at every step

    first = t.train_step()["loss_l1"]
    for _ in range(25):
        last = t.train_step()["loss_l1"]
    assert last < 0.7 * first, (first, last)


@pytest.mark.parametrize("arch", ["ce", "pggan"])
def test_checkpoint_resume_continues_exactly(arch, tmp_path):
    straight = trainer(arch)
    straight.run()
    assert straight.state.step == straight.total_steps == 6
    first = trainer(arch)
    for _ in range(2):
        first.train_step()
    first.save_checkpoint(tmp_path / "c.ckpt")
    resumed = trainer(arch)
    resumed.load_checkpoint(tmp_path / "c.ckpt")
    assert resumed.state.step == 2 and resumed.state.images_seen == 8
    resumed.run()
    assert states_equal(straight.generator.state_dict(), resumed.generator.state_dict())
    assert states_equal(straight.discriminator.state_dict(), resumed.discriminator.state_dict())
    with pytest.raises(ValueError, match="not a (ce|pggan) checkpoint"):
        trainer("pggan" if arch == "ce" else "ce").load_checkpoint(tmp_path / "c.ckpt")


def test_a_resume_takes_the_new_learning_rate_and_keeps_the_moments(tmp_path):
    first = trainer("pggan", lr=1e-3)
    first.train_step()
    first.save_checkpoint(tmp_path / "c.ckpt")
    resumed = trainer("pggan", lr=1e-5, beta1=0.9)
    resumed.load_checkpoint(tmp_path / "c.ckpt")
    for opt in (resumed.opt_g, resumed.opt_d):
        assert all(g["lr"] == 1e-5 and g["betas"][0] == 0.9 for g in opt.param_groups)
    moments = [s["exp_avg"] for s in resumed.opt_g.state.values()]
    saved = [s["exp_avg"] for s in first.opt_g.state.values()]
    assert moments and all(torch.equal(a, b) for a, b in zip(moments, saved))


@pytest.mark.parametrize("arch", ["ce", "pggan"])
def test_export_loads_fills_and_resumes(arch, tmp_path):
    t = trainer(arch)
    t.run()
    t.validate()
    folder = t.export(tmp_path / "m", {"name": "m", "licence": "test"})
    net = load_net(folder, arch=arch, resolution=32)
    assert net.arch == arch and net.config == TINY[arch] and net.discriminator is None
    assert states_equal(net.generator.state_dict(), t.generator.state_dict())
    assert not net.generator.training and not any(p.requires_grad for p in net.generator.parameters())
    card = json.loads((folder / "model.json").read_text())
    assert card["architecture"]["type"] == arch and card["training"]["steps"] == 6
    assert {"generator", "discriminator", "samples"} <= set(card["files"])
    assert len(card["training"]["state"]["val_history"]) == 1 and len(card["training"]["val_psnr_harmonic"]) == 2

    images = faces(3, seed=5)
    masks = np.zeros((3, 32, 32), bool)
    masks[:, 8:24, 8:24] = True
    masks[1, 8:24, 8:24] = False
    masks[1, 3:9, 20:30] = True  # a small hole near the edge
    out = fill_windows(net, images, masks)
    assert np.array_equal(out[~masks], images[~masks])  # the known pixels are untouched
    assert np.array_equal(out, t.fills(images, masks))  # as the trainer saw it

    again = trainer(arch)
    again.load_export(folder)
    assert again.state.step == 6 and again.state.images_seen == 24
    assert states_equal(again.discriminator.state_dict(), t.discriminator.state_dict())


def test_half_precision_folders_load_as_float32(tmp_path):
    t = trainer("ce")
    t.run()
    net = load_net(t.export(tmp_path / "m", half=True), arch="ce")
    assert json.loads((tmp_path / "m" / "model.json").read_text())["weights_dtype"] == "float16"
    for k, v in net.generator.state_dict().items():
        ref = t.generator.state_dict()[k]
        assert v.dtype == ref.dtype
        if v.is_floating_point():
            assert torch.allclose(v, ref.half().float())


def test_the_context_encoder_refuses_a_hole_larger_than_its_block(tmp_path):
    t = trainer("ce")
    net = load_net(t.export(tmp_path / "m"), arch="ce")
    masks = np.zeros((1, 32, 32), bool)
    masks[0, 2:30, 4:8] = True  # 28 px tall: the block is 16
    with pytest.raises(MaskError, match="at most 16x16"):
        fill_windows(net, faces(1), masks)


def one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text
    return text


def test_a_folder_of_another_architecture_or_resolution_is_a_one_line_error(tmp_path):
    from tests.tiny import save_tiny_model

    ce_folder = trainer("ce").export(tmp_path / "ce")
    with pytest.raises(WeightsError) as e:
        load_net(ce_folder, arch="pggan")
    assert "holds a Context Encoder (ce), not a PGGAN (pggan)" in one_line(e)
    with pytest.raises(WeightsError) as e:
        load_net(ce_folder, arch="ce", resolution=128)
    assert "trained at 32x32, this needs 128x128" in one_line(e)
    save_tiny_model(tmp_path / "prior")  # a DCGAN face prior
    with pytest.raises(WeightsError) as e:
        load_net(tmp_path / "prior", arch="ce")
    assert "holds a DCGAN prior (dcgan), not a Context Encoder (ce)" in one_line(e)


def test_damaged_folders_are_one_line_errors(tmp_path):
    folder = trainer("pggan").export(tmp_path / "m")
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text())
    big = dict(card, architecture={**card["architecture"], "ngf": 4096})  # a card edited to a huge network
    card_path.write_text(json.dumps(big))
    with pytest.raises(WeightsError) as e:
        load_net(folder)
    assert "needs more values than the file" in one_line(e)
    card_path.write_text(json.dumps(card))
    g = folder / "generator.pt"
    g.write_bytes(g.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(WeightsError) as e:
        load_net(folder)
    assert "sha256 mismatch" in one_line(e)


def test_network_folders_get_the_priors_file_checks(tmp_path):
    """The checks shared with the DCGAN priors (modelfiles.py): empty files, non-finite and
    integer weights are refused in one line, even when the card's hash matches."""
    from inpaint_gui.core.paths import sha256_file

    folder = trainer("ce").export(tmp_path / "m")
    card_path, g = folder / "model.json", folder / "generator.pt"
    good = g.read_bytes()
    state = torch.load(g, weights_only=True)
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)

    def resign():
        card = json.loads(card_path.read_text())
        card["files"]["generator"].update(sha256=sha256_file(g), bytes=g.stat().st_size)
        card_path.write_text(json.dumps(card))

    def broken(write, needle):
        write()
        resign()
        with pytest.raises(WeightsError) as e:
            load_net(folder, arch="ce")
        assert "generator.pt" in one_line(e) and needle in one_line(e)

    broken(lambda: g.write_bytes(b""), "empty (0 bytes)")
    nan = {k: v.clone() for k, v in state.items()}
    nan[key].view(-1)[0] = float("nan")
    broken(lambda: torch.save(nan, g), f"tensor {key} holds 1 NaN")
    ints = {k: v.round().long() if v.is_floating_point() else v for k, v in state.items()}
    broken(lambda: torch.save(ints, g), "floating-point")
    g.write_bytes(good)
    resign()
    assert load_net(folder, arch="ce").arch == "ce"  # the untouched file loads again


def test_train_command_exports_and_resumes_a_tiny_network(tmp_path):
    from tests.cli_helpers import cli_here as cli
    from tests.cli_helpers import one_error_line

    data = tmp_path / "faces"
    data.mkdir()
    for i, im in enumerate(faces(10)):
        Image.fromarray(im).save(data / f"{i}.png")
    out = tmp_path / "w" / "pg"
    common = ["--arch", "pggan", "--size", "32", "--width", "4", "--d-width", "4", "--blocks", "2", "--batch", "4"]
    common += ["--device", "cpu", "--threads", "1", "--cache-dir", tmp_path / "cache", "--sample-every", "2"]
    r = cli("train", data, "--out", out, "--epochs", "1", "--val-images", data, *common)
    assert r.returncode == 0, r.stderr
    assert "val PSNR center/parts" in r.stderr
    net = load_net(out, arch="pggan", resolution=32)
    card = json.loads((out / "model.json").read_text())
    assert card["training"]["steps"] == 2 and card["training"]["command"].startswith("inpaint-gui train ")
    assert "CelebA" not in card["licence"] and net.config.ngf == 4
    # continue from the exported weights (no checkpoint): the step count carries on
    r = cli("train", data, "--out", out, "--epochs", "2", "--resume", out, *common)
    assert r.returncode == 0, r.stderr
    card = json.loads((out / "model.json").read_text())
    assert card["training"]["steps"] == 4 and "exported weights" in card["training"]["resumed_with"][0]
    # resuming a Context Encoder from this folder is one line, exit 2
    r = cli("train", data, "--out", tmp_path / "w" / "ce", "--arch", "ce", "--resume", out, *common[2:])
    one_error_line(r, "holds a PGGAN (pggan), not a Context Encoder (ce)")


def test_eval_runs_the_networks_beside_the_baselines(tmp_path):
    from tests.cli_helpers import cli_here as cli
    from tests.cli_helpers import one_error_line
    from tests.tiny import save_tiny_model

    save_tiny_model(tmp_path / "prior")
    trainer("ce").export(tmp_path / "ce")
    trainer("pggan").export(tmp_path / "pg")
    data = tmp_path / "faces"
    data.mkdir()
    for i, im in enumerate(faces(4, seed=3)):
        Image.fromarray(im).save(data / f"{i}.png")
    common = ["eval", "--images", data, "--size", "32", "--model", tmp_path / "prior", "--device", "cpu"]
    common += ["--ce-model", tmp_path / "ce", "--pggan-model", tmp_path / "pg", "--quiet"]
    r = cli(*common, "--masks", "center,parts", "--methods", "ce,pggan,harmonic", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "out" / "metrics.json").read_text())["summary"]
    assert {(e["mask"], e["method"]) for e in summary} == {
        (k, m) for k in ("center", "parts") for m in ("ce", "pggan", "harmonic")
    }
    assert all(e["n"] == 4 and np.isfinite(e["psnr"]) for e in summary)
    r = cli(*common, "--methods", "ce", "--masks", "center", "--ce-model", tmp_path / "pg", "--out", tmp_path / "out2")
    one_error_line(r, "holds a PGGAN (pggan), not a Context Encoder (ce)")
    assert not (tmp_path / "out2").exists()
    r = cli(*common, "--methods", "ce", "--masks", "center,regular", "--out", tmp_path / "out3")
    one_error_line(r, "masks center and parts, not regular")


def test_seated_fills_keep_the_known_pixels():
    from inpaint_gui.lab.evaluate import feedforward_outputs

    t = trainer("pggan")
    t.generator.eval()  # as the app runs it
    images = faces(3, seed=4)
    masks = np.zeros((3, 32, 32), bool)
    masks[:, 5:20, 9:30] = True
    for blend in ("poisson", "paste"):
        out = feedforward_outputs(t.as_loaded(), images, masks, blend)
        assert np.array_equal(out[~masks], images[~masks])
    assert np.array_equal(out, t.fills(images, masks))  # pasted: the network's fill as it is
    poisson = feedforward_outputs(t.as_loaded(), images, masks, "poisson")
    assert not np.array_equal(poisson, out)  # the network's own pixels around the hole guide the seam


def test_the_context_encoder_predicts_its_block_only(tmp_path):
    from inpaint_gui.core.engines.feedforward.fill import predict_windows

    net = load_net(trainer("ce").export(tmp_path / "m"), arch="ce")
    images = faces(1, seed=2)
    masks = np.zeros((1, 32, 32), bool)
    masks[0, 12:18, 20:26] = True
    pred = predict_windows(net, images, masks)
    y, x = plan_block(masks[0], 16)
    block = np.zeros((32, 32), bool)
    block[y : y + 16, x : x + 16] = True
    assert np.array_equal(pred[0][~block], images[0][~block].astype(np.float32))
    assert not np.allclose(pred[0][block & ~masks[0]], images[0][block & ~masks[0]])


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--arch", "ce", "--width", "0"], "--arch ce: nef must be positive"),
        (["--arch", "pggan", "--init-from", "celeba64"], "--init-from is for --arch dcgan only"),
        (["--arch", "pggan", "--export-only"], "--export-only needs --resume"),
    ],
)
def test_train_command_bad_options_are_one_line(tmp_path, extra, needle):
    from tests.cli_helpers import cli_here as cli
    from tests.cli_helpers import one_error_line

    one_error_line(cli("train", tmp_path, "--out", tmp_path / "w", *extra), needle)
    assert not (tmp_path / "w").exists()


def test_recalibrated_batchnorm_statistics_are_plain_averages_over_recent_batches():
    t = trainer("pggan", bn_batches=5)
    for _ in range(7):
        t.train_step()
    bn = t.generator.stem[1]  # the first BatchNorm
    seen = []
    hook = bn.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].mean(dim=(0, 2, 3))))
    weights = {k: v.clone() for k, v in t.generator.state_dict().items() if "running" not in k and "tracked" not in k}
    t.recalibrate_bn()
    hook.remove()
    assert len(seen) == 5  # training batches 2..6, the last five before step 7
    assert torch.allclose(bn.running_mean, torch.stack(seen).mean(0), atol=1e-6)
    assert bn.momentum == 0.1 and t.generator.training
    assert all(torch.equal(v, t.generator.state_dict()[k]) for k, v in weights.items())
    again = trainer("pggan", bn_batches=5)
    for _ in range(7):
        again.train_step()
    again.recalibrate_bn()
    assert torch.equal(again.generator.stem[1].running_var, bn.running_var)  # it depends on the step only


def test_the_shipped_context_encoder_loads_verified_and_fills():
    net = load_net("ce128", arch="ce", resolution=128)  # hashes, shapes and finite values checked
    assert net.config == ce.CEConfig() and net.card["weights_dtype"] == "float16"
    quality = net.card["quality"]
    for kind in ("center_64x64", "parts_36x36"):  # the targets against harmonic, held out
        assert quality[kind]["psnr"] >= quality[kind]["harmonic"]["psnr"] + 1.5
    image = np.asarray(Image.open(net.path / "samples.png").convert("RGB"))[2:130, -130:-2][None]  # a truth tile
    mask = np.zeros((1, 128, 128), bool)
    mask[0, 32:96, 32:96] = True
    out = fill_windows(net, image, mask)
    assert np.array_equal(out[~mask], image[~mask]) and np.abs(out.astype(int) - image).mean() < 10
