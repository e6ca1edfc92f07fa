"""Component specs of the multi-branch, attribute and attention heads.

Importing this module imports neither timm nor the head modules: each factory imports its
module when called. ``tiny`` builds a small instance for tests and CPU profiles.
"""

from __future__ import annotations

from typing import Any

from agreid_core.components import ComponentSpec


def _mgn(**kwargs: Any) -> Any:
    from agreid_models.heads.mgn import build_mgn

    return build_mgn(**kwargs)


def _attribute_head(**kwargs: Any) -> Any:
    from agreid_models.heads.attributes import AttributeHead

    return AttributeHead(**kwargs)


def _spatial_attention(**kwargs: Any) -> Any:
    from agreid_models.heads.spatial_attention import SpatialAttentionHead

    return SpatialAttentionHead(**kwargs)


def _spatial_channel_attention(**kwargs: Any) -> Any:
    from agreid_models.heads.spatial_attention import SpatialChannelAttention

    return SpatialChannelAttention(**kwargs)


HEAD_SPECS: dict[str, ComponentSpec] = {
    "mgn": ComponentSpec(
        _mgn,
        "MGN: global + 2-part + 3-part branches on a timm ResNet, 8×256-d reduced features",
        tiny={"depth": 18, "num_classes": 4, "pretrained": False, "reduction_dim": 16},
        reference="Wang et al., Learning Discriminative Features with Multiple Granularities "
        "for Person Re-Identification, ACM MM 2018",
    ),
    "attribute-head": ComponentSpec(
        _attribute_head,
        "one linear classifier per attribute (default: the 15 AG-ReID attributes, 93 logits)",
        tiny={"in_dim": 8},
        reference="AG-ReID attribute codebook (Nguyen et al., ICME 2023); SMTL, AG-ReID2023",
    ),
    "spatial-attention": ComponentSpec(
        _spatial_attention,
        "spatial attention map (conv → sigmoid) reweighting the map before pooling (MFE)",
        tiny={"in_channels": 8, "hidden_channels": 2},
        reference="Wang et al., Pyramid Spatial-Temporal Aggregation (PSTA), ICCV 2021; "
        "MFE, AG-ReID2023 challenge",
    ),
    "spatial-channel-attention": ComponentSpec(
        _spatial_channel_attention,
        "CBAM-style channel-then-spatial attention block, residual with zero-init scale (BENTO)",
        tiny={"channels": 16, "reduction": 4},
        reference="Woo et al., CBAM, ECCV 2018; BENTO, AG-ReID2023 challenge",
    ),
}
