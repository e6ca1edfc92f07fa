"""ACP-VPReID motion-aware gating."""

from __future__ import annotations

import torch
from torch import nn

from agreid_video.modules.motion_gating import STATIC_GATE, MotionGating


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_static_clip_gets_the_static_gate_and_moving_clip_does_not() -> None:
    torch.manual_seed(0)
    gating = MotionGating(32, init_strength=1.0)
    static = torch.randn(2, 1, 32).expand(2, 4, 32).contiguous()
    moving = static + torch.randn(2, 4, 32)
    g_static, g_moving = gating.gate(static), gating.gate(moving)
    torch.testing.assert_close(g_static, torch.full_like(g_static, STATIC_GATE))
    assert not torch.allclose(g_moving, g_static)
    torch.testing.assert_close(gating(static), static)  # identity on a static clip
    assert not torch.allclose(gating(moving), moving)


def test_gate_grows_with_the_size_of_the_motion() -> None:
    torch.manual_seed(0)
    gating = MotionGating(32)
    base = torch.randn(1, 1, 32).expand(1, 4, 32)  # static
    step = torch.randn(1, 4, 32)
    small = (gating.gate(base + 0.01 * step) - STATIC_GATE).abs().mean()
    large = (gating.gate(base + 1.0 * step) - STATIC_GATE).abs().mean()
    assert 0 < small < large


def test_identity_at_init_shapes_and_grads() -> None:
    gating = MotionGating(32)
    frames = torch.randn(2, 4, 32)
    out = gating(frames)
    torch.testing.assert_close(out, frames)
    out.pow(2).sum().backward()
    _assert_all_grads(gating)
    assert MotionGating.motion(torch.randn(2, 1, 32)).abs().sum() == 0
