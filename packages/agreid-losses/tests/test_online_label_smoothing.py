"""OnlineLabelSmoothing: card §6 fixture, S update on on_epoch_end, gradients, buffers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from agreid_core.testing import check_loss
from agreid_losses.online_label_smoothing import OnlineLabelSmoothing, initial_soft_labels
from agreid_losses.plugin import LOSS_SPECS

LOGITS = torch.tensor([[2.0, 0.5, -1.0]], dtype=torch.float64)
Y0 = torch.tensor([0])


def test_card_fixture_first_epoch() -> None:
    # S[:, 0] = [0.9, 0.05, 0.05]; α = 0.5 → 0.5·0.241311 + 0.5·0.466311.
    loss = OnlineLabelSmoothing(num_classes=3, alpha=0.5, epsilon=0.1)
    assert loss(LOGITS, Y0).item() == pytest.approx(0.353811, abs=1e-6)


def test_uniform_init_by_hand() -> None:
    loss = OnlineLabelSmoothing(num_classes=3, init="uniform")
    log_p = [2.0 - 2.241311, 0.5 - 2.241311, -1.0 - 2.241311]
    expected = 0.5 * -log_p[0] + 0.5 * -sum(log_p) / 3
    assert loss(LOGITS, Y0).item() == pytest.approx(expected, abs=1e-5)


def test_initial_matrix_columns() -> None:
    s = initial_soft_labels(4, 0.1, "smoothed")
    torch.testing.assert_close(s.diagonal(), torch.full((4,), 0.9))
    assert s[1, 0].item() == pytest.approx(0.1 / 3)
    torch.testing.assert_close(s.sum(dim=0), torch.ones(4))


def test_alpha_one_is_plain_cross_entropy() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 4, generator=g), torch.tensor([0, 1, 2, 3, 0, 1])
    loss = OnlineLabelSmoothing(num_classes=4, alpha=1.0)
    torch.testing.assert_close(loss(x, y), F.cross_entropy(x, y))


def test_epoch_end_sets_mean_softmax_of_correct_samples() -> None:
    loss = OnlineLabelSmoothing(num_classes=3)
    x = torch.tensor([[3.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [5.0, 0.0, 0.0]])
    y = torch.tensor([0, 0, 1, 1])  # the last sample of class 1 is misclassified (ignored)
    initial = loss.soft_labels.clone()
    loss(x, y)
    assert loss.counts.tolist() == [2.0, 1.0, 0.0]
    loss.on_epoch_end(0)
    p = x.softmax(dim=1)
    torch.testing.assert_close(loss.soft_labels[:, 0], (p[0] + p[1]) / 2)
    torch.testing.assert_close(loss.soft_labels[:, 1], p[2])
    torch.testing.assert_close(loss.soft_labels[:, 2], initial[:, 2])  # no correct sample: kept
    torch.testing.assert_close(loss.soft_labels.sum(dim=0), torch.ones(3))
    assert float(loss.accumulated.abs().sum()) == 0.0 and float(loss.counts.sum()) == 0.0
    # The next forward uses the new column: soft term = −Σ_j S[j, 0] log p_j.
    log_p = F.log_softmax(LOGITS.float(), dim=1)[0]
    expected = 0.5 * -log_p[0] + 0.5 * -(loss.soft_labels[:, 0] * log_p).sum()
    loss.eval()
    torch.testing.assert_close(loss(LOGITS.float(), Y0), expected)


def test_eval_mode_does_not_accumulate() -> None:
    loss = OnlineLabelSmoothing(num_classes=3).eval()
    loss(LOGITS, Y0)
    assert float(loss.counts.sum()) == 0.0


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 1, 1, 2])
    loss = OnlineLabelSmoothing(num_classes=4, init="uniform").eval()
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


def test_batch_permutation_invariant_loss_and_update() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(12, 4, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, 4, (12,), generator=g)
    perm = torch.randperm(12, generator=g)
    a, b = OnlineLabelSmoothing(num_classes=4), OnlineLabelSmoothing(num_classes=4)
    torch.testing.assert_close(a(x, y), b(x[perm], y[perm]))
    a.on_epoch_end(0)
    b.on_epoch_end(0)
    torch.testing.assert_close(a.soft_labels, b.soft_labels)


def test_state_dict_round_trip() -> None:
    a = OnlineLabelSmoothing(num_classes=3)
    a(torch.tensor([[4.0, 0.0, 0.0]]), Y0)
    a.on_epoch_end(0)
    b = OnlineLabelSmoothing(num_classes=3)
    b.load_state_dict(a.state_dict())
    assert {"soft_labels", "accumulated", "counts"} <= set(a.state_dict())
    torch.testing.assert_close(b.soft_labels, a.soft_labels)
    assert not math.isclose(float(b.soft_labels[0, 0]), 0.9)


def test_check_loss_on_tiny() -> None:
    spec = LOSS_SPECS["online-label-smoothing"]
    value = check_loss(spec, torch.randn(8, 4), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]))
    assert value.item() > 0


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="alpha"):
        OnlineLabelSmoothing(3, alpha=1.5)
    with pytest.raises(ValueError, match="init"):
        OnlineLabelSmoothing(3, init="onehot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected 3 logits"):
        OnlineLabelSmoothing(3)(torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="labels must lie"):
        OnlineLabelSmoothing(3)(torch.zeros(2, 3), torch.tensor([0, 3]))
