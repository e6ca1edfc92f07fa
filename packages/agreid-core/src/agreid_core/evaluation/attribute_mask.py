"""Soft-biometric masking (X-TFCLIP): penalise pairs whose known attributes disagree.

For query ``i`` and gallery item ``j`` the added distance is

    Σ_a  w_a · [q_ia ≥ 0] · [g_ja ≥ 0] · [q_ia ≠ g_ja]

so an unknown value (negative, or null in the index) never adds anything, and pairs that
agree on every known attribute keep their distance exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import torch
from torch import Tensor

from agreid_core.data.index import ATTRIBUTE_PREFIX


def parse_attribute_weights(items: Sequence[str]) -> dict[str, float]:
    """``("gender:0.2", "age:0.2")`` → ``{"gender": 0.2, "age": 0.2}``."""
    weights: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition(":")
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or not name.strip() or weight != weight:
            raise ValueError(f"attribute penalty {item!r} is not of the form name:weight")
        if weight < 0:
            raise ValueError(f"attribute penalty {item!r}: the weight must be >= 0")
        weights[name.strip()] = weight
    return weights


def attribute_matrix(rows: pl.DataFrame, names: Sequence[str]) -> Tensor:
    """(N, A) int64 attribute values of index ``rows`` (``attr_<name>`` columns), −1 unknown.

    Raises ``KeyError`` naming the attributes the index lacks.
    """
    missing = [n for n in names if f"{ATTRIBUTE_PREFIX}{n}" not in rows.columns]
    if missing:
        have = [c[len(ATTRIBUTE_PREFIX) :] for c in rows.columns if c.startswith(ATTRIBUTE_PREFIX)]
        raise KeyError(
            f"the dataset has no annotated attribute(s) {missing}; it has: {have or 'none'}"
        )
    cols = [pl.col(f"{ATTRIBUTE_PREFIX}{n}").cast(pl.Int64).fill_null(-1).alias(n) for n in names]
    values = rows.select(cols).to_numpy() if names else None
    if values is None:
        return torch.empty(rows.height, 0, dtype=torch.int64)
    return torch.as_tensor(values.astype("int64")).reshape(rows.height, len(names))


class AttributePenalty:
    """``penalty(start, stop)``: the (stop − start, G) penalty of queries ``start:stop``."""

    def __init__(self, query: Tensor, gallery: Tensor, weights: Sequence[float]) -> None:
        if query.ndim != 2 or gallery.ndim != 2 or query.shape[1] != gallery.shape[1]:
            raise ValueError(
                "query and gallery attributes must be (N, A) with the same A, got "
                f"{tuple(query.shape)} and {tuple(gallery.shape)}"
            )
        if len(weights) != query.shape[1]:
            raise ValueError(f"{len(weights)} weights for {query.shape[1]} attributes")
        self.query, self.gallery = query.long(), gallery.long()
        self.weights = [float(w) for w in weights]

    def __call__(self, start: int, stop: int) -> Tensor:
        """Penalty rows of queries ``start:stop``."""
        q = self.query[start:stop]
        out = torch.zeros(q.shape[0], self.gallery.shape[0], dtype=torch.float32)
        for a, w in enumerate(self.weights):
            if w == 0.0:
                continue
            qa, ga = q[:, a : a + 1], self.gallery[:, a].unsqueeze(0)
            disagree = (qa >= 0) & (ga >= 0) & (qa != ga)
            out.add_(disagree.to(torch.float32), alpha=w)
        return out
