"""AttributeBCELoss: BCE over known attribute entries only; gradients; edge cases."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from agreid_losses.attribute_bce import AttributeBCELoss


def test_equals_bce_when_all_known() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 2, (4, 5), generator=g)
    torch.testing.assert_close(
        AttributeBCELoss()(x, t), F.binary_cross_entropy_with_logits(x, t.double())
    )


def test_unknown_entries_ignored() -> None:
    x = torch.tensor([[0.5, -1.0, 2.0], [0.0, 3.0, -2.0]], dtype=torch.float64)
    t = torch.tensor([[1, -1, 0], [-1, 1, -1]])
    known = t >= 0
    expected = F.binary_cross_entropy_with_logits(x[known], t[known].double())
    torch.testing.assert_close(AttributeBCELoss()(x, t), expected)
    # Changing the logits of unknown entries changes nothing.
    x2 = x.clone()
    x2[~known] = 100.0
    torch.testing.assert_close(AttributeBCELoss()(x2, t), expected)
    summed = AttributeBCELoss(reduction="sum")(x, t)
    torch.testing.assert_close(summed, expected * known.sum())


def test_pos_weight() -> None:
    x = torch.tensor([[0.3, -0.4]], dtype=torch.float64)
    t = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    loss = AttributeBCELoss(pos_weight=[2.0, 1.0])
    expected = (2 * F.softplus(-x[0, 0]) + F.softplus(-x[0, 1])) / 2
    assert loss(x, t).item() == pytest.approx(expected.item(), rel=1e-6)


def test_gradcheck_and_no_grad_to_unknown() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[1, 0, -1, 1], [0, -1, -1, 1], [1, 1, 0, 0]])
    loss = AttributeBCELoss()
    assert torch.autograd.gradcheck(lambda z: loss(z, t), (x,))
    loss(x, t).backward()
    assert x.grad is not None and bool((x.grad[t < 0] == 0).all())


def test_all_unknown_is_zero_with_grad() -> None:
    x = torch.randn(2, 3, requires_grad=True)
    out = AttributeBCELoss()(x, -torch.ones(2, 3))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and torch.isfinite(x.grad).all()


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        AttributeBCELoss()(torch.zeros(1, 2), torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match=r"\(B, A\)"):
        AttributeBCELoss()(torch.zeros(1, 2), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="pos_weight"):
        AttributeBCELoss(pos_weight=[1.0])(torch.zeros(1, 2), torch.zeros(1, 2))
