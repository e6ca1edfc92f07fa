"""Attribute head: the AG-ReID codebook, logits layout, predictions, gradients."""

from __future__ import annotations

import pytest
import torch

from agreid_models.heads.attributes import (
    AGREID_ATTRIBUTE_CLASSES,
    AGREID_ATTRIBUTES,
    AttributeHead,
    predict_attribute_labels,
    split_attribute_logits,
)


def test_agreid_codebook_has_15_attributes_and_93_classes() -> None:
    assert len(AGREID_ATTRIBUTES) == 15
    counts = [k for _, k in AGREID_ATTRIBUTE_CLASSES]
    assert counts == [3, 9, 5, 4, 5, 7, 6, 3, 3, 4, 5, 13, 10, 7, 9]
    assert sum(counts) == 93
    # unknown is the last class of every attribute
    assert all(a.unknown_index == a.num_classes - 1 for a in AGREID_ATTRIBUTES)
    assert AGREID_ATTRIBUTES[3].name == "body_volume" and AGREID_ATTRIBUTES[3].mat_field == "weight"


def test_default_head_outputs_93_logits_with_documented_layout() -> None:
    head = AttributeHead(8)
    out = head(torch.randn(4, 8))
    assert set(out) == {"attr_logits"}
    assert out["attr_logits"].shape == (4, 93)
    assert head.offsets[:3] == (0, 3, 12)
    assert head.slices["accessories"] == slice(84, 93)
    parts = head.split(out["attr_logits"])
    assert list(parts) == [a.name for a in AGREID_ATTRIBUTES]
    assert parts["age"].shape == (4, 9)


def test_layout_matches_each_classifier_on_hand_set_weights() -> None:
    head = AttributeHead(2, [("a", 2), ("b", 3)])
    with torch.no_grad():
        head.classifiers["a"].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        head.classifiers["b"].weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 0.0], [0.0, -1.0]]))
        head.classifiers["b"].bias.fill_(0.5)
    logits = head(torch.tensor([[2.0, 3.0]]))["attr_logits"]
    torch.testing.assert_close(logits, torch.tensor([[2.0, 3.0, 5.5, 4.5, -2.5]]))
    labels = head.predict(logits)
    assert labels.tolist() == [[1, 0]]


def test_predict_sets_low_confidence_to_unknown() -> None:
    logits = torch.tensor([[5.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0]])  # k = (3, 4)
    assert predict_attribute_labels(logits, (3, 4)).tolist() == [[0, 2]]
    # second attribute: max prob ≈ 0.27 < 0.5 → its unknown index (3)
    got = predict_attribute_labels(logits, (3, 4), (2, 3), min_confidence=0.5)
    assert got.tolist() == [[0, 3]]
    got = predict_attribute_labels(logits, (3, 4), None, min_confidence=0.5)
    assert got.tolist() == [[0, -1]]


def test_agreid_head_predicts_unknown_from_codebook() -> None:
    head = AttributeHead(4)
    logits = torch.zeros(1, 93)  # uniform → every attribute below 0.5 confidence
    labels = head.predict(logits, min_confidence=0.5)
    assert labels.shape == (1, 15)
    assert labels[0].tolist() == [a.num_classes - 1 for a in AGREID_ATTRIBUTES]


def test_split_rejects_wrong_width_and_bad_specs() -> None:
    with pytest.raises(ValueError, match="columns"):
        split_attribute_logits(torch.zeros(1, 5), ["a", "b"], [2, 2])
    with pytest.raises(ValueError, match="unique"):
        AttributeHead(4, [("a", 2), ("a", 3)])
    with pytest.raises(ValueError, match="at least 2"):
        AttributeHead(4, [("a", 1)])


def test_gradients_reach_every_classifier_and_the_input() -> None:
    head = AttributeHead(6)
    x = torch.randn(3, 6, requires_grad=True)
    labels = torch.zeros(3, 15, dtype=torch.long)
    logits = head(x)["attr_logits"]
    loss = sum(
        torch.nn.functional.cross_entropy(chunk, labels[:, m])
        for m, chunk in enumerate(head.split(logits).values())
    )
    assert isinstance(loss, torch.Tensor)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for linear in head.classifiers.values():
        assert linear.weight.grad is not None and linear.weight.grad.abs().sum() > 0
