"""Pseudo-identities for unlabelled images (LENS-AG-Net's pseudo-labelling, card E-PL).

The AG-ReID2023 test identities are disjoint from the training identities, so a trained
classifier cannot name them. Following the card's proposal, test features are clustered
instead, and each kept cluster becomes a new identity:

1. distances: ``cosine`` (1 − cos of the L2-normalised features) or ``jaccard`` (the
   k-reciprocal Jaccard distance of Zhong et al., from
   :func:`agreid_core.evaluation.rerank.k_reciprocal_rerank` with λ = 0);
2. DBSCAN (scikit-learn) on those distances (``eps``, ``min_samples``; a point's neighbourhood includes
   itself); points in no cluster are outliers;
3. confidence filter (nearest centroid): a clustered point keeps its label only if its
   cluster's centroid (mean of the members' normalised features) is its nearest centroid and
   their cosine similarity is at least ``min_confidence``;
4. clusters left with fewer than 2 members are dropped (a class needs a positive pair); the
   rest are numbered 0 … M−1 in order of their first member.

Only features are read: no identity label of the unlabelled images is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from agreid_core.data.dataset import ReIDData
from agreid_core.data.index import attribute_columns

Distance = Literal["cosine", "jaccard"]

#: Label of an image that received no pseudo-identity.
UNLABELLED = -1


@dataclass(frozen=True)
class PseudoLabels:
    """Pseudo-identities of N images: ``labels`` (N,) in 0 … M−1 or −1, ``confidence`` (N,)
    (cosine to the own cluster's centroid; 0 for outliers)."""

    labels: Tensor
    confidence: Tensor

    @property
    def num_clusters(self) -> int:
        """M, the number of pseudo-identities."""
        return int(self.labels.max().item()) + 1 if self.labels.numel() else 0

    @property
    def kept(self) -> Tensor:
        """(N,) bool mask of the images with a pseudo-identity."""
        return self.labels >= 0


def dbscan(dist: Tensor, eps: float, min_samples: int) -> Tensor:
    """scikit-learn's DBSCAN on a precomputed (N, N) distance matrix; (N,) int64 labels,
    −1 for points in no cluster (a point's neighbourhood includes itself)."""
    from sklearn.cluster import DBSCAN  # type: ignore[import-untyped]

    if dist.dim() != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"dist must be a square (N, N) matrix, got {tuple(dist.shape)}")
    if eps <= 0 or min_samples < 1:
        raise ValueError(f"need eps > 0 and min_samples >= 1, got {eps}, {min_samples}")
    d = dist.double().clamp(min=0.0).numpy().copy()
    np.fill_diagonal(d, 0.0)
    labels = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(d)
    return torch.as_tensor(labels, dtype=torch.int64)


def pairwise_distance(features: Tensor, distance: Distance, k1: int = 20, k2: int = 6) -> Tensor:
    """(N, N) distances between ``features`` (N, D): cosine or k-reciprocal Jaccard.

    ``jaccard`` passes the features as both query and gallery of the re-ranking, so every image
    appears twice in its neighbourhoods; ``k1`` and ``k2`` are doubled to keep the neighbourhood
    sizes of a single copy. The result is symmetrised.
    """
    if distance == "cosine":
        unit = F.normalize(features.float(), dim=1)
        return (1.0 - unit @ unit.T).clamp(min=0.0)
    if distance == "jaccard":
        from agreid_core.evaluation.rerank import k_reciprocal_rerank

        d = k_reciprocal_rerank(features, features, k1=2 * k1, k2=2 * k2, lambda_value=0.0)
        return (d + d.T) / 2
    raise ValueError(f"unknown distance {distance!r}; use 'cosine' or 'jaccard'")


def assign_pseudo_labels(
    features: Tensor,
    *,
    eps: float,
    min_samples: int,
    min_confidence: float = 0.0,
    distance: Distance = "cosine",
    k1: int = 20,
    k2: int = 6,
) -> PseudoLabels:
    """Cluster ``features`` (N, D) into pseudo-identities with the module's four steps."""
    if features.dim() != 2 or features.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (N, D) tensor, got {tuple(features.shape)}")
    raw = dbscan(pairwise_distance(features, distance, k1, k2), eps, min_samples)
    unit = F.normalize(features.float(), dim=1)
    n = features.shape[0]
    confidence = torch.zeros(n)
    if int(raw.max()) < 0:
        return PseudoLabels(raw, confidence)
    ids = torch.unique(raw[raw >= 0])
    centroids = F.normalize(torch.stack([unit[raw == c].mean(dim=0) for c in ids]), dim=1)
    sims = unit @ centroids.T  # (N, M)
    own = torch.searchsorted(ids, raw.clamp(min=0))
    own_sim = sims.gather(1, own[:, None]).squeeze(1)
    keep = (raw >= 0) & (sims.argmax(dim=1) == own) & (own_sim >= min_confidence)
    labels = torch.where(keep, raw, torch.full_like(raw, UNLABELLED))
    counts = torch.bincount(labels[keep], minlength=int(raw.max()) + 1)
    labels = torch.where(keep & (counts[labels.clamp(min=0)] >= 2), labels, UNLABELLED)
    renumbered = torch.full_like(labels, UNLABELLED)
    order: dict[int, int] = {}
    for i, label in enumerate(labels.tolist()):
        if label >= 0:
            renumbered[i] = order.setdefault(label, len(order))
    confidence = torch.where(renumbered >= 0, own_sim, torch.zeros_like(own_sim))
    return PseudoLabels(renumbered, confidence)


def unlabelled_test_rows(data: ReIDData) -> pl.DataFrame:
    """Query, gallery and distractor rows of every protocol, each image once (index order).

    The rows still carry their ground-truth ``pid``; callers must only read ``path`` and
    ``camid`` before :func:`pseudo_labelled_rows` replaces it.
    """
    subsets: list[str] = []
    for p in data.protocols:
        for s in (*p.query_subsets, *p.gallery_subsets, *p.distractor_subsets):
            if s not in subsets:
                subsets.append(s)
    return data.rows_of(subsets).unique(subset="path", keep="first", maintain_order=True)


def pseudo_labelled_rows(
    rows: pl.DataFrame, labels: Tensor | Sequence[int], first_pid: int
) -> pl.DataFrame:
    """The rows with a pseudo-identity, ``pid`` = ``first_pid`` + label, attributes unknown.

    ``first_pid`` must exceed every training pid so the new identities are disjoint from them.
    The annotated ``attr_*`` columns (identity-level ground truth) are set to null.
    """
    values = labels.tolist() if isinstance(labels, Tensor) else list(labels)
    if len(values) != rows.height:
        raise ValueError(f"{len(values)} labels for {rows.height} rows")
    labelled = rows.with_columns(pl.Series("_pseudo", values, dtype=pl.Int64))
    labelled = labelled.filter(pl.col("_pseudo") >= 0)
    return labelled.with_columns(
        (pl.col("_pseudo") + first_pid).alias("pid"),
        *[pl.lit(None, dtype=rows.schema[c]).alias(c) for c in attribute_columns(rows)],
    ).drop("_pseudo")
