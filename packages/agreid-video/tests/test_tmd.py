"""TF-CLIP Temporal Memory Diffusion."""

from __future__ import annotations

import torch
from torch import nn

from agreid_video.modules.tmd import TemporalMemoryDiffusion


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_shapes_pooling_and_grads() -> None:
    torch.manual_seed(0)
    tmd = TemporalMemoryDiffusion(dim=32, heads=2)
    tokens = torch.randn(2, 4, 9, 32)
    out = tmd(tokens)
    assert out.shape == (2, 4, 9, 32)
    frames, clip = tmd.pool(out)
    assert frames.shape == (2, 4, 32) and clip.shape == (2, 32)
    clip.pow(2).sum().backward()
    _assert_all_grads(tmd)


def test_detached_input_gets_no_gradient_unless_asked() -> None:
    tokens = torch.randn(2, 4, 5, 32, requires_grad=True)
    TemporalMemoryDiffusion(dim=32, heads=2)(tokens).sum().backward()
    assert tokens.grad is None
    TemporalMemoryDiffusion(dim=32, heads=2, detach_input=False)(tokens).sum().backward()
    assert tokens.grad is not None


def test_frames_exchange_information() -> None:
    torch.manual_seed(0)
    tmd = TemporalMemoryDiffusion(dim=32, heads=2).eval()
    tokens = torch.randn(1, 4, 5, 32)
    changed = tokens.clone()
    changed[:, 3] += torch.randn(5, 32)
    a, b = tmd(tokens), tmd(changed)
    assert not torch.allclose(a[:, 0], b[:, 0])  # frame 0 sees frame 3 through the memory
