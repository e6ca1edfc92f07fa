"""VideoMemoryContrastLoss (V2M): card §6 fixtures, refresh, momentum update, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from agreid_core.testing import check_loss
from agreid_losses.memory_contrast import VideoMemoryContrastLoss, memory_to_video_losses
from agreid_losses.plugin import LOSS_SPECS

V = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]], dtype=torch.float64)
Y = torch.tensor([0, 0, 1, 1])


def _loaded(memory: torch.Tensor, **kwargs: object) -> VideoMemoryContrastLoss:
    loss = VideoMemoryContrastLoss(memory.shape[0], memory.shape[1], **kwargs)  # type: ignore[arg-type]
    loss.refresh_from_features(memory, torch.arange(memory.shape[0]))
    return loss


def test_card_fixture_eq2_identity0() -> None:
    ids, per_id = memory_to_video_losses(
        V, Y, torch.tensor([[0.96, 0.28], [0.0, 1.0]]).double(), 1.0
    )
    assert ids.tolist() == [0, 1]
    assert per_id[0].item() == pytest.approx(1.024395, abs=1e-6)


def test_memory_mode_mean_over_batch_identities() -> None:
    m = torch.tensor([[0.96, 0.28], [0.0, 1.0]])
    loss = _loaded(m, mode="memory").eval()
    s1 = [0.0, 0.6, 1.0, 0.8]  # M_1 · v_j
    lse = math.log(sum(math.exp(s) for s in s1))
    l1 = ((lse - 1.0) + (lse - 0.8)) / 2
    assert loss(V, Y).item() == pytest.approx((1.024395 + l1) / 2, abs=1e-6)


def test_card_fixture_video_mode() -> None:
    loss = _loaded(torch.tensor([[0.96, 0.28], [0.0, 1.0]])).eval()
    # I2T CE of v = [.8, .6] against memories [.96, .28], [0, 1], y 0, τ 1.
    out = loss(torch.tensor([[0.8, 0.6]]), torch.tensor([0]))
    assert out.item() == pytest.approx(0.539193, abs=1e-6)
    hot = _loaded(torch.tensor([[0.96, 0.28], [0.0, 1.0]]), temperature=0.5).eval()
    expected = F.cross_entropy(torch.tensor([[0.936, 0.6]]) / 0.5, torch.tensor([0]))
    torch.testing.assert_close(hot(torch.tensor([[0.8, 0.6]]), torch.tensor([0])), expected)


def test_label_smoothing_video_mode() -> None:
    loss = _loaded(torch.tensor([[0.96, 0.28], [0.0, 1.0]]), epsilon=0.1).eval()
    log_p = F.log_softmax(torch.tensor([0.936, 0.6]), dim=0)
    expected = -(0.95 * log_p[0] + 0.05 * log_p[1])
    torch.testing.assert_close(loss(torch.tensor([[0.8, 0.6]]), torch.tensor([0])), expected)


def test_refresh_memory_is_normalised_identity_mean() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(9, 4, generator=g)
    y = torch.tensor([0, 1, 0, 2, 1, 0, 2, 2, 1])
    loss = VideoMemoryContrastLoss(4, 4)
    loss.refresh_from_features(f, y, torch.zeros(9, dtype=torch.long))
    fn = F.normalize(f, dim=1)
    for k in range(3):
        torch.testing.assert_close(loss.memory[k], F.normalize(fn[y == k].mean(0), dim=0))
    assert loss.present.tolist() == [True, True, True, False]


def test_momentum_update_formula() -> None:
    g = torch.Generator().manual_seed(1)
    loss = VideoMemoryContrastLoss(3, 4, momentum=0.7)
    loss.refresh_from_features(torch.randn(6, 4, generator=g), torch.tensor([0, 1, 2, 0, 1, 2]))
    old = loss.memory.clone()
    x = torch.randn(3, 4, generator=g, requires_grad=True)
    y = torch.tensor([0, 0, 2])
    out = loss(x, y)
    out.backward()  # the in-place update must not break backward
    v = F.normalize(x.detach(), dim=1)
    torch.testing.assert_close(
        loss.memory[0], F.normalize(0.7 * old[0] + 0.3 * v[:2].mean(0), dim=0)
    )
    torch.testing.assert_close(loss.memory[2], F.normalize(0.7 * old[2] + 0.3 * v[2], dim=0))
    torch.testing.assert_close(loss.memory[1], old[1])  # not in the batch
    assert not loss.memory.requires_grad
    # The loss used the memory as it was before the update.
    ref = VideoMemoryContrastLoss(3, 4).eval()
    ref.memory.copy_(old)
    ref.present.fill_(True)
    ref.refreshed.fill_(True)
    torch.testing.assert_close(out.detach(), ref(x.detach(), y))


def test_no_update_in_eval_or_with_momentum_one() -> None:
    loss = _loaded(torch.tensor([[0.96, 0.28], [0.0, 1.0]]))
    old = loss.memory.clone()
    loss.eval()(V.float(), Y)
    assert torch.equal(loss.memory, old)
    fixed = _loaded(torch.tensor([[0.96, 0.28], [0.0, 1.0]]), momentum=1.0)
    fixed(V.float(), Y)
    torch.testing.assert_close(fixed.memory, old)


@pytest.mark.parametrize("mode", ["video", "memory"])
def test_gradcheck(mode: str) -> None:
    g = torch.Generator().manual_seed(2)
    loss = _loaded(torch.randn(4, 3, generator=g), mode=mode, temperature=0.5).eval()
    x = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


@pytest.mark.parametrize("mode", ["video", "memory"])
def test_batch_permutation_invariant_loss_and_update(mode: str) -> None:
    g = torch.Generator().manual_seed(3)
    bank = torch.randn(4, 3, generator=g)
    a, b = _loaded(bank, mode=mode), _loaded(bank, mode=mode)
    x = torch.randn(8, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    perm = torch.randperm(8, generator=g)
    torch.testing.assert_close(a(x, y), b(x[perm], y[perm]))
    torch.testing.assert_close(a.memory, b.memory)


def test_errors_and_check_loss_convention() -> None:
    with pytest.raises(RuntimeError, match="refresh_from_features"):
        check_loss(
            LOSS_SPECS["video-memory-contrast"], torch.randn(8, 8), torch.arange(4).repeat(2)
        )
    with pytest.raises(ValueError, match="mode"):
        VideoMemoryContrastLoss(2, 2, mode="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="momentum"):
        VideoMemoryContrastLoss(2, 2, momentum=1.5)
    loss = _loaded(torch.eye(2))
    with pytest.raises(ValueError, match="labels must lie"):
        loss(torch.zeros(2, 2), torch.tensor([0, 2]))
    assert loss.feature_key == "features"
