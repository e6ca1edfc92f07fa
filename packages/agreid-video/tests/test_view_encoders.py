"""ACP-VPReID view-specific encoders."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agreid_video.modules.view_encoders import ViewSpecificEncoders


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_identity_at_init_shapes_and_grads() -> None:
    enc = ViewSpecificEncoders(32)
    x = torch.randn(3, 4, 32)
    views = torch.tensor([0, 1, 2])
    torch.testing.assert_close(enc(x, views), x)
    enc(x, views).pow(2).sum().backward()
    _assert_all_grads(enc)
    assert enc(torch.randn(3, 4, 5, 32), views).shape == (3, 4, 5, 32)


def test_each_sample_uses_its_own_views_adapter() -> None:
    torch.manual_seed(0)
    enc = ViewSpecificEncoders(32, zero_init=False)
    x = torch.randn(4, 2, 32)
    views = torch.tensor([2, 0, 2, 1])
    out = enc(x, views)
    for i, v in enumerate(views.tolist()):
        torch.testing.assert_close(out[i], x[i] + enc.adapters[v](x[i]))
    enc.zero_grad()
    enc(x, torch.tensor([0, 0, 0, 0])).sum().backward()
    assert enc.adapters[0].up.weight.grad is not None
    assert enc.adapters[1].up.weight.grad is None and enc.adapters[2].up.weight.grad is None
    with pytest.raises(ValueError, match="view ids"):
        enc(x, torch.tensor([0, 1, 2, 3]))
