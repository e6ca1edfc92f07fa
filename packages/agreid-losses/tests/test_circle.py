"""PairwiseCircleLoss: card §6 fixture, gradients, invariances, degenerate batches."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from agreid_losses.circle import PairwiseCircleLoss, circle_loss, pair_similarities

F_CARD = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]], dtype=torch.float64)
Y_CARD = torch.tensor([0, 0, 1])


def test_card_pair_similarities() -> None:
    s_p, s_n = pair_similarities(F_CARD, Y_CARD)
    torch.testing.assert_close(s_p, torch.tensor([0.8], dtype=torch.float64))
    torch.testing.assert_close(s_n, torch.tensor([0.6, 0.96], dtype=torch.float64))


@pytest.mark.parametrize(("by_batch", "expected"), [(False, 26.771200), (True, 8.923733)])
def test_card_fixture(by_batch: bool, expected: float) -> None:
    loss = PairwiseCircleLoss(gamma=32, margin=0.25, normalize_by_batch=by_batch)
    assert loss(F_CARD, Y_CARD).item() == pytest.approx(expected, abs=1e-5)


def test_scale_invariant_features_are_normalised() -> None:
    loss = PairwiseCircleLoss()
    torch.testing.assert_close(loss(F_CARD * 3.7, Y_CARD), loss(F_CARD, Y_CARD))


def _frozen_alpha_reference(x0: torch.Tensor, y: torch.Tensor, gamma: float, m: float):  # type: ignore[no-untyped-def]
    """The circle loss as a function of x with α_p, α_n frozen at their values at x0."""
    s_p0, s_n0 = pair_similarities(x0, y)
    a_p = (1 + m - s_p0).clamp(min=0)
    a_n = (s_n0 + m).clamp(min=0)

    def fn(x: torch.Tensor) -> torch.Tensor:
        s_p, s_n = pair_similarities(x, y)
        z = torch.logsumexp(gamma * a_n * (s_n - m), 0) + torch.logsumexp(
            -gamma * a_p * (s_p - 1 + m), 0
        )
        return F.softplus(z) / x.shape[0]

    return fn


def test_gradcheck() -> None:
    # α is detached, so the gradient is that of the loss with α frozen at the current point;
    # check that one by gradcheck and compare it with the module's autograd gradient.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    ref = _frozen_alpha_reference(x.detach(), y, gamma=4.0, m=0.25)
    assert torch.autograd.gradcheck(ref, (x,))
    (grad,) = torch.autograd.grad(PairwiseCircleLoss(gamma=4.0)(x, y), x)
    (grad_ref,) = torch.autograd.grad(ref(x), x)
    torch.testing.assert_close(grad, grad_ref)
    torch.testing.assert_close(PairwiseCircleLoss(gamma=4.0)(x, y), ref(x))


def test_alphas_are_detached() -> None:
    # d/ds_p of −γ α_p (s_p − Δ_p) with α_p constant is −γ α_p; with α_p a function it would differ.
    s_p = torch.tensor([0.8], dtype=torch.float64, requires_grad=True)
    s_n = torch.tensor([0.6], dtype=torch.float64)
    torch.autograd.backward(circle_loss(s_p, s_n, gamma=1.0, margin=0.25))
    z = (0.85 * 0.35) + (-0.45 * 0.05)
    expected = torch.sigmoid(torch.tensor(z, dtype=torch.float64)).item() * (-0.45)
    assert s_p.grad is not None and s_p.grad.item() == pytest.approx(expected, rel=1e-9)


def test_batch_permutation_invariant() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    perm = torch.randperm(8, generator=g)
    loss = PairwiseCircleLoss()
    torch.testing.assert_close(loss(x, y), loss(x[perm], y[perm]))


@pytest.mark.parametrize("y", [[0, 0, 0], [0, 1, 2]])
def test_no_positive_or_no_negative_pair_is_zero(y: list[int]) -> None:
    x = torch.randn(3, 4, requires_grad=True)
    out = PairwiseCircleLoss()(x, torch.tensor(y))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and torch.isfinite(x.grad).all()


def test_matches_unnormalised_definition() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1, 1])
    f = F.normalize(x, dim=1)
    terms_p, terms_n = [], []
    for i in range(5):
        for j in range(i + 1, 5):
            s = float(f[i] @ f[j])
            if y[i] == y[j]:
                terms_p.append(-32 * max(1.25 - s, 0) * (s - 0.75))
            else:
                terms_n.append(32 * max(s + 0.25, 0) * (s - 0.25))
    t_n = torch.tensor(terms_n, dtype=torch.float64)
    t_p = torch.tensor(terms_p, dtype=torch.float64)
    lse = torch.logsumexp(t_n, 0) + torch.logsumexp(t_p, 0)
    expected = F.softplus(lse).item() / 5
    assert PairwiseCircleLoss()(x, y).item() == pytest.approx(expected, rel=1e-9)
