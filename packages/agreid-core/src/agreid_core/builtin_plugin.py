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


@hookimpl
def agreid_register_datasets(register: Register) -> None:
    """The embedded synthetic dataset and the published formats."""
    from agreid_core.data.datasets.agreid_challenge23 import load_agreid_challenge23
    from agreid_core.data.datasets.agreid_v1 import load_agreid_v1
    from agreid_core.data.datasets.agreid_v2 import load_agreid_v2
    from agreid_core.data.datasets.agvpreid import load_agvpreid
    from agreid_core.data.datasets.market1501 import load_market1501
    from agreid_core.data.datasets.mars import load_g2a_vreid, load_mars
    from agreid_core.data.embedded import load_embedded, load_embedded_video

    register(
        "embedded",
        DatasetSpec(
            summary="Synthetic aerial-ground world (AG-ReID v1 layout), generated on first use",
            load=load_embedded,
            needs_path=False,
        ),
    )
    register(
        "embedded-video",
        DatasetSpec(
            summary="Synthetic aerial-ground tracklets (AG-VPReID layout), generated on first use",
            load=load_embedded_video,
            kind="video",
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
    register(
        "agvpreid",
        DatasetSpec(
            summary="AG-VPReID (CVPR'25): video tracklets, A→G (case 1) and G→A (case 2)",
            load=load_agvpreid,
            kind="video",
            reference="Nguyen et al., AG-VPReID, CVPR 2025",
        ),
    )
    register(
        "mars",
        DatasetSpec(
            summary="MARS: ground-only video reference, queries appended to the gallery",
            load=load_mars,
            kind="video",
            reference="Zheng et al., MARS: A Video Benchmark for Large-Scale Person Re-id, ECCV 2016",
        ),
    )
    register(
        "g2a-vreid",
        DatasetSpec(
            summary="G2A-VReID (v1/v2): MARS-style video, G→A (+ A→G on v2)",
            load=load_g2a_vreid,
            kind="video",
            reference="Zhang et al., Cross-Platform Video Person ReID (G2A-VReID), ECCV 2024",
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

    def platform_pk(**kwargs: Any) -> Any:
        from agreid_core.data.samplers import PlatformBalancedPKSampler

        return PlatformBalancedPKSampler(**kwargs)

    register(
        "platform-pk",
        ComponentSpec(
            platform_pk,
            "P identities × K samples from each platform they were seen on (BENTO-style), ≥ 2 platforms",
            tiny={
                "labels": [0, 0, 1, 1, 2, 2],
                "platforms": ["aerial", "ground"] * 3,
                "ids_per_batch": 2,
                "instances_per_platform": 1,
            },
        ),
    )


@hookimpl
def agreid_register_augmentations(register: Register) -> None:
    """Batch-wise kornia pipelines."""
    register(
        "reid-train",
        ComponentSpec(_train_augmentation, "flip, pad+crop, normalise, random erasing (kornia)"),
    )

    def aerial(**kwargs: Any) -> Any:
        from agreid_core.config import AugmentConfig
        from agreid_core.data.aerial_augment import aerial_config
        from agreid_core.data.augment import build_train_augmentation

        aug: AugmentConfig | None = kwargs.pop("aug", None)
        return build_train_augmentation(aerial_config(aug), **kwargs)

    def clip(**kwargs: Any) -> Any:
        from agreid_core.data.augment import build_clip_augmentation

        return build_clip_augmentation(**kwargs)

    register(
        "aerial",
        ComponentSpec(
            aerial,
            "reid-train plus aerial steps: low-res p=0.3, motion blur p=0.2, rotation ±10° p=0.3, "
            "colour jitter ±0.2 p=0.5, grayscale p=0.1, sharpness p=0.2 (probabilities left at 0 in aug)",
        ),
    )
    register(
        "reid-clip",
        ComponentSpec(
            clip, "reid-train's steps on (B, T, C, H, W) clips, one random draw per clip"
        ),
    )


@hookimpl
def agreid_register_evaluators(register: Register) -> None:
    """One protocol evaluator per published benchmark (see :mod:`agreid_core.evaluation.evaluators`)."""
    from agreid_core.evaluation.evaluators import BUILTIN_EVALUATORS

    for name, evaluator in BUILTIN_EVALUATORS.items():
        register(name, evaluator)
