"""Attribute head: one linear classifier per soft-biometric attribute on a pooled feature.

Used by SMTL (15 categorical attributes, Sabri et al.) and by methods that mask retrieval
with predicted soft biometrics. :data:`AGREID_ATTRIBUTES` is the AG-ReID / AG-ReID.v2
codebook from the dataset READMEs: 15 identity-level attributes, 93 classes in all, each
with an ``unknown`` class (always the last one).

The formats note states the cardinalities sum to 102; they sum to 93
(3+9+5+4+5+7+6+3+3+4+5+13+10+7+9), which is what this head outputs.

Layout of ``attr_logits``: (B, Σ k_m), the attributes' logits concatenated in the order
the head was given them; attribute ``m`` occupies columns ``offsets[m] : offsets[m] + k_m``
(:attr:`AttributeHead.slices`). :func:`split_attribute_logits` and
:func:`predict_attribute_labels` undo that layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import torch
from torch import Tensor, nn

#: Output key of :class:`AttributeHead`.
ATTR_LOGITS = "attr_logits"


@dataclass(frozen=True)
class AttributeSpec:
    """One categorical attribute: its name, its field in the ``.mat`` file, its values.

    The class index of a value is its position in ``values``.
    """

    name: str
    mat_field: str
    values: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """Number of classes (``unknown`` included)."""
        return len(self.values)

    @property
    def unknown_index(self) -> int | None:
        """Class index of ``unknown``, or ``None`` when the attribute has none."""
        return self.values.index("unknown") if "unknown" in self.values else None


#: The 15 AG-ReID attributes (names as in the AG-VPReID CSV header, fields as in the .mat).
AGREID_ATTRIBUTES: tuple[AttributeSpec, ...] = (
    AttributeSpec("gender", "gender", ("male", "female", "unknown")),
    AttributeSpec(
        "age",
        "age",
        ("0-11", "12-17", "18-24", "25-34", "35-44", "45-54", "55-64", ">65", "unknown"),
    ),
    AttributeSpec("height", "height", ("child", "short", "medium", "tall", "unknown")),
    AttributeSpec("body_volume", "weight", ("thin", "medium", "fat", "unknown")),
    AttributeSpec("ethnicity", "ethnic", ("white", "black", "asian", "indian", "unknown")),
    AttributeSpec(
        "hair_color",
        "haircolor",
        ("black", "brown", "white", "red", "gray", "occluded", "unknown"),
    ),
    AttributeSpec(
        "hairstyle", "hairstyle", ("bald", "short", "medium", "long", "horsetail", "unknown")
    ),
    AttributeSpec("beard", "beard", ("yes", "no", "unknown")),
    AttributeSpec("moustache", "moustache", ("yes", "no", "unknown")),
    AttributeSpec("glasses", "glasses", ("normal", "sunglasses", "no", "unknown")),
    AttributeSpec("head_accessories", "head", ("hat", "scarf", "neckless", "occluded", "unknown")),
    AttributeSpec(
        "upper_body_clothing",
        "upper",
        (
            "T-shirt",
            "blouse",
            "sweater",
            "coat",
            "bikini",
            "naked",
            "dress",
            "uniform",
            "shirt",
            "suit",
            "hoodie",
            "cardigan",
            "unknown",
        ),
    ),
    AttributeSpec(
        "lower_body_clothing",
        "lower",
        (
            "jeans",
            "leggins",
            "pants",
            "shorts",
            "skirt",
            "bikini",
            "dress",
            "uniform",
            "suit",
            "unknown",
        ),
    ),
    AttributeSpec(
        "footwear",
        "feet",
        ("sport shoe", "classic shoe", "high heels", "boots", "sandals", "nothing", "unknown"),
    ),
    AttributeSpec(
        "accessories",
        "bag",
        (
            "bag",
            "backpack",
            "handbag",
            "rolling bag",
            "umbrella",
            "sportif bag",
            "market bag",
            "nothing",
            "unknown",
        ),
    ),
)

#: ``(name, number of classes)`` for the 15 AG-ReID attributes.
AGREID_ATTRIBUTE_CLASSES: tuple[tuple[str, int], ...] = tuple(
    (a.name, a.num_classes) for a in AGREID_ATTRIBUTES
)

AttributeList: TypeAlias = Sequence[AttributeSpec] | Sequence[tuple[str, int]]


def _normalise(attributes: AttributeList) -> list[tuple[str, int, int | None]]:
    """``(name, num_classes, unknown_index)`` for specs or ``(name, k)`` pairs."""
    out: list[tuple[str, int, int | None]] = []
    for attr in attributes:
        if isinstance(attr, AttributeSpec):
            out.append((attr.name, attr.num_classes, attr.unknown_index))
        else:
            name, k = attr
            out.append((name, int(k), None))
    if not out:
        raise ValueError("an attribute head needs at least one attribute")
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"attribute names must be unique, got {names}")
    if any(k < 2 for _, k, _ in out):
        raise ValueError("every attribute needs at least 2 classes")
    return out


def split_attribute_logits(
    logits: Tensor, names: Sequence[str], num_classes: Sequence[int]
) -> dict[str, Tensor]:
    """Split concatenated logits (B, Σ k) into ``{name: (B, k)}`` in the given order."""
    if logits.shape[-1] != sum(num_classes):
        raise ValueError(
            f"logits have {logits.shape[-1]} columns, the attributes {sum(num_classes)}"
        )
    chunks = torch.split(logits, list(num_classes), dim=-1)
    return dict(zip(names, chunks, strict=True))


def predict_attribute_labels(
    logits: Tensor,
    num_classes: Sequence[int],
    unknown_indices: Sequence[int | None] | None = None,
    min_confidence: float = 0.0,
) -> Tensor:
    """Predicted class per attribute: (B, Σ k) logits → (B, M) ``long`` labels.

    A prediction whose softmax probability is below ``min_confidence`` is replaced by the
    attribute's ``unknown`` index (or -1 when it has none), so that soft-biometric masking
    treats it as unknown rather than as a confident mismatch.
    """
    chunks = torch.split(logits, list(num_classes), dim=-1)
    labels: list[Tensor] = []
    for m, chunk in enumerate(chunks):
        prob, label = chunk.softmax(dim=-1).max(dim=-1)
        if min_confidence > 0.0:
            unknown = unknown_indices[m] if unknown_indices is not None else None
            fill = -1 if unknown is None else unknown
            label = torch.where(prob < min_confidence, torch.full_like(label, fill), label)
        labels.append(label)
    return torch.stack(labels, dim=-1)


class AttributeHead(nn.Module):
    """One linear classifier per attribute on a pooled feature (B, in_dim).

    ``forward(features)`` returns ``{"attr_logits": (B, Σ k_m)}`` with the layout of the
    module docstring. ``attributes`` defaults to :data:`AGREID_ATTRIBUTES` (93 outputs);
    ``(name, num_classes)`` pairs are accepted too (no ``unknown`` class is then known).
    """

    def __init__(
        self,
        in_dim: int,
        attributes: AttributeList = AGREID_ATTRIBUTES,
        bias: bool = True,
        init_std: float = 0.001,
    ) -> None:
        super().__init__()
        spec = _normalise(attributes)
        self.names: tuple[str, ...] = tuple(n for n, _, _ in spec)
        self.num_classes: tuple[int, ...] = tuple(k for _, k, _ in spec)
        self.unknown_indices: tuple[int | None, ...] = tuple(u for _, _, u in spec)
        offsets = [0]
        for k in self.num_classes[:-1]:
            offsets.append(offsets[-1] + k)
        self.offsets: tuple[int, ...] = tuple(offsets)
        self.out_dim = sum(self.num_classes)
        classifiers: dict[str, nn.Module] = {}
        for name, k in zip(self.names, self.num_classes, strict=True):
            linear = nn.Linear(in_dim, k, bias=bias)
            nn.init.normal_(linear.weight, std=init_std)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)
            classifiers[name] = linear
        self.classifiers = nn.ModuleDict(classifiers)

    @property
    def slices(self) -> dict[str, slice]:
        """Columns of each attribute in ``attr_logits``."""
        return {
            n: slice(o, o + k)
            for n, o, k in zip(self.names, self.offsets, self.num_classes, strict=True)
        }

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        """``{"attr_logits": (B, Σ k)}`` for pooled ``features`` (B, in_dim)."""
        logits = [self.classifiers[name](features) for name in self.names]
        return {ATTR_LOGITS: torch.cat(logits, dim=-1)}

    def split(self, logits: Tensor) -> dict[str, Tensor]:
        """``{name: (B, k)}`` from this head's concatenated logits."""
        return split_attribute_logits(logits, self.names, self.num_classes)

    def predict(self, logits: Tensor, min_confidence: float = 0.0) -> Tensor:
        """(B, M) predicted labels, low-confidence ones set to unknown (see
        :func:`predict_attribute_labels`)."""
        return predict_attribute_labels(
            logits, self.num_classes, self.unknown_indices, min_confidence
        )
