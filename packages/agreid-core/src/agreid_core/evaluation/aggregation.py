"""Gallery aggregation: mean features per group (identity-camera centroids).

CentroidNet, MFE and BENTO replace the gallery images of one identity seen by one camera by
their mean feature. Grouping by identity reads gallery labels, i.e. test ground truth, so the
evaluation only allows it under ``oracle``. Keeping the camera in the group key keeps the
Market-1501 same-identity-same-camera junk rule meaningful for centroids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class GroupedFeatures:
    """Group means and, per group, the index of its first member (a representative row)."""

    features: Tensor  # (num_groups, D)
    first_member: Tensor  # (num_groups,) int64 rows of the input
    sizes: Tensor  # (num_groups,) int64


def mean_by_group(features: Tensor, *keys: np.ndarray | Tensor) -> GroupedFeatures:
    """Mean of the rows of ``features`` sharing the same tuple of ``keys`` values.

    Groups are ordered by their first member, so the result is deterministic and a gallery
    whose groups are singletons comes back unchanged.
    """
    n = features.shape[0]
    if not keys:
        raise ValueError("mean_by_group needs at least one key")
    arrays = [np.asarray(k.cpu() if isinstance(k, Tensor) else k).astype(np.int64) for k in keys]
    if any(a.shape != (n,) for a in arrays):
        raise ValueError(f"every key must have one entry per feature row ({n})")
    stacked = np.stack(arrays, axis=1)
    _, first, inverse = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first, kind="stable")  # group ids by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = torch.as_tensor(rank[inverse])
    sums = torch.zeros(len(order), features.shape[1], dtype=features.dtype)
    sums.index_add_(0, group, features)
    sizes = torch.bincount(group, minlength=len(order))
    return GroupedFeatures(
        features=sums / sizes.unsqueeze(1).to(features.dtype),
        first_member=torch.as_tensor(first[order]),
        sizes=sizes,
    )
