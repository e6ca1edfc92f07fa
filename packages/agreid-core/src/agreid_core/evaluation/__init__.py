"""Evaluation: exact, block-wise ranking metrics (CMC, mAP, mINP) and pairwise distances."""

from agreid_core.evaluation.distance import l2_normalize, pairwise_distance
from agreid_core.evaluation.metrics import RankingMetrics, evaluate_features, evaluate_ranking

__all__ = [
    "RankingMetrics",
    "evaluate_features",
    "evaluate_ranking",
    "l2_normalize",
    "pairwise_distance",
]
