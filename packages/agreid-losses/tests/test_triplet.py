"""TripletLoss (batch hard, margin / soft margin): card §6 fixtures, gradients, edge cases."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agreid_losses.triplet import TripletLoss, euclidean_distances, hardest_pairs

X = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [2.0, 0.0]], dtype=torch.float64)
Y = torch.tensor([0, 0, 1, 1])


def test_card_hardest_distances() -> None:
    d_ap, d_an, valid = hardest_pairs(euclidean_distances(X, X), Y)
    r = 0.5**0.5
    torch.testing.assert_close(d_ap, torch.tensor([1.0, 1.0, 2.5**0.5, 2.5**0.5]).double())
    torch.testing.assert_close(d_an, torch.tensor([r, r, r, 1.0]).double())
    assert bool(valid.all())


@pytest.mark.parametrize(
    ("margin", "expected"), [(0.3, 0.810239), (None, 0.987168), (0.0, 0.987168)]
)
def test_card_fixture(margin: float | None, expected: float) -> None:
    assert TripletLoss(margin=margin)(X, Y).item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("margin", [0.3, None])
@pytest.mark.parametrize("normalize", [False, True])
def test_gradcheck(margin: float | None, normalize: bool) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = TripletLoss(margin=margin, normalize_features=normalize)
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), margin=st.sampled_from([0.3, None]))
def test_batch_permutation_invariant(seed: int, margin: float | None) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    perm = torch.randperm(8, generator=g)
    loss = TripletLoss(margin=margin)
    torch.testing.assert_close(loss(x, y), loss(x[perm], y[perm]))


@pytest.mark.parametrize("margin", [0.3, None])
def test_single_identity_batch_is_zero_with_grad(margin: float | None) -> None:
    x = torch.randn(4, 3, requires_grad=True)
    out = TripletLoss(margin=margin)(x, torch.zeros(4, dtype=torch.long))
    out.backward()
    assert out.item() == 0.0
    assert x.grad is not None and torch.equal(x.grad, torch.zeros_like(x))


def test_anchors_without_positive_are_excluded() -> None:
    # Add a singleton identity 2: it is no anchor, but stays a candidate negative.
    x = torch.cat([X, torch.tensor([[10.0, 10.0]], dtype=torch.float64)])
    y = torch.cat([Y, torch.tensor([2])])
    assert TripletLoss(margin=0.3)(x, y).item() == pytest.approx(0.810239, abs=1e-5)
    x_near = torch.cat([X, torch.tensor([[0.0, 0.1]], dtype=torch.float64)])
    # The singleton is now the hardest negative of anchor 0 (distance 0.1 instead of 0.7071).
    _, d_an, valid = hardest_pairs(euclidean_distances(x_near, x_near), y)
    assert valid.tolist() == [True, True, True, True, False]
    assert d_an[0].item() == pytest.approx(0.1)


def test_identical_features_no_nan() -> None:
    x = torch.ones(4, 3, requires_grad=True)
    out = TripletLoss(margin=0.3)(x, Y)
    out.backward()
    assert torch.isfinite(out) and x.grad is not None and torch.isfinite(x.grad).all()


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="margin"):
        TripletLoss(margin=-1.0)
    with pytest.raises(ValueError, match="mining"):
        TripletLoss(mining="batch_all")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targets"):
        TripletLoss()(X, torch.tensor([0, 1]))
