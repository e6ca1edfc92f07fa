"""First-party plugin of agreid-models: backbones, heads and image methods.

Importing this module imports neither timm nor any model file: factories import lazily.
"""

from __future__ import annotations

from typing import Any

from agreid_core.components import ComponentSpec
from agreid_core.plugins.hookspecs import Register, hookimpl


def _resnet(**kwargs: Any) -> Any:
    from agreid_models.backbones.resnet import ResNetBackbone

    return ResNetBackbone(**kwargs)


def _bnneck(**kwargs: Any) -> Any:
    from agreid_models.heads.bnneck import BNNeck

    return BNNeck(**kwargs)


def _gem(**kwargs: Any) -> Any:
    from agreid_models.heads.pooling import GeneralizedMeanPooling

    return GeneralizedMeanPooling(**kwargs)


@hookimpl
def agreid_register_backbones(register: Register) -> None:
    """ResNet trunks with the last-stride option."""
    for depth in (18, 34, 50, 101):
        register(
            f"resnet{depth}",
            ComponentSpec(
                lambda depth=depth, **kw: _resnet(depth=depth, **kw),
                f"timm ResNet-{depth} trunk, last_stride option (1 for ReID)",
                tiny={"pretrained": False},
                reference="He et al., CVPR 2016; Luo et al., CVPRW 2019",
            ),
        )
    from agreid_models.backbones.specs import BACKBONE_SPECS

    for name, spec in BACKBONE_SPECS.items():
        register(name, spec)


@hookimpl
def agreid_register_heads(register: Register) -> None:
    """Necks, pooling, part and attention heads."""
    from agreid_models.heads.specs import HEAD_SPECS

    for name, spec in HEAD_SPECS.items():
        register(name, spec)
    register(
        "bnneck",
        ComponentSpec(
            _bnneck,
            "BNNeck: BN (frozen bias) + bias-free classifier",
            tiny={"in_dim": 8, "num_classes": 4},
        ),
    )
    register("gem", ComponentSpec(_gem, "generalised-mean pooling, learnable p", tiny={"p": 3.0}))


@hookimpl
def agreid_register_methods(register: Register) -> None:
    """Image method recipes."""
    from agreid_models.methods import bot, hrnet18, mgn, sbs, swin

    register("bot", bot.SPEC)
    register("sbs", sbs.SPEC)
    register("mgn", mgn.SPEC)
    register("hrnet18", hrnet18.SPEC)
    register("swin", swin.SWIN_SPEC)
    register("swinv2", swin.SWINV2_SPEC)
    from agreid_models.methods import bento, centroidnet, lens_ag_net, mfe, smtl

    for module in (smtl, centroidnet, lens_ag_net, bento, mfe):
        for name, spec in module.SPECS.items():
            register(name, spec)
