"""CrossEntropyLabelSmooth: card §6 fixtures, ε = 0 equals F.cross_entropy, gradients, invariances."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from agreid_losses.cross_entropy import CrossEntropyLabelSmooth, smoothed_targets

LOGITS = torch.tensor([[2.0, 0.5, -1.0]], dtype=torch.float64)
LABEL = torch.tensor([0])


@pytest.mark.parametrize(("variant", "expected"), [("bot", 0.391311), ("fastreid", 0.466311)])
def test_card_fixture(variant: str, expected: float) -> None:
    loss = CrossEntropyLabelSmooth(num_classes=3, epsilon=0.1, variant=variant)  # type: ignore[arg-type]
    assert loss(LOGITS, LABEL).item() == pytest.approx(expected, abs=1e-5)


def test_soft_targets_rows_sum_to_one() -> None:
    y = torch.tensor([0, 2, 1])
    for variant in ("bot", "fastreid"):
        q = smoothed_targets(y, 5, 0.1, variant)
        torch.testing.assert_close(q.sum(1), torch.ones(3))
    q = smoothed_targets(y, 5, 0.1, "fastreid")
    assert q[0, 0].item() == pytest.approx(0.9)
    assert q[0, 1].item() == pytest.approx(0.025)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    batch=st.integers(1, 6),
    classes=st.integers(2, 7),
    variant=st.sampled_from(["bot", "fastreid"]),
)
def test_epsilon_zero_is_cross_entropy(seed: int, batch: int, classes: int, variant: str) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, classes, generator=g, dtype=torch.float64) * 3
    y = torch.randint(0, classes, (batch,), generator=g)
    loss = CrossEntropyLabelSmooth(epsilon=0.0, variant=variant)  # type: ignore[arg-type]
    torch.testing.assert_close(loss(x, y), F.cross_entropy(x, y))


@pytest.mark.parametrize("variant", ["bot", "fastreid"])
def test_gradcheck(variant: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 4, 2, 2])
    loss = CrossEntropyLabelSmooth(epsilon=0.1, variant=variant)  # type: ignore[arg-type]
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


@pytest.mark.parametrize("variant", ["bot", "fastreid"])
def test_batch_permutation_invariant(variant: str) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (6,), generator=g)
    perm = torch.randperm(6, generator=g)
    loss = CrossEntropyLabelSmooth(epsilon=0.1, variant=variant)  # type: ignore[arg-type]
    torch.testing.assert_close(loss(x, y), loss(x[perm], y[perm]))


def test_fastreid_divides_by_non_zero_rows() -> None:
    # Row 0 is saturated: with ε = 0 its loss is exactly 0, so only row 1 counts.
    x = torch.tensor([[0.0, -1e4], [0.3, -0.2]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    fr = CrossEntropyLabelSmooth(epsilon=0.0, variant="fastreid")(x, y)
    bot = CrossEntropyLabelSmooth(epsilon=0.0, variant="bot")(x, y)
    row1 = F.cross_entropy(x[1:], y[1:])
    torch.testing.assert_close(fr, row1)
    torch.testing.assert_close(bot, row1 / 2)


def test_all_rows_zero_gives_zero_not_nan() -> None:
    x = torch.tensor([[0.0, -1e4]], dtype=torch.float64, requires_grad=True)
    out = CrossEntropyLabelSmooth(epsilon=0.0, variant="fastreid")(x, torch.tensor([0]))
    out.backward()
    assert out.item() == 0.0
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        CrossEntropyLabelSmooth(epsilon=1.5)
    with pytest.raises(ValueError, match="variant"):
        CrossEntropyLabelSmooth(variant="other")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected 4 logits"):
        CrossEntropyLabelSmooth(num_classes=4)(LOGITS, LABEL)
    with pytest.raises(ValueError, match="labels must lie"):
        CrossEntropyLabelSmooth()(LOGITS, torch.tensor([3]))
    with pytest.raises(ValueError, match="integer"):
        CrossEntropyLabelSmooth()(LOGITS, torch.tensor([0.0]))
