"""First-party plugin of agreid-core: datasets, samplers, augmentations, evaluators.

Registered through the same ``agreid`` entry point as any third-party plugin.
"""

from __future__ import annotations

from typing import Any

from agreid_core.components import ComponentSpec
from agreid_core.data.dataset import DatasetSpec
from agreid_core.plugins.hookspecs import Register, hookimpl


def _pk_sampler(**kwargs: Any) -> Any:
    from agreid_core.data.samplers import PKSampler

    return PKSampler(**kwargs)


def _train_augmentation(**kwargs: Any) -> Any:
    from agreid_core.data.augment import build_train_augmentation

    return build_train_augmentation(**kwargs)


def _ranking_evaluator(**kwargs: Any) -> Any:
    from agreid_core.evaluation.metrics import evaluate_ranking

    return evaluate_ranking


@hookimpl
def agreid_register_datasets(register: Register) -> None:
    """The embedded synthetic dataset and the published formats."""
    from agreid_core.data.datasets.agreid_challenge23 import load_agreid_challenge23
    from agreid_core.data.datasets.agreid_v1 import load_agreid_v1
    from agreid_core.data.datasets.agreid_v2 import load_agreid_v2
    from agreid_core.data.datasets.market1501 import load_market1501
    from agreid_core.data.embedded import load_embedded

    register(
        "embedded",
        DatasetSpec(
            summary="Synthetic aerial-ground world (AG-ReID v1 layout), generated on first use",
            load=load_embedded,
            needs_path=False,
        ),
    )
    register(
        "agreid-v1",
        DatasetSpec(
            summary="AG-ReID v1 (ICME'23): flat folders, A→G and G→A",
            load=load_agreid_v1,
            reference="Nguyen et al., Aerial-Ground Person Re-ID, ICME 2023",
        ),
    )
    register(
        "agreid-v2",
        DatasetSpec(
            summary="AG-ReID.v2 (TIFS'24): per-identity folders, A→C, A→W, C→A, W→A list files",
            load=load_agreid_v2,
            reference="Nguyen et al., AG-ReID.v2, IEEE TIFS 2024",
        ),
    )
    register(
        "agreid-challenge23",
        DatasetSpec(
            summary="AG-ReID 2023 challenge: exp3 A→G and exp6 G→A with add-on distractors",
            load=load_agreid_challenge23,
            reference="Nguyen et al., AG-ReID 2023 challenge, IJCB 2023",
        ),
    )
    register(
        "market1501",
        DatasetSpec(
            summary="Market-1501: ground-only reference, query→gallery",
            load=load_market1501,
            reference="Zheng et al., Scalable Person Re-identification: A Benchmark, ICCV 2015",
        ),
    )


@hookimpl
def agreid_register_samplers(register: Register) -> None:
    """Identity samplers."""
    register(
        "pk",
        ComponentSpec(
            _pk_sampler,
            "P identities × K samples per batch",
            tiny={"labels": [0, 0, 1, 1, 2, 2], "ids_per_batch": 2, "instances_per_id": 2},
        ),
    )


@hookimpl
def agreid_register_augmentations(register: Register) -> None:
    """Batch-wise kornia pipelines."""
    register(
        "reid-train",
        ComponentSpec(_train_augmentation, "flip, pad+crop, normalise, random erasing (kornia)"),
    )


@hookimpl
def agreid_register_evaluators(register: Register) -> None:
    """Ranking evaluators."""
    register(
        "market1501",
        ComponentSpec(
            _ranking_evaluator,
            "CMC / mAP / mINP, same-pid-same-camera junk removed, ties by gallery order",
            reference="Zheng et al., Market-1501, ICCV 2015",
        ),
    )
