"""Asymmetric loss (single- and multi-label): card §6 fixtures, gradients, special cases."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from agreid_losses.asymmetric import AsymmetricLossMultiLabel, AsymmetricLossSingleLabel
from agreid_losses.cross_entropy import CrossEntropyLabelSmooth


def test_single_label_card_fixture() -> None:
    x = torch.tensor([[2.0, 0.5, -1.0]], dtype=torch.float64)
    loss = AsymmetricLossSingleLabel(gamma_pos=0.0, gamma_neg=4.0, epsilon=0.1)
    assert loss(x, torch.tensor([0])).item() == pytest.approx(0.225279, abs=1e-5)


def test_single_label_no_focusing_is_bot_label_smoothing() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 3, 1, 1, 2])
    asl = AsymmetricLossSingleLabel(gamma_pos=0.0, gamma_neg=0.0, epsilon=0.1)
    torch.testing.assert_close(asl(x, y), CrossEntropyLabelSmooth(epsilon=0.1)(x, y))
    asl0 = AsymmetricLossSingleLabel(gamma_pos=0.0, gamma_neg=0.0, epsilon=0.0)
    torch.testing.assert_close(asl0(x, y), F.cross_entropy(x, y))


def test_single_label_gradcheck() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 4, 2, 2])
    loss = AsymmetricLossSingleLabel(gamma_pos=1.0, gamma_neg=4.0)
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


def test_single_label_detached_weights_gradient() -> None:
    # With detach_focal_weight the gradient is that of −Σ q·w·log p with w held constant.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 4, 2, 2])
    loss = AsymmetricLossSingleLabel(gamma_pos=1.0, gamma_neg=4.0, detach_focal_weight=True)
    p = x.detach().softmax(1)
    onehot = F.one_hot(y, 5).bool()
    w = torch.where(onehot, 1 - p, p**4)
    q = onehot.double() * 0.9 + 0.1 / 5

    def ref(t: torch.Tensor) -> torch.Tensor:
        return -(q * w * t.log_softmax(1)).sum(1).mean()

    assert torch.autograd.gradcheck(ref, (x,))
    torch.testing.assert_close(loss(x, y), ref(x))
    (grad,) = torch.autograd.grad(loss(x, y), x)
    (grad_ref,) = torch.autograd.grad(ref(x), x)
    torch.testing.assert_close(grad, grad_ref)


def test_single_label_permutation_and_sum() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (6,), generator=g)
    perm = torch.randperm(6, generator=g)
    mean = AsymmetricLossSingleLabel()
    torch.testing.assert_close(mean(x, y), mean(x[perm], y[perm]))
    torch.testing.assert_close(AsymmetricLossSingleLabel(reduction="sum")(x, y), 6 * mean(x, y))


def test_multi_label_card_fixture() -> None:
    x = torch.tensor([[1.0, -1.0, 0.0]], dtype=torch.float64)
    t = torch.tensor([[1, 0, 0]])
    loss = AsymmetricLossMultiLabel(gamma_neg=4.0, gamma_pos=1.0, clip=0.05)
    assert loss(x, t).item() == pytest.approx(0.109332, abs=1e-5)


def test_multi_label_without_asymmetry_is_bce_sum() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 6, generator=g, dtype=torch.float64)
    t = torch.randint(0, 2, (4, 6), generator=g)
    loss = AsymmetricLossMultiLabel(gamma_neg=0.0, gamma_pos=0.0, clip=0.0)
    expected = F.binary_cross_entropy_with_logits(x, t.double(), reduction="sum")
    torch.testing.assert_close(loss(x, t), expected)
    mean = AsymmetricLossMultiLabel(gamma_neg=0.0, gamma_pos=0.0, clip=0.0, reduction="mean")
    torch.testing.assert_close(mean(x, t), expected / 4)


def test_multi_label_gradcheck() -> None:
    # Logits in (−1, 1): p ∈ (0.27, 0.73), away from the clip kink at p = 0.05.
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(3, 5, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_()
    t = torch.randint(0, 2, (3, 5), generator=g)
    loss = AsymmetricLossMultiLabel()
    assert torch.autograd.gradcheck(lambda z: loss(z, t), (x,))


def test_multi_label_detached_weights_gradient() -> None:
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(3, 5, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_()
    t = torch.randint(0, 2, (3, 5), generator=g).double()
    loss = AsymmetricLossMultiLabel(detach_focal_weight=True)
    p0 = x.detach().sigmoid()
    w_pos, w_neg = 1 - p0, (p0 - 0.05).clamp(min=0) ** 4

    def ref(z: torch.Tensor) -> torch.Tensor:
        p = z.sigmoid()
        p_m = (p - 0.05).clamp(min=0)
        return -(t * w_pos * p.log() + (1 - t) * w_neg * (1 - p_m).log()).sum()

    torch.testing.assert_close(loss(x, t), ref(x))
    (grad,) = torch.autograd.grad(loss(x, t), x)
    (grad_ref,) = torch.autograd.grad(ref(x), x)
    torch.testing.assert_close(grad, grad_ref)


def test_multi_label_easy_negatives_are_discarded() -> None:
    # p ≤ clip: p_m = 0, so a very confident negative contributes exactly 0.
    x = torch.tensor([[-6.0]], dtype=torch.float64, requires_grad=True)
    out = AsymmetricLossMultiLabel()(x, torch.tensor([[0]]))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and torch.isfinite(x.grad).all()


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="gammas"):
        AsymmetricLossSingleLabel(gamma_neg=-1.0)
    with pytest.raises(ValueError, match="clip"):
        AsymmetricLossMultiLabel(clip=1.0)
    with pytest.raises(ValueError, match=r"\(B, C\)"):
        AsymmetricLossMultiLabel()(torch.zeros(2, 3), torch.zeros(2, 4))
