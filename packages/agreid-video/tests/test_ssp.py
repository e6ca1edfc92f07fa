"""TF-CLIP Sequence-Specific Prompt."""

from __future__ import annotations

import torch
from torch import nn

from agreid_video.modules.ssp import SequenceSpecificPrompt


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_shapes_shared_and_per_clip_memory_and_grads() -> None:
    torch.manual_seed(0)
    ssp = SequenceSpecificPrompt(dim=32, heads=2, num_layers=2)
    memory = torch.randn(5, 32)
    video = torch.randn(2, 9, 32, requires_grad=True)
    out = ssp(memory, video)
    assert out.shape == (2, 5, 32)
    assert ssp(memory.expand(2, 5, 32), video).shape == (2, 5, 32)
    updated = ssp.update(memory, video)
    assert updated.shape == (2, 5, 32)
    updated.pow(2).mean().backward()
    _assert_all_grads(ssp)
    assert video.grad is not None


def test_prompts_depend_on_the_clip() -> None:
    torch.manual_seed(0)
    ssp = SequenceSpecificPrompt(dim=32, heads=2).eval()
    memory = torch.randn(3, 32)
    video = torch.randn(1, 4, 32).expand(2, 4, 32).clone()
    video[1] += torch.randn(4, 32)  # (a constant shift is removed by the input LayerNorm)
    out = ssp(memory, video)
    assert not torch.allclose(out[0], out[1])
    torch.testing.assert_close(ssp.update(memory, video), memory + out)
