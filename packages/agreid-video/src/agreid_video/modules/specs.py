"""Component specs of the video temporal modules (TF-CLIP, X-TFCLIP, ACP-VPReID parts).

``MODULE_SPECS`` maps a registry name to a :class:`ComponentSpec`; ``tiny`` builds a small
instance (dim 32). Importing this module imports no module file: each factory imports its
module when called.
"""

from __future__ import annotations

from typing import Any

from agreid_core.components import ComponentSpec


def _ssp(**kwargs: Any) -> Any:
    from agreid_video.modules.ssp import SequenceSpecificPrompt

    return SequenceSpecificPrompt(**kwargs)


def _tmd(**kwargs: Any) -> Any:
    from agreid_video.modules.tmd import TemporalMemoryDiffusion

    return TemporalMemoryDiffusion(**kwargs)


def _frame_camera(**kwargs: Any) -> Any:
    from agreid_video.modules.frame_position import FrameCameraEmbedding

    return FrameCameraEmbedding(**kwargs)


def _memory_alpha(**kwargs: Any) -> Any:
    from agreid_video.modules.memory_fusion import MemoryAlphaFusion

    return MemoryAlphaFusion(**kwargs)


def _view_encoders(**kwargs: Any) -> Any:
    from agreid_video.modules.view_encoders import ViewSpecificEncoders

    return ViewSpecificEncoders(**kwargs)


def _view_memory(**kwargs: Any) -> Any:
    from agreid_video.modules.memory_diffusion import ViewMemoryDiffusion

    return ViewMemoryDiffusion(**kwargs)


def _motion(**kwargs: Any) -> Any:
    from agreid_video.modules.motion_gating import MotionGating

    return MotionGating(**kwargs)


def _scale_norm(**kwargs: Any) -> Any:
    from agreid_video.modules.scale_norm import ScaleAdaptiveNorm

    return ScaleAdaptiveNorm(**kwargs)


def _view_prompts(**kwargs: Any) -> Any:
    from agreid_video.modules.view_prompts import ViewPromptTransformer

    return ViewPromptTransformer(**kwargs)


_TF_CLIP = "Yu et al., AAAI 2024 (TF-CLIP); AsuradaYuci/TF-CLIP"
_X_TFCLIP = "AG-VPReID 2025 challenge A.1 (X-TFCLIP); BiDAlab/X-TFCLIP"
_ACP = "AG-VPReID 2025 challenge A.3 (ACP-VPReID); internals: method card 5.4 design proposal"

MODULE_SPECS: dict[str, ComponentSpec] = {
    "tfclip-ssp": ComponentSpec(
        _ssp,
        "Sequence-Specific Prompt: memory (K,D) × clip tokens (B,N,D) → prompts (B,K,D)",
        tiny={"dim": 32, "heads": 2, "num_layers": 2},
        reference=_TF_CLIP,
    ),
    "tfclip-tmd": ComponentSpec(
        _tmd,
        "Temporal Memory Diffusion: cross-frame message tokens diffused into (B,T,L,C) tokens",
        tiny={"dim": 32, "heads": 2},
        reference=_TF_CLIP,
    ),
    "frame-camera-embedding": ComponentSpec(
        _frame_camera,
        "learnable frame-position + camera embedding added to (B,T,D) per-frame features",
        tiny={"dim": 32, "max_frames": 4, "num_cameras": 3},
        reference=_X_TFCLIP,
    ),
    "memory-alpha-fusion": ComponentSpec(
        _memory_alpha,
        "σ(a)·memory + (1−σ(a))·SSP output, learnable a (init 0.5)",
        reference=_X_TFCLIP,
    ),
    "view-encoders": ComponentSpec(
        _view_encoders,
        "one residual bottleneck adapter per view (aerial, cctv, wearable), routed by view id",
        tiny={"dim": 32},
        reference=_ACP,
    ),
    "view-memory-diffusion": ComponentSpec(
        _view_memory,
        "per-view learnable memory banks read by gated cross-attention from (B,T,D) frames",
        tiny={"dim": 32, "num_slots": 4, "heads": 2},
        reference=_ACP,
    ),
    "motion-gating": ComponentSpec(
        _motion,
        "channel gates from |x_t − x_{t−1}| on (B,T,D); static clip → gate 0.5 (identity)",
        tiny={"dim": 32},
        reference=_ACP,
    ),
    "scale-adaptive-norm": ComponentSpec(
        _scale_norm,
        "non-affine LayerNorm/BatchNorm + per-view FiLM scale/shift",
        tiny={"dim": 32},
        reference=_ACP,
    ),
    "view-prompt-transformer": ComponentSpec(
        _view_prompts,
        "view prompt tokens + frames → TransformerEncoder → sequence feature (B,D)",
        tiny={"dim": 32, "heads": 2, "max_frames": 4},
        reference=_ACP,
    ),
}
"""Temporal module name → spec."""
