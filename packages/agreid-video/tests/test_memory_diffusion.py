"""ACP-VPReID view-aware memory diffusion."""

from __future__ import annotations

import torch
from torch import nn

from agreid_video.modules.memory_diffusion import ViewMemoryDiffusion


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_shapes_and_grads() -> None:
    torch.manual_seed(0)
    mem = ViewMemoryDiffusion(32, num_slots=4, heads=2)
    frames = torch.randn(3, 4, 32)
    out = mem(frames, torch.tensor([0, 1, 2]))
    assert out.shape == (3, 4, 32)
    out.pow(2).sum().backward()
    _assert_all_grads(mem)


def test_reads_the_bank_of_each_samples_view() -> None:
    torch.manual_seed(0)
    mem = ViewMemoryDiffusion(32, num_slots=4, heads=2).eval()
    frames = torch.randn(4, 4, 32)
    views = torch.tensor([0, 1, 1, 2])
    with torch.no_grad():
        before = mem(frames, views)
        mem.load_banks(1, torch.zeros(4, 32))
        after = mem(frames, views)
    changed = [not torch.allclose(before[i], after[i]) for i in range(4)]
    assert changed == [False, True, True, False]
    with torch.no_grad():  # reading another view's bank on request
        other = mem(frames, views, read_views=torch.tensor([1, 1, 1, 1]))
    assert not torch.allclose(other[0], after[0]) and torch.allclose(other[1], after[1])


def test_zero_scale_is_identity() -> None:
    mem = ViewMemoryDiffusion(32, num_slots=4, heads=2, init_scale=0.0)
    frames = torch.randn(2, 4, 32)
    torch.testing.assert_close(mem(frames, torch.tensor([0, 2])), frames)
