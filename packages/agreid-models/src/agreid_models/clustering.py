"""Pseudo-identities by DBSCAN clustering (BENTO's self-supervised stage, card E-PL / 4.3).

Following the card's proposal (cluster-contrast defaults: Jaccard distance with k1 30, k2 6,
DBSCAN eps 0.6, min_samples 4):

1. distances between the features: the k-reciprocal ``jaccard`` distance or ``cosine``
   (:func:`agreid_models.pseudo_labels.pairwise_distance`);
2. scikit-learn's ``DBSCAN(metric="precomputed")`` on them (a point's neighbourhood
   includes itself);
3. noise points (label −1) are dropped; the clusters, numbered 0 … M−1 in order of their
   first member, become new identities ``first_pid + label`` (disjoint from training pids).

Only features are read: no identity label of the clustered images is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import torch
from torch import Tensor

from agreid_models.pseudo_labels import Distance, dbscan, pairwise_distance, pseudo_labelled_rows

#: DBSCAN's label of a point in no cluster.
NOISE = -1


@dataclass(frozen=True)
class Clusters:
    """DBSCAN result for N points: ``labels`` (N,) int64 in 0 … M−1, −1 for noise."""

    labels: Tensor

    @property
    def num_clusters(self) -> int:
        """M, the number of clusters."""
        return int(self.labels.max().item()) + 1 if self.labels.numel() else 0

    @property
    def kept(self) -> Tensor:
        """Indices of the clustered (non-noise) points, ascending."""
        return torch.nonzero(self.labels != NOISE).flatten()

    @property
    def kept_labels(self) -> Tensor:
        """Cluster ids of the kept points, noise dropped (aligned with :attr:`kept`)."""
        return self.labels[self.kept]


def cluster_features(
    features: Tensor,
    *,
    eps: float = 0.6,
    min_samples: int = 4,
    distance: Distance = "jaccard",
    k1: int = 30,
    k2: int = 6,
) -> Clusters:
    """DBSCAN on the pairwise ``distance`` of ``features`` (N, D); clusters renumbered by first
    member."""
    if features.dim() != 2 or features.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (N, D) tensor, got {tuple(features.shape)}")
    raw = dbscan(pairwise_distance(features, distance, k1, k2), eps, min_samples)
    order: dict[int, int] = {}
    labels = [NOISE if r < 0 else order.setdefault(int(r), len(order)) for r in raw.tolist()]
    return Clusters(torch.tensor(labels, dtype=torch.int64))


def clustered_rows(rows: pl.DataFrame, clusters: Clusters, first_pid: int) -> pl.DataFrame:
    """``rows`` (aligned with the clustered features) of the kept points with
    ``pid = first_pid + cluster`` (noise dropped, annotated attributes nulled)."""
    if clusters.labels.numel() != rows.height:
        raise ValueError(f"{clusters.labels.numel()} cluster labels for {rows.height} rows")
    return pseudo_labelled_rows(rows, clusters.labels, first_pid)
