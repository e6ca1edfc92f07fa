"""First-party plugin of agreid-video: temporal modules, clip samplers and video methods."""

from __future__ import annotations

from typing import Any

from agreid_core.components import ComponentSpec
from agreid_core.plugins.hookspecs import Register, hookimpl


def _avg(**kwargs: Any) -> Any:
    from agreid_video.modules.temporal_pool import TemporalAveragePooling

    return TemporalAveragePooling(**kwargs)


def _attn(**kwargs: Any) -> Any:
    from agreid_video.modules.temporal_pool import TemporalAttentionPooling

    return TemporalAttentionPooling(**kwargs)


@hookimpl
def agreid_register_heads(register: Register) -> None:
    """Temporal pooling heads for clip features (B, T, D) → (B, D), and the temporal and
    view-aware modules of TF-CLIP, X-TFCLIP and ACP-VPReID."""
    from agreid_video.modules.specs import MODULE_SPECS

    for name, spec in MODULE_SPECS.items():
        register(name, spec)
    register("temporal-average", ComponentSpec(_avg, "mean over frames"))
    register(
        "temporal-attention",
        ComponentSpec(
            _attn, "attention pooling over frames (X-TFCLIP)", tiny={"dim": 8, "hidden": 4}
        ),
    )


@hookimpl
def agreid_register_methods(register: Register) -> None:
    """The AG-VPReID 2025 video methods (modules are imported here, not at plugin load)."""
    from agreid_video.methods import acp_vpreid, tf_clip, tfclip_ag_vpreid, x_tfclip

    register("tf-clip", tf_clip.SPEC)
    register("x-tfclip", x_tfclip.SPEC)
    register("tfclip-ag-vpreid", tfclip_ag_vpreid.SPEC)
    register("acp-vpreid", acp_vpreid.SPEC)
