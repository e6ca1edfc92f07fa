"""ACP-VPReID view prompts + cross-view transformer."""

from __future__ import annotations

import torch
from torch import nn

from agreid_video.modules.view_prompts import ViewPromptTransformer


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_shapes_average_at_init_and_grads() -> None:
    torch.manual_seed(0)
    model = ViewPromptTransformer(32, num_prompts=2, heads=2, max_frames=4)
    frames = torch.randn(3, 4, 32)
    views = torch.tensor([0, 1, 2])
    assert model.forward_tokens(frames, views).shape == (3, 6, 32)
    out = model(frames, views)
    assert out.shape == (3, 32)
    torch.testing.assert_close(out, frames.mean(1))  # zero-init output projection
    with torch.no_grad():
        model.out.weight.normal_(std=0.1)
    model(frames, views).pow(2).sum().backward()
    _assert_all_grads(model)


def test_view_prompt_changes_the_sequence_feature() -> None:
    torch.manual_seed(0)
    model = ViewPromptTransformer(32, heads=2, max_frames=4, dropout=0.0).eval()
    with torch.no_grad():
        model.out.weight.normal_(std=0.1)
    frames = torch.randn(1, 4, 32).expand(2, 4, 32)
    out = model(frames, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])
