"""ACP-VPReID scale-adaptive normalisation conditioned on the view."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from agreid_video.modules.scale_norm import ScaleAdaptiveNorm


def _assert_all_grads(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_applies_each_samples_own_view_affine() -> None:
    torch.manual_seed(0)
    norm = ScaleAdaptiveNorm(32)
    with torch.no_grad():
        norm.gamma.copy_(torch.arange(1, 4, dtype=torch.float32)[:, None].expand(3, 32))
        norm.beta.copy_(torch.tensor([10.0, 20.0, 30.0])[:, None].expand(3, 32))
    x = torch.randn(4, 5, 32)
    views = torch.tensor([2, 0, 1, 2])
    out = norm(x, views)
    ln = F.layer_norm(x, (32,))
    for i, v in enumerate(views.tolist()):
        torch.testing.assert_close(out[i], (v + 1) * ln[i] + 10.0 * (v + 1))
    out.pow(2).mean().backward()
    _assert_all_grads(norm)


def test_residual_is_identity_at_init_and_batch_norm_runs() -> None:
    x = torch.randn(4, 32)
    views = torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(ScaleAdaptiveNorm(32, residual=True)(x, views), x)
    bn = ScaleAdaptiveNorm(32, norm="batch")
    out = bn(torch.randn(4, 3, 32), views)
    assert out.shape == (4, 3, 32)
    torch.testing.assert_close(out.mean(dim=(0, 1)), torch.zeros(32), atol=1e-5, rtol=0)
    with pytest.raises(ValueError):
        ScaleAdaptiveNorm(32, norm="group")  # type: ignore[arg-type]
