"""Component specs of the IBN-a, OSNet, HRNet, Swin, ViT and CLIP image-tower backbones.

``BACKBONE_SPECS`` maps a registry name to a :class:`ComponentSpec`. Importing this module
imports neither timm nor any model file: every factory imports its module when called.
"""

from __future__ import annotations

from typing import Any

from agreid_core.components import ComponentSpec


def _resnet_ibn(depth: int, **kwargs: Any) -> Any:
    from agreid_models.backbones.ibn import ResNetIBNBackbone

    return ResNetIBNBackbone(depth=depth, **kwargs)


def _osnet(**kwargs: Any) -> Any:
    from agreid_models.backbones.osnet import OSNetBackbone

    return OSNetBackbone(**kwargs)


def _hrnet(**kwargs: Any) -> Any:
    from agreid_models.backbones.hrnet import HRNetBackbone

    return HRNetBackbone(**kwargs)


def _swin(variant: str, **kwargs: Any) -> Any:
    from agreid_models.backbones.swin import SwinBackbone

    return SwinBackbone(variant=variant, **kwargs)


def _vit(**kwargs: Any) -> Any:
    from agreid_models.backbones.vit import ViTBackbone

    return ViTBackbone(**kwargs)


def _clip_vit_b16(**kwargs: Any) -> Any:
    from agreid_models.backbones.clip import CLIPViTB16

    return CLIPViTB16(**kwargs)


def _eva_clip_l14(**kwargs: Any) -> Any:
    from agreid_models.backbones.clip import EVACLIPL14

    return EVACLIPL14(**kwargs)


_TINY_SWIN: dict[str, Any] = {
    "pretrained": False,
    "img_size": (64, 32),
    "embed_dim": 32,
    "depths": (1, 1, 1, 1),
    "num_heads": (1, 2, 2, 4),
    "window_size": 2,
}

BACKBONE_SPECS: dict[str, ComponentSpec] = {
    "resnet50-ibn-a": ComponentSpec(
        lambda **kw: _resnet_ibn(50, **kw),
        "IBN-a ResNet-50 on timm's ResNet, last_stride option; 2048-ch map",
        tiny={"pretrained": False, "layers": (1, 1, 1, 1)},
        reference="Pan et al., ECCV 2018 (IBN-Net)",
    ),
    "resnet101-ibn-a": ComponentSpec(
        lambda **kw: _resnet_ibn(101, **kw),
        "IBN-a ResNet-101 on timm's ResNet, last_stride option; 2048-ch map",
        tiny={"pretrained": False, "layers": (1, 1, 1, 1)},
        reference="Pan et al., ECCV 2018 (IBN-Net)",
    ),
    "osnet-x1-0": ComponentSpec(
        _osnet,
        "OSNet x1.0 (omni-scale blocks, shared aggregation gate); 512-ch conv5 map, stride 16",
        tiny={"pretrained": False, "width": 0.25},
        reference="Zhou et al., ICCV 2019",
    ),
    "hrnet-w18": ComponentSpec(
        _hrnet,
        "timm HRNet-W18; 2048-ch fused head map at stride 32",
        tiny={"pretrained": False, "variant": "hrnet_w18_small"},
        reference="Wang et al., TPAMI 2020; layumi ft_net_hr",
    ),
    "swin-b": ComponentSpec(
        lambda **kw: _swin("swin_base_patch4_window7_224", **kw),
        "timm Swin-B (224×224, window 7), drop_path 0.2; 1024-ch last-stage map",
        tiny=dict(_TINY_SWIN),
        reference="Liu et al., ICCV 2021; layumi ft_net_swin",
    ),
    "swinv2-b": ComponentSpec(
        lambda **kw: _swin("swinv2_base_window8_256", **kw),
        "timm SwinV2-B (256×256, window 8), drop_path 0.2; 1024-ch last-stage map",
        tiny=dict(_TINY_SWIN),
        reference="Liu et al., CVPR 2022; layumi ft_net_swinv2",
    ),
    "vit-b16-s12": ComponentSpec(
        _vit,
        "TransReID ViT-B/16, overlapping patches stride 12, optional SIE; CLS as (B,768,1,1)",
        tiny={
            "pretrained": False,
            "img_size": (64, 32),
            "embed_dim": 64,
            "depth": 2,
            "num_heads": 2,
        },
        reference="He et al., ICCV 2021 (TransReID)",
    ),
    "clip-vit-b16": ComponentSpec(
        _clip_vit_b16,
        "OpenAI CLIP ViT-B/16 image tower (timm), pos-embed resized to the ReID grid, "
        "camera SIE on CLS, 512-d projection; CLS as (B,768,1,1)",
        tiny={
            "pretrained": False,
            "img_size": (64, 32),
            "embed_dim": 64,
            "depth": 2,
            "num_heads": 2,
            "proj_dim": 32,
        },
        reference="Radford et al., ICML 2021 (CLIP); Yu et al., AAAI 2024 (TF-CLIP)",
    ),
    "eva-clip-l14": ComponentSpec(
        _eva_clip_l14,
        "EVA02-CLIP-L/14 image tower (timm Eva, RoPE + SwiGLU), 224×224, camera SIE on CLS, "
        "768-d projection; CLS as (B,1024,1,1)",
        tiny={
            "pretrained": False,
            "img_size": (64, 32),
            "patch_size": 16,
            "embed_dim": 64,
            "depth": 2,
            "num_heads": 2,
            "proj_dim": 32,
        },
        reference="Sun et al., 2023 (EVA-CLIP); AG-VPReID 2025 challenge A.2 (TFCLIP-AG-VPReID)",
    ),
}
"""Backbone name → spec, for the agreid-models plugin to register."""
