"""``agreid evaluate``: metrics for features stored in an ``.npz`` file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from agreid_core.evaluation.metrics import RankingMetrics, evaluate_features, evaluate_ranking

REQUIRED = (
    "query_features",
    "gallery_features",
    "query_pids",
    "gallery_pids",
    "query_camids",
    "gallery_camids",
)


def evaluate_npz(path: Path, metric: str = "cosine", rerank: bool = False) -> RankingMetrics:
    """Load ``path`` and evaluate; missing arrays or shape mismatches raise ValueError."""
    if metric not in ("cosine", "euclidean"):
        raise ValueError(f"--metric must be cosine or euclidean, got {metric!r}")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in REQUIRED if k not in npz.files]
        if missing:
            raise ValueError(
                f"{path}: missing array(s) {', '.join(missing)} (has: {', '.join(npz.files)})"
            )
        arrays = {k: npz[k] for k in REQUIRED}
    qf = torch.as_tensor(arrays["query_features"], dtype=torch.float32)
    gf = torch.as_tensor(arrays["gallery_features"], dtype=torch.float32)
    for side, feats in (("query", qf), ("gallery", gf)):
        if feats.ndim != 2:
            raise ValueError(
                f"{path}: {side}_features must be 2-D (N, D), got shape {tuple(feats.shape)}"
            )
    ids = {k: np.asarray(arrays[k]).astype(np.int64).reshape(-1) for k in REQUIRED[2:]}
    if rerank:
        from agreid_core.evaluation.rerank import k_reciprocal_rerank

        dist = k_reciprocal_rerank(qf, gf)
        return evaluate_ranking(
            dist, ids["query_pids"], ids["gallery_pids"], ids["query_camids"], ids["gallery_camids"]
        )
    return evaluate_features(
        qf,
        gf,
        ids["query_pids"],
        ids["gallery_pids"],
        ids["query_camids"],
        ids["gallery_camids"],
        metric="cosine" if metric == "cosine" else "euclidean",
    )
