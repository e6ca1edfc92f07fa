"""Pairwise distances between feature matrices (GEMM form, no ``q × g × d`` temporaries).

``pairwise_distance`` is built from two pieces that block-wise evaluation reuses, so
that a distance block computed for a slice of queries uses exactly the same arithmetic:
``gallery_statistics`` (once per gallery) and ``distance_block`` (per query block).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

DistanceMetric = Literal["cosine", "euclidean", "sqeuclidean"]

_EPS = 1e-12
_NORM_CHUNK_ELEMENTS = 2**22  # 16 MiB float32 buffer: few, large ops


def l2_normalize(x: Tensor) -> Tensor:
    """Return ``x`` with each row scaled to unit L2 norm (zero rows stay zero)."""
    return torch.nn.functional.normalize(x, p=2.0, dim=-1, eps=_EPS)


def _row_sq_norms(x: Tensor) -> Tensor:
    """Squared L2 norm of every row (exact sums of squares) through one reused 16 MiB
    buffer: no full-size ``x * x`` temporary and no allocation churn."""
    rows = max(1, _NORM_CHUNK_ELEMENTS // max(1, x.shape[1]))
    out = x.new_empty(x.shape[0])
    buf = x.new_empty(min(rows, x.shape[0]), x.shape[1])
    for start in range(0, x.shape[0], rows):
        chunk = x[start : start + rows]
        sq = torch.mul(chunk, chunk, out=buf[: chunk.shape[0]])
        torch.sum(sq, dim=1, out=out[start : start + chunk.shape[0]])
    return out


def as_float_features(x: Tensor, name: str) -> Tensor:
    """Check that ``x`` is a 2-D feature matrix and return it as float32 or float64."""
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (num_items, dim), got shape {tuple(x.shape)}")
    if x.dtype in (torch.float32, torch.float64):
        return x
    if x.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
    return x.float()


def gallery_statistics(g: Tensor, metric: DistanceMetric) -> Tensor:
    """Per-gallery-row values that ``distance_block`` needs.

    Cosine: the inverse row norms (rows are scaled after the GEMM, so the gallery is never
    copied). Euclidean / squared Euclidean: the squared row norms.
    """
    if metric not in ("cosine", "euclidean", "sqeuclidean"):
        raise ValueError(
            f"unknown metric {metric!r}; expected 'cosine', 'euclidean' or 'sqeuclidean'"
        )
    if metric == "cosine":
        norms: Tensor = torch.linalg.vector_norm(g, dim=1)
        return norms.clamp_min_(_EPS).reciprocal_()
    return _row_sq_norms(g)  # exact sums of squares (integer features give exact distances)


def distance_block(q: Tensor, g: Tensor, g_stats: Tensor, metric: DistanceMetric) -> Tensor:
    """Distances from the rows of ``q`` to all rows of ``g`` (``g_stats`` from
    ``gallery_statistics(g, metric)``); the only ``len(q) × len(g)`` tensor is the result."""
    if metric == "cosine":
        sim = torch.mm(l2_normalize(q), g.t())
        return sim.mul_(g_stats).neg_().add_(1.0)
    sq = torch.addmm(g_stats.unsqueeze(0), q, g.t(), alpha=-2.0)
    sq.add_(_row_sq_norms(q).unsqueeze(1)).clamp_(min=0.0)
    return sq.sqrt_() if metric == "euclidean" else sq


def pairwise_distance(q: Tensor, g: Tensor, metric: DistanceMetric) -> Tensor:
    """``len(q) × len(g)`` distance matrix, smaller = closer.

    ``cosine``: 1 − cosine similarity of the L2-normalised rows; ``euclidean``: square
    root of the squared distance clamped at 0; ``sqeuclidean``: the clamped squared
    distance. Integer / half inputs are computed in float32.
    """
    q = as_float_features(q, "q")
    g = as_float_features(g, "g")
    if q.shape[1] != g.shape[1]:
        raise ValueError(
            f"feature dims differ: q has shape {tuple(q.shape)}, g has shape {tuple(g.shape)}"
        )
    dtype = torch.promote_types(q.dtype, g.dtype)
    q, g = q.to(dtype), g.to(dtype)
    return distance_block(q, g, gallery_statistics(g, metric), metric)
