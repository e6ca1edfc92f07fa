"""CenterLoss: formula, N(0, 1) parameter centers, gradients, permutation invariance."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agreid_losses.center import CenterLoss


def test_formula_by_hand() -> None:
    loss = CenterLoss(num_classes=2, feat_dim=2)
    with torch.no_grad():
        loss.centers.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    f = torch.tensor([[1.0, 0.0], [1.0, 3.0], [0.0, 2.0]])
    y = torch.tensor([0, 1, 0])
    # ‖(1,0)‖² + ‖(0,2)‖² + ‖(0,2)‖² = 1 + 4 + 4, divided by B = 3 (no ½).
    assert loss(f, y).item() == pytest.approx(3.0)


def test_centers_are_standard_normal_parameters() -> None:
    torch.manual_seed(0)
    loss = CenterLoss(num_classes=100, feat_dim=50)
    assert isinstance(loss.centers, nn.Parameter)
    assert loss.centers.shape == (100, 50)
    assert abs(loss.centers.mean().item()) < 0.05
    assert loss.centers.std().item() == pytest.approx(1.0, abs=0.05)


def test_gradcheck_features_and_centers() -> None:
    torch.manual_seed(0)
    loss = CenterLoss(num_classes=3, feat_dim=4).double()
    f = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 2, 1, 0])
    assert torch.autograd.gradcheck(lambda t, c: (t - c[y]).pow(2).sum(1).mean(), (f, loss.centers))
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (f,))
    out = loss(f, y)
    out.backward()
    assert loss.centers.grad is not None and loss.centers.grad.abs().sum() > 0


def test_batch_permutation_invariant() -> None:
    torch.manual_seed(1)
    loss = CenterLoss(num_classes=4, feat_dim=3).double()
    f = torch.randn(8, 3, dtype=torch.float64)
    y = torch.randint(0, 4, (8,))
    perm = torch.randperm(8)
    torch.testing.assert_close(loss(f, y), loss(f[perm], y[perm]))


def test_validation_errors() -> None:
    loss = CenterLoss(num_classes=2, feat_dim=3)
    with pytest.raises(ValueError, match="dim 3"):
        loss(torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="labels must lie"):
        loss(torch.zeros(2, 3), torch.tensor([0, 2]))
