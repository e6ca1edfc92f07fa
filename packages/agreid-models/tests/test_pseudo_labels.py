"""Pseudo-labels: DBSCAN on hand-made distances, the confidence filter, disjoint new pids."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
import torch

from agreid_core.data.dataset import ProtocolSpec, ReIDData
from agreid_core.data.index import make_index
from agreid_models.pseudo_labels import (
    assign_pseudo_labels,
    dbscan,
    pairwise_distance,
    pseudo_labelled_rows,
    unlabelled_test_rows,
)


def _angles(*degrees: float) -> torch.Tensor:
    return torch.tensor([[math.cos(math.radians(d)), math.sin(math.radians(d))] for d in degrees])


def test_dbscan_core_border_and_noise_on_a_line() -> None:
    x = torch.tensor([0.0, 1.0, 2.0, 5.0, 10.0, 10.5, 11.0])
    dist = (x[:, None] - x[None, :]).abs()
    # 1 is core ({0,1,2}); 0 and 2 are its border points; 5 is noise; 10/10.5/11 a 2nd cluster
    labels = dbscan(dist, eps=1.0, min_samples=3)
    assert labels.tolist() == [0, 0, 0, -1, 1, 1, 1]
    assert dbscan(dist, eps=1.0, min_samples=4).tolist() == [-1] * 7


def test_dbscan_rejects_non_square_distances() -> None:
    with pytest.raises(ValueError, match="square"):
        dbscan(torch.zeros(2, 3), eps=1.0, min_samples=1)


def test_two_groups_and_an_outlier_become_two_pseudo_identities() -> None:
    # group A at 0°, ±8°; group B at 90°, 82°, 98°; an outlier at 180°
    f = _angles(90, 0, 8, 180, 82, -8, 98)
    # cos 8° = 0.990268 → distance 0.009732; cos 16° → 0.038738; both below eps 0.05
    d = pairwise_distance(f, "cosine")
    torch.testing.assert_close(d[1, 2], torch.tensor(1 - math.cos(math.radians(8))))
    result = assign_pseudo_labels(f, eps=0.05, min_samples=3)
    # numbered in order of first member: B (index 0) is 0, A is 1
    assert result.labels.tolist() == [0, 1, 1, -1, 0, 1, 0]
    assert result.num_clusters == 2 and result.kept.tolist() == [
        True,
        True,
        True,
        False,
        True,
        True,
        True,
    ]
    # confidence = cosine to the own centroid: A's centroid is the 0° direction
    torch.testing.assert_close(result.confidence[1], torch.tensor(1.0))
    torch.testing.assert_close(result.confidence[2], torch.tensor(math.cos(math.radians(8))))
    assert result.confidence[3] == 0


def test_confidence_filter_drops_far_members_and_clusters_left_alone() -> None:
    # A: 0°, ±8° (side members at confidence 0.990); B: 90°, 91°, 89° (≥ 0.9998)
    f = _angles(0, 8, -8, 90, 91, 89)
    result = assign_pseudo_labels(f, eps=0.05, min_samples=3, min_confidence=0.995)
    # A keeps only its centre: a single member is no identity, so A is dropped and B is 0
    assert result.labels.tolist() == [-1, -1, -1, 0, 0, 0]
    assert result.num_clusters == 1


def test_jaccard_distance_separates_the_groups() -> None:
    f = _angles(0, 3, 6, 9, 90, 93, 96, 99)
    d = pairwise_distance(f, "jaccard", k1=3, k2=1)
    assert d.shape == (8, 8)
    torch.testing.assert_close(d, d.T)
    assert d[:4, 4:].min() > d[:4, :4].max()
    labels = assign_pseudo_labels(f, eps=0.5, min_samples=3, distance="jaccard", k1=3, k2=1)
    assert labels.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_pseudo_labelled_rows_get_new_pids_and_no_attributes() -> None:
    rows = make_index(
        [{"path": f"t{i}.png", "pid": 7 + i, "camid": 0, "attr_gender": 1} for i in range(4)]
    )
    out = pseudo_labelled_rows(rows, torch.tensor([0, -1, 1, 0]), first_pid=100)
    assert out["path"].to_list() == ["t0.png", "t2.png", "t3.png"]
    assert out["pid"].to_list() == [100, 101, 100]
    assert out["attr_gender"].null_count() == 3
    assert out.columns == rows.columns
    with pytest.raises(ValueError, match="3 labels for 4 rows"):
        pseudo_labelled_rows(rows, [0, 1, 2], first_pid=100)


def test_unlabelled_test_rows_are_every_protocols_images_once(tmp_path: Path) -> None:
    index = make_index(
        [
            {"path": "a", "pid": 1, "subset": "train", "split": "train"},
            {"path": "q", "pid": 2, "subset": "query_c0", "split": "test"},
            {"path": "g", "pid": 2, "subset": "gallery_c3", "split": "test"},
            {"path": "d", "pid": -1, "subset": "add_on", "split": "test"},
        ]
    )
    protocols = (
        ProtocolSpec("A→G", ("query_c0",), ("gallery_c3",), distractor_subsets=("add_on",)),
        ProtocolSpec("G→A", ("gallery_c3",), ("query_c0",)),
    )
    data = ReIDData("toy", tmp_path, "image", index, protocols)
    rows = unlabelled_test_rows(data)
    assert rows["path"].to_list() == ["q", "g", "d"]
    assert isinstance(rows, pl.DataFrame)
