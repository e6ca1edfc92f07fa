"""X-TFCLIP learnable memory weighting."""

from __future__ import annotations

import math

import torch

from agreid_video.modules.memory_fusion import MemoryAlphaFusion


def test_alpha_mix_init_and_grad() -> None:
    fusion = MemoryAlphaFusion()
    a = 1 / (1 + math.exp(-0.5))
    assert abs(float(fusion.alpha.detach()) - a) < 1e-6
    memory = torch.randn(5, 32)
    ssp = torch.randn(2, 5, 32)
    out = fusion(memory, ssp)
    assert out.shape == (2, 5, 32)
    torch.testing.assert_close(out, a * memory + (1 - a) * ssp)
    out.sum().backward()
    assert fusion.raw_alpha.grad is not None and torch.isfinite(fusion.raw_alpha.grad)


def test_alpha_stays_in_unit_interval() -> None:
    for raw in (-50.0, 0.0, 50.0):
        alpha = float(MemoryAlphaFusion(raw).alpha.detach())
        assert 0.0 <= alpha <= 1.0
