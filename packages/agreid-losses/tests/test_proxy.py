"""BENTO proxy losses L_cen / L_cp: card §6 fixtures, refresh, platforms, gradients, buffers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from agreid_core.testing import check_loss
from agreid_losses.plugin import LOSS_SPECS
from agreid_losses.proxy import BentoProxyLoss, bento_camera_proxy, bento_class_proxy


def _sp(x: float) -> float:
    return math.log1p(math.exp(x))


def test_refresh_proxies_are_normalised_class_means() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(10, 5, generator=g)
    y = torch.tensor([0, 0, 1, 1, 1, 0, 2, 2, 0, 1])
    c = torch.tensor([0, 1, 0, 0, 1, 1, 0, 0, 0, 1])
    loss = BentoProxyLoss(num_classes=4, feat_dim=5, num_cameras=2)
    loss.refresh_from_features(f, y, c)
    fn = F.normalize(f, dim=1)
    for k in range(3):
        torch.testing.assert_close(loss.class_proxies[k], F.normalize(fn[y == k].mean(0), dim=0))
        for e in range(2):
            m = (y == k) & (c == e)
            assert bool(loss.camera_present[k, e]) == bool(m.any())
            if m.any():
                expected = F.normalize(fn[m].mean(0), dim=0)
                torch.testing.assert_close(loss.camera_proxies[k, e], expected)
    assert loss.class_present.tolist() == [True, True, True, False]
    assert not loss.class_proxies.requires_grad


def test_card_fixture_class_proxy() -> None:
    loss = bento_class_proxy(num_classes=3, feat_dim=2)
    proxies = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    loss.refresh_from_features(proxies, torch.tensor([0, 1, 2]), torch.zeros(3, dtype=torch.long))
    assert loss(torch.tensor([[0.6, 0.8]]), torch.tensor([2])).item() == pytest.approx(
        0.018479, abs=1e-6
    )
    # Features are L2-normalised first: scaling them changes nothing.
    assert loss(torch.tensor([[3.0, 4.0]]), torch.tensor([2])).item() == pytest.approx(
        0.018479, abs=1e-6
    )


def test_card_fixture_camera_proxy() -> None:
    loss = bento_camera_proxy(num_classes=3, feat_dim=2, num_cameras=2, weight=1.0)
    f = torch.tensor([[0.8, 0.6], [0.0, 1.0], [1.0, 0.0]])
    loss.refresh_from_features(f, torch.tensor([0, 1, 2]), torch.tensor([1, 0, 0]))
    out = loss(torch.tensor([[0.6, 0.8]]), torch.tensor([0]), camids=torch.tensor([0]))
    assert out.item() == pytest.approx(0.039953, abs=1e-6)
    assert out.item() == pytest.approx(_sp((0.8 - 0.96) / 0.05), abs=1e-6)
    half = bento_camera_proxy(num_classes=3, feat_dim=2, num_cameras=2)  # λ_cp = 0.5
    half.refresh_from_features(f, torch.tensor([0, 1, 2]), torch.tensor([1, 0, 0]))
    assert half(torch.tensor([[0.6, 0.8]]), torch.tensor([0]), torch.tensor([0])).item() == (
        pytest.approx(0.5 * 0.039953, abs=1e-6)
    )


BANK_F = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0], [0.6, 0.8]])
BANK_Y = torch.tensor([0, 0, 0, 1, 1])
BANK_C = torch.tensor([0, 1, 2, 0, 1])
BATCH_F = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
BATCH_Y = torch.tensor([0, 0])
BATCH_C = torch.tensor([0, 1])


def test_camera_platforms_by_hand() -> None:
    # Camera 0 aerial, cameras 1 and 2 ground. Sample 0 (aerial): positives c[0,1] (s .8) and
    # c[0,2] (s .6), averaged; hardest camera-0 negative c[1,0] (s 0). Sample 1 (ground, cam 1):
    # positive c[0,0] only (s 0), negative c[1,1] (s .8).
    loss = bento_camera_proxy(3, 2, num_cameras=3, weight=1.0, camera_platforms=[0, 1, 1])
    loss.refresh_from_features(BANK_F, BANK_Y, BANK_C)
    s0 = (_sp(-0.8 / 0.05) + _sp(-0.6 / 0.05)) / 2
    s1 = _sp(0.8 / 0.05)
    assert loss(BATCH_F, BATCH_Y, BATCH_C).item() == pytest.approx((s0 + s1) / 2, rel=1e-5)
    # Default: every camera is its own platform, so sample 1 also uses c[0,2] (s .8).
    each = bento_camera_proxy(3, 2, num_cameras=3, weight=1.0)
    each.refresh_from_features(BANK_F, BANK_Y, BANK_C)
    s1_each = (_sp(0.8 / 0.05) + _sp(0.0)) / 2
    assert each(BATCH_F, BATCH_Y, BATCH_C).item() == pytest.approx((s0 + s1_each) / 2, rel=1e-5)


def test_combined_is_weighted_sum() -> None:
    both = BentoProxyLoss(3, 2, num_cameras=3, lambda_cen=1.0, lambda_cp=0.5)
    cen = bento_class_proxy(3, 2)
    cp = bento_camera_proxy(3, 2, num_cameras=3, weight=0.5)
    for m in (both, cen, cp):
        m.refresh_from_features(BANK_F, BANK_Y, BANK_C)
    expected = cen(BATCH_F, BATCH_Y) + cp(BATCH_F, BATCH_Y, BATCH_C)
    torch.testing.assert_close(both(BATCH_F, BATCH_Y, BATCH_C), expected)


def test_samples_without_positive_or_negative_are_skipped() -> None:
    loss = bento_camera_proxy(2, 2, num_cameras=2, weight=1.0)
    # Identity 0 is only seen by camera 0: no cross-camera positive → zero loss, with grad.
    loss.refresh_from_features(
        torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]), torch.tensor([0, 0])
    )
    x = torch.tensor([[1.0, 1.0]], requires_grad=True)
    out = loss(x, torch.tensor([0]), torch.tensor([0]))
    out.backward()
    assert out.item() == 0.0 and x.grad is not None and torch.equal(x.grad, torch.zeros_like(x))


def _random_bank(seed: int) -> tuple[BentoProxyLoss, torch.Generator]:
    g = torch.Generator().manual_seed(seed)
    loss = BentoProxyLoss(4, 3, num_cameras=2, lambda_cen=1.0, lambda_cp=0.5, temperature=0.5)
    f = torch.randn(24, 3, generator=g)
    y = torch.arange(4).repeat(6)
    c = torch.arange(2).repeat_interleave(12)
    loss.refresh_from_features(f, y, c)
    return loss, g


def test_gradcheck() -> None:
    loss, g = _random_bank(0)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    c = torch.tensor([0, 1, 0, 1, 1, 0])
    assert torch.autograd.gradcheck(lambda t: loss(t, y, c), (x,))


def test_batch_permutation_invariant_and_proxies_fixed() -> None:
    loss, g = _random_bank(1)
    x = torch.randn(8, 3, generator=g)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    c = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    before = loss.class_proxies.clone(), loss.camera_proxies.clone()
    perm = torch.randperm(8, generator=g)
    torch.testing.assert_close(loss(x, y, c), loss(x[perm], y[perm], c[perm]))
    assert torch.equal(loss.class_proxies, before[0])
    assert torch.equal(loss.camera_proxies, before[1])


def test_state_dict_round_trip() -> None:
    loss, _ = _random_bank(2)
    fresh = BentoProxyLoss(4, 3, num_cameras=2, temperature=0.5)
    fresh.load_state_dict(loss.state_dict())
    x, y, c = torch.randn(4, 3), torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 0, 1])
    torch.testing.assert_close(fresh(x, y, c), loss(x, y, c))


def test_errors_and_check_loss_convention() -> None:
    loss = BentoProxyLoss(2, 2, num_cameras=2)
    with pytest.raises(RuntimeError, match="refresh_from_features"):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]), torch.tensor([0, 1]))
    # check_loss builds a fresh tiny instance and calls loss(x, y): no refresh → clear error.
    with pytest.raises(RuntimeError, match="refresh_from_features"):
        check_loss(LOSS_SPECS["bento-class-proxy"], torch.randn(8, 8), torch.arange(4).repeat(2))
    loss.refresh_from_features(torch.eye(2), torch.tensor([0, 1]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="camids"):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"camids must lie"):
        loss(torch.zeros(2, 2), torch.tensor([0, 1]), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="camera_platforms"):
        BentoProxyLoss(2, 2, num_cameras=3, camera_platforms=[0, 1])
    # The class-proxy term alone works with check_loss's (inputs, targets) call once refreshed.
    cen = bento_class_proxy(2, 2)
    cen.refresh_from_features(torch.eye(2), torch.tensor([0, 1]), torch.tensor([5, 7]))
    assert cen(torch.tensor([[1.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1])).item() > 0
    assert cen.feature_key == "features"
