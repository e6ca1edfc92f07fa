"""CentroidTripletLoss: card §6 fixture, P×K validation, gradients, order handling."""

from __future__ import annotations

import pytest
import torch

from agreid_losses.centroid_triplet import CentroidTripletLoss, group_pk

ID0 = [[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]
ID1 = [[1.5, 0.5], [3.0, 1.0], [4.0, 0.0]]
X = torch.tensor(ID0 + ID1, dtype=torch.float64)
Y = torch.tensor([0, 0, 0, 1, 1, 1])


def test_card_fixture_per_k_and_mean() -> None:
    loss = CentroidTripletLoss(margin=0.3)
    per_k = loss.per_k(X, Y)
    torch.testing.assert_close(
        per_k, torch.tensor([0.679508, 0.467746, 0.250670], dtype=torch.float64), atol=1e-5, rtol=0
    )
    assert loss(X, Y).item() == pytest.approx(0.465975, abs=1e-5)


def test_interleaved_batch_gives_same_result() -> None:
    order = torch.tensor([0, 3, 1, 4, 2, 5])  # id0, id1, id0, id1, … keeps each id's k order
    loss = CentroidTripletLoss(margin=0.3)
    torch.testing.assert_close(loss(X[order], Y[order]), loss(X, Y))


def test_identity_order_does_not_matter() -> None:
    # Swapping which identity comes first (same within-identity order) leaves the loss unchanged.
    order = torch.tensor([3, 4, 5, 0, 1, 2])
    loss = CentroidTripletLoss(margin=0.3)
    torch.testing.assert_close(loss(X[order], Y[order]), loss(X, Y))


def test_group_pk() -> None:
    index, labels = group_pk(torch.tensor([5, 2, 5, 2]))
    assert labels.tolist() == [2, 5]
    assert index.tolist() == [[1, 3], [0, 2]]


@pytest.mark.parametrize("y", [[0, 0, 0, 1, 1, 2], [0, 1, 2, 3], [0, 0, 1]])
def test_not_pk_raises(y: list[int]) -> None:
    with pytest.raises(ValueError, match="P×K"):
        CentroidTripletLoss()(torch.randn(len(y), 2), torch.tensor(y))


@pytest.mark.parametrize("margin", [0.3, None])
def test_gradcheck(margin: float | None) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    loss = CentroidTripletLoss(margin=margin)
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


def test_single_identity_is_zero_with_grad() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    out = CentroidTripletLoss()(x, torch.zeros(4, dtype=torch.long))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and torch.isfinite(x.grad).all()
