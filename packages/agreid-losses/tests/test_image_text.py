"""ImageTextLoss (CLIP-ReID stage 2 / TF-CLIP I2T): card §6 fixture, LS, τ, gradients, buffer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from agreid_core.testing import check_loss
from agreid_losses.cross_entropy import CrossEntropyLabelSmooth
from agreid_losses.image_text import ImageTextLoss
from agreid_losses.plugin import LOSS_SPECS

TEXT = torch.tensor([[0.96, 0.28], [0.0, 1.0]])


def _loss(**kwargs: object) -> ImageTextLoss:
    loss = ImageTextLoss(2, 2, **kwargs)  # type: ignore[arg-type]
    loss.set_text_features(TEXT)
    return loss


def test_card_fixture() -> None:
    out = _loss()(torch.tensor([[0.8, 0.6]]), torch.tensor([0]))
    assert out.item() == pytest.approx(0.539193, abs=1e-6)


def test_temperature_label_smoothing_and_normalisation() -> None:
    g = torch.Generator().manual_seed(0)
    text = torch.randn(4, 3, generator=g)
    v = torch.randn(6, 3, generator=g)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    loss = ImageTextLoss(4, 3, temperature=0.07, epsilon=0.1)
    loss.set_text_features(text)
    expected = CrossEntropyLabelSmooth(4, epsilon=0.1)(v @ text.t() / 0.07, y)
    torch.testing.assert_close(loss(v, y), expected)
    cos = ImageTextLoss(4, 3, temperature=0.5, normalize=True)
    cos.set_text_features(text)
    logits = F.normalize(v, dim=1) @ F.normalize(text, dim=1).t() / 0.5
    torch.testing.assert_close(cos(v, y), F.cross_entropy(logits, y))


def test_text_features_are_a_detached_buffer() -> None:
    t = TEXT.clone().requires_grad_()
    loss = ImageTextLoss(2, 2)
    loss.set_text_features(t)
    assert "text_features" in dict(loss.named_buffers())
    assert not loss.text_features.requires_grad and list(loss.parameters()) == []
    fresh = ImageTextLoss(2, 2)
    fresh.load_state_dict(loss.state_dict())
    v, y = torch.tensor([[0.8, 0.6]]), torch.tensor([0])
    torch.testing.assert_close(fresh(v, y), loss(v, y))


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(1)
    loss = ImageTextLoss(3, 4, epsilon=0.1, normalize=True, temperature=0.5)
    loss.set_text_features(torch.randn(3, 4, generator=g))
    x = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 2, 0])
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (x,))


def test_batch_permutation_invariant() -> None:
    g = torch.Generator().manual_seed(2)
    loss = ImageTextLoss(4, 3, epsilon=0.1)
    loss.set_text_features(torch.randn(4, 3, generator=g))
    x = torch.randn(8, 3, generator=g, dtype=torch.float64)
    y = torch.arange(4).repeat(2)
    perm = torch.randperm(8, generator=g)
    torch.testing.assert_close(loss(x, y), loss(x[perm], y[perm]))


def test_errors_and_check_loss_convention() -> None:
    with pytest.raises(RuntimeError, match="set_text_features"):
        check_loss(LOSS_SPECS["image-text"], torch.randn(8, 8), torch.arange(4).repeat(2))
    with pytest.raises(ValueError, match="shape"):
        ImageTextLoss(2, 2).set_text_features(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="labels must lie"):
        _loss()(torch.zeros(2, 2), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="temperature"):
        ImageTextLoss(2, 2, temperature=0.0)
