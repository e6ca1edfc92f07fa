"""DBSCAN pseudo-identities: exact clusters on separated features, noise dropped, new pids."""

from __future__ import annotations

import polars as pl
import pytest
import torch

from agreid_models.clustering import NOISE, cluster_features, clustered_rows


def _features() -> torch.Tensor:
    """Three tight groups around orthogonal directions (sizes 4, 3, 4) and one outlier."""
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4)
    groups = [(1, 4), (0, 3), (2, 4)]  # (direction, size), interleaved below
    feats = []
    for direction, size in groups:
        feats.append(centres[direction] + 0.01 * torch.randn(size, 4, generator=g))
    outlier = centres[3:4]  # alone on its own direction
    f = torch.cat([feats[0][:2], outlier, feats[1], feats[0][2:], feats[2]])
    return f


EXPECTED = [0, 0, NOISE, 1, 1, 1, 0, 0, 2, 2, 2, 2]


def test_cosine_dbscan_finds_the_groups_and_marks_the_outlier() -> None:
    clusters = cluster_features(_features(), eps=0.05, min_samples=3, distance="cosine")
    assert clusters.labels.tolist() == EXPECTED
    assert clusters.num_clusters == 3
    assert clusters.kept.tolist() == [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert clusters.kept_labels.tolist() == [0, 0, 1, 1, 1, 0, 0, 2, 2, 2, 2]


def test_jaccard_dbscan_on_the_same_features() -> None:
    # k1 = 4: each point's k-reciprocal neighbourhood covers its group of 4 (within-group
    # Jaccard distances < 0.16, across groups > 0.8)
    clusters = cluster_features(_features(), eps=0.6, min_samples=3, k1=4, k2=1)
    assert clusters.labels.tolist() == EXPECTED


def test_min_samples_larger_than_a_group_turns_it_into_noise() -> None:
    clusters = cluster_features(_features(), eps=0.05, min_samples=4, distance="cosine")
    assert clusters.labels.tolist() == [0, 0, NOISE, NOISE, NOISE, NOISE, 0, 0, 1, 1, 1, 1]


def test_clustered_rows_get_new_pids_and_drop_noise() -> None:
    rows = pl.DataFrame(
        {
            "path": [f"img{i}.png" for i in range(12)],
            "pid": [7] * 12,  # ground truth, must be replaced
            "camid": [i % 3 for i in range(12)],
            "attr_gender": [1] * 12,
        }
    )
    clusters = cluster_features(_features(), eps=0.05, min_samples=3, distance="cosine")
    train_pids = {0, 5, 9}
    first = max(train_pids) + 1
    out = clustered_rows(rows, clusters, first_pid=first)
    assert out.height == 11 and "img2.png" not in out["path"].to_list()
    assert out["pid"].to_list() == [10, 10, 11, 11, 11, 10, 10, 12, 12, 12, 12]
    assert not set(out["pid"].to_list()) & train_pids
    assert out["attr_gender"].null_count() == 11  # identity annotations are not carried over
    with pytest.raises(ValueError, match="12 cluster labels for 3 rows"):
        clustered_rows(rows.head(3), clusters, first_pid=first)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        cluster_features(torch.zeros(0, 4))
    with pytest.raises(ValueError, match="eps > 0"):
        cluster_features(torch.ones(3, 2), eps=0.0)
