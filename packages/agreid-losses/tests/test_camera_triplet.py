"""CameraSoftmaxTripletLoss (BENTO L_ch): hand-computed mining and values, gradients, edge cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from agreid_core.testing import check_loss
from agreid_losses.camera_triplet import CameraSoftmaxTripletLoss, camera_hardest_similarities
from agreid_losses.plugin import LOSS_SPECS


def _unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def _sp(x: float) -> float:
    return math.log1p(math.exp(x))


# Angles 0°, 60°, 90°, 30°; ids [0, 0, 1, 1]; cameras [0, 1, 0, 1].
X = torch.tensor([_unit(0), _unit(60), _unit(90), _unit(30)], dtype=torch.float64)
Y = torch.tensor([0, 0, 1, 1])
C = torch.tensor([0, 1, 0, 1])
COS30 = math.cos(math.radians(30))


def test_mining_by_hand() -> None:
    s_ap, s_an, valid = camera_hardest_similarities(X @ X.t(), Y, C)
    # Every positive is cos 60° = .5; negatives from the anchor's own camera: 0→2 (cos 90°),
    # 1→3 (cos 30°), 2→0, 3→1.
    torch.testing.assert_close(s_ap, torch.full((4,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(s_an, torch.tensor([0.0, COS30, 0.0, COS30], dtype=torch.float64))
    assert bool(valid.all())


def test_value_by_hand() -> None:
    expected = (2 * _sp((0.0 - 0.5) / 0.05) + 2 * _sp((COS30 - 0.5) / 0.05)) / 4
    assert CameraSoftmaxTripletLoss()(X, Y, C).item() == pytest.approx(expected, rel=1e-9)
    # Same value on rescaled features (cosine similarity).
    assert CameraSoftmaxTripletLoss()(3 * X, Y, C).item() == pytest.approx(expected, rel=1e-9)


def test_same_camera_negative_preferred_and_fallback() -> None:
    # Anchor 0 (cam 0): the other-camera negative (10°) is more similar than the same-camera one
    # (90°), but the same-camera one is used. Anchor 3's camera 1 holds no other identity, so
    # its hardest negative is taken over every camera.
    x = torch.tensor([_unit(0), _unit(45), _unit(90), _unit(10)], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    c = torch.tensor([0, 1, 0, 2])
    s_ap, s_an, valid = camera_hardest_similarities(x @ x.t(), y, c)
    assert s_an[0].item() == pytest.approx(0.0, abs=1e-12)  # cos 90°, not cos 10°
    assert s_an[3].item() == pytest.approx(math.cos(math.radians(10)))  # fallback: anchor 0
    assert s_ap[0].item() == pytest.approx(math.cos(math.radians(45)))
    assert bool(valid.all())


def test_anchor_without_cross_camera_positive_excluded() -> None:
    # Identity 2 only appears under camera 0: anchors 4 and 5 are excluded (negatives still).
    x = torch.cat([X, torch.tensor([_unit(200), _unit(210)], dtype=torch.float64)])
    y = torch.cat([Y, torch.tensor([2, 2])])
    c = torch.cat([C, torch.tensor([0, 0])])
    _, _, valid = camera_hardest_similarities(x @ x.t(), y, c)
    assert valid.tolist() == [True] * 4 + [False, False]


def test_single_camera_batch_is_zero_with_grad() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    out = CameraSoftmaxTripletLoss()(x, Y, torch.zeros(4, dtype=torch.long))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and torch.equal(x.grad, torch.zeros_like(x))


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    c = torch.tensor([0, 1, 0, 1, 1, 0, 0, 1])
    loss = CameraSoftmaxTripletLoss(temperature=0.5)
    assert torch.autograd.gradcheck(lambda t: loss(t, y, c), (x,))


def test_batch_permutation_invariant() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(12, 4, generator=g, dtype=torch.float64)
    y = torch.arange(4).repeat(3)
    c = torch.randint(0, 3, (12,), generator=g)
    perm = torch.randperm(12, generator=g)
    loss = CameraSoftmaxTripletLoss()
    torch.testing.assert_close(loss(x, y, c), loss(x[perm], y[perm], c[perm]))


def test_matches_explicit_loop() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(10, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 3, 3])
    c = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 0, 0])
    f = F.normalize(x, dim=1)
    terms = []
    for a in range(10):
        pos = [float(f[a] @ f[p]) for p in range(10) if y[p] == y[a] and c[p] != c[a]]
        neg_cam = [float(f[a] @ f[n]) for n in range(10) if y[n] != y[a] and c[n] == c[a]]
        neg_all = [float(f[a] @ f[n]) for n in range(10) if y[n] != y[a]]
        neg = neg_cam or neg_all
        if pos and neg:
            terms.append(_sp((max(neg) - min(pos)) / 0.05))
    expected = sum(terms) / len(terms)
    assert CameraSoftmaxTripletLoss()(x, y, c).item() == pytest.approx(expected, rel=1e-9)


def test_errors_and_check_loss_convention() -> None:
    # check_loss calls loss(x, y) without cameras: the loss refuses clearly.
    with pytest.raises(ValueError, match="camids are required"):
        check_loss(LOSS_SPECS["camera-softmax-triplet"], torch.randn(4, 3), Y)
    with pytest.raises(ValueError, match="temperature"):
        CameraSoftmaxTripletLoss(temperature=0.0)
    with pytest.raises(ValueError, match="camids"):
        CameraSoftmaxTripletLoss()(X, Y, torch.tensor([0, 1]))
