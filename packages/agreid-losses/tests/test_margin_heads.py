"""CircleSoftmax, ArcFace, CosFace heads and MarginSoftmaxLoss: card §6 fixtures and gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from agreid_losses.margin_heads import (
    ArcFace,
    CircleSoftmax,
    CosFace,
    MarginSoftmaxLoss,
    arcface_logits,
    circle_logits,
    cosface_logits,
)

Y0 = torch.tensor([0])


def test_circle_softmax_card_fixture() -> None:
    cos = torch.tensor([[0.7, 0.2, -0.1]], dtype=torch.float64)
    logits = circle_logits(cos, Y0, scale=64, margin=0.35)
    torch.testing.assert_close(logits, torch.tensor([[2.08, -5.28, -7.20]], dtype=torch.float64))
    assert F.cross_entropy(logits, Y0).item() == pytest.approx(0.000729, abs=1e-5)
    assert F.cross_entropy(logits, Y0).item() == pytest.approx(7.29e-4, rel=1e-3)


ARC_COS = torch.tensor([[0.8, 0.3, -0.2]], dtype=torch.float64)


@pytest.mark.parametrize(("margin", "expected"), [(0.5, 0.031801), (0.3, 0.000182), (0.0, 3.06e-7)])
def test_arcface_card_fixture(margin: float, expected: float) -> None:
    logits = arcface_logits(ARC_COS, Y0, scale=30, margin=margin)
    ce = F.cross_entropy(logits, Y0).item()
    assert ce == pytest.approx(expected, abs=1e-5)
    assert ce == pytest.approx(expected, rel=1e-2)
    torch.testing.assert_close(logits[0, 1:], 30 * ARC_COS[0, 1:])


def test_arcface_target_logit() -> None:
    logits = arcface_logits(ARC_COS, Y0, scale=30, margin=0.5)
    assert logits[0, 0].item() / 30 == pytest.approx(0.41441, abs=1e-5)
    assert logits[0, 0].item() / 30 == pytest.approx(math.cos(math.acos(0.8) + 0.5), rel=1e-9)


def test_arcface_target_logit_continuous_and_monotone() -> None:
    m = 0.5
    c = torch.linspace(-1, 1, 2001, dtype=torch.float64).unsqueeze(1)
    target = arcface_logits(c, torch.zeros(2001, dtype=torch.long), scale=1.0, margin=m)[:, 0]
    assert bool((target.diff() > 0).all())
    assert bool((target <= c[:, 0] + 1e-12).all())
    # No jump where the fallback takes over (θ = π − m ⇔ c = −cos m); both sides → −1.
    edge = torch.tensor([[-math.cos(m) - 1e-9], [-math.cos(m) + 1e-9]], dtype=torch.float64)
    both = arcface_logits(edge, torch.zeros(2, dtype=torch.long), scale=1.0, margin=m)[:, 0]
    torch.testing.assert_close(
        both, torch.tensor([-1.0, -1.0], dtype=torch.float64), atol=1e-6, rtol=0
    )


def test_cosface_card_fixture() -> None:
    logits = cosface_logits(ARC_COS, Y0, scale=30, margin=0.35)
    torch.testing.assert_close(logits, torch.tensor([[13.5, 9.0, -6.0]], dtype=torch.float64))
    assert F.cross_entropy(logits, Y0).item() == pytest.approx(0.011048, abs=1e-5)


@pytest.mark.parametrize(
    ("cls", "fn", "scale", "margin"),
    [
        (CircleSoftmax, circle_logits, 64.0, 0.35),
        (ArcFace, arcface_logits, 30.0, 0.5),
        (CosFace, cosface_logits, 30.0, 0.35),
    ],
)
def test_head_forward(cls: type, fn: object, scale: float, margin: float) -> None:
    torch.manual_seed(0)
    head = cls(in_features=6, num_classes=4, scale=scale, margin=margin).double()
    f = torch.randn(5, 6, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0])
    cos = head.cosine(f)
    expected_cos = F.normalize(f, dim=1) @ F.normalize(head.weight, dim=1).t()
    torch.testing.assert_close(cos, expected_cos)
    torch.testing.assert_close(head(f), scale * cos)  # no targets: no margin
    torch.testing.assert_close(head(f, y), fn(cos, y, scale, margin))  # type: ignore[operator]


@pytest.mark.parametrize("cls", [ArcFace, CosFace])
def test_margin_softmax_loss_gradcheck(cls: type) -> None:
    torch.manual_seed(1)
    loss = MarginSoftmaxLoss(cls(in_features=5, num_classes=3, scale=4.0), epsilon=0.1).double()
    f = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    w = loss.head.weight
    y = torch.tensor([0, 2, 1, 2])
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (f,))
    assert torch.autograd.gradcheck(lambda v: _loss_with_weight(loss, f.detach(), v, y), (w,))
    loss(f, y).backward()
    assert w.grad is not None


def _loss_with_weight(
    loss: MarginSoftmaxLoss, f: torch.Tensor, w: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    cos = F.normalize(f, dim=1) @ F.normalize(w, dim=1).t()
    logits = loss.head.margin_logits(cos, y)
    return loss.criterion(logits, y)  # type: ignore[no-any-return]


def test_circle_softmax_gradient_has_alphas_detached() -> None:
    # α_p, α_n are constants in the backward pass: compare with a reference that freezes them at
    # the current point, gradcheck that reference, and match both gradients.
    torch.manual_seed(1)
    loss = MarginSoftmaxLoss(CircleSoftmax(5, 3, scale=4.0, margin=0.35), epsilon=0.1).double()
    f = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 2])
    w = loss.head.weight.detach()
    cos0 = F.normalize(f.detach(), dim=1) @ F.normalize(w, dim=1).t()
    onehot = F.one_hot(y, 3).bool()
    alpha = torch.where(onehot, (1.35 - cos0).clamp(min=0), (cos0 + 0.35).clamp(min=0))
    delta = torch.where(onehot, 0.65, 0.35)

    def ref(t: torch.Tensor) -> torch.Tensor:
        cos = F.normalize(t, dim=1) @ F.normalize(w, dim=1).t()
        return loss.criterion(4.0 * alpha * (cos - delta), y)  # type: ignore[no-any-return]

    assert torch.autograd.gradcheck(ref, (f,))
    torch.testing.assert_close(loss(f, y), ref(f))
    (grad,) = torch.autograd.grad(loss(f, y), f)
    (grad_ref,) = torch.autograd.grad(ref(f), f)
    torch.testing.assert_close(grad, grad_ref)


def test_margin_softmax_loss_is_ce_of_head() -> None:
    torch.manual_seed(2)
    head = ArcFace(4, 3, scale=30.0, margin=0.5)
    loss = MarginSoftmaxLoss(head)
    f = torch.randn(6, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    torch.testing.assert_close(loss(f, y), F.cross_entropy(head(f, y), y))
    perm = torch.randperm(6)
    torch.testing.assert_close(loss(f[perm], y[perm]), loss(f, y))


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="margin"):
        ArcFace(4, 3, margin=-0.1)
    with pytest.raises(ValueError, match="scale"):
        CosFace(4, 3, scale=0.0)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        CircleSoftmax(4, 3)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="labels must lie"):
        CircleSoftmax(4, 3)(torch.zeros(2, 4), torch.tensor([0, 3]))
