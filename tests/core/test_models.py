import pytest
import torch

from inpaint_gui.core.engines.gan.models import DCGANConfig, Discriminator, Generator, build_models


def count_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("resolution", [32, 64, 128])
def test_shapes_and_ranges(resolution):
    config = DCGANConfig(resolution=resolution, nz=10, ngf=4, ndf=4)
    g, d = build_models(config, seed=0)
    z = torch.rand(3, 10) * 2 - 1
    x = g(z)
    assert x.shape == (3, 3, resolution, resolution)
    assert x.abs().max() <= 1.0
    assert torch.equal(g(z[:, :, None, None]), x)  # (N, nz) and (N, nz, 1, 1) both accepted
    logits = d(x)
    assert logits.shape == (3,)


def test_stages_follow_the_paper_layout():
    g = Generator(DCGANConfig(resolution=64, nz=100, ngf=64))
    convs = [m for m in g.main if isinstance(m, torch.nn.ConvTranspose2d)]
    # z -> 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3 (Radford et al., Fig. 1)
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]
    d = Discriminator(DCGANConfig(resolution=128, ndf=8))
    assert [m.out_channels for m in d.main if isinstance(m, torch.nn.Conv2d)] == [8, 16, 32, 64, 128, 1]


def test_seed_makes_initialisation_reproducible_without_touching_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, _ = build_models(DCGANConfig(ngf=4, ndf=4), seed=7)
    after = torch.rand(1)
    b, _ = build_models(DCGANConfig(ngf=4, ndf=4), seed=7)
    c, _ = build_models(DCGANConfig(ngf=4, ndf=4), seed=8)
    assert torch.equal(before, after)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_config_round_trip_and_validation():
    config = DCGANConfig(resolution=128, nz=50, ngf=16, ndf=24)
    assert DCGANConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError):
        DCGANConfig(resolution=48)
    with pytest.raises(ValueError):
        DCGANConfig(nz=0)


def test_width_scales_parameters():
    small = count_parameters(Generator(DCGANConfig(ngf=8)))
    large = count_parameters(Generator(DCGANConfig(ngf=16)))
    assert 2 < large / small < 4  # hidden convs grow with width squared, the first layer linearly
