"""``bench --parts feedforward``: what it counts and reports, never how fast."""

import torch

from inpaint_gui.core.engines.feedforward import ce, pggan
from inpaint_gui.lab.bench_ff import conv_macs, feedforward_rows


def test_conv_macs_of_the_default_context_encoder_by_hand():
    g, _ = ce.build(ce.CEConfig(), seed=0)
    # encoder, MACs = Cin * Cout * 16 * Hout * Wout: 5->32 (64), 32->64 (32), 64->128 (16), 128->256 (8), 256->256 (4)
    enc = 5 * 32 * 16 * 64**2 + 32 * 64 * 16 * 32**2 + 64 * 128 * 16 * 16**2 + 128 * 256 * 16 * 8**2
    enc += 256 * 256 * 16 * 4**2
    bottleneck = 256 * 512 * 4**2
    # decoder, transposed: Cin * Cout * 16 * Hin * Win: 512->256 (4), 256->128 (8), 128->64 (16), 64->32 (32)
    dec = 512 * 256 * 16 * 4**2 + 256 * 128 * 16 * 8**2 + 128 * 64 * 16 * 16**2 + 64 * 32 * 16 * 32**2
    to_rgb = 32 * 3 * 9 * 64**2
    assert conv_macs(g, torch.zeros(1, 5, 128, 128)) == enc + bottleneck + dec + to_rgb  # 0.268 G


def test_feedforward_rows_report_each_network(tmp_path, monkeypatch):
    monkeypatch.setenv("INPAINT_GUI_WEIGHTS", str(tmp_path))  # no shipped networks there: untrained ones
    threads = torch.get_num_threads()
    ceiling, *rows = feedforward_rows(min_seconds=0.01, models={"ce": None, "pggan": None})
    assert torch.get_num_threads() == threads  # restored after the one-thread timing
    assert ceiling["matmul_gflops_1_thread"] > 0
    assert [r["network"] for r in rows] == ["ce", "pggan"]
    for r in rows:
        assert r["fill_s"] > 0 and r["with_poisson_s"] >= 0 and isinstance(r["within_budget"], bool)
    g, _ = pggan.build(pggan.PGGANConfig(), seed=0)
    assert rows[1]["gmac"] == round(conv_macs(g, torch.zeros(1, 4, 128, 128)) / 1e9, 3)
