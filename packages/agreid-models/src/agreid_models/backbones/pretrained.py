"""Pretrained weights: hub download when reachable, a local file, or random init with a message."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger("agreid.models")


def load_local_weights(model: nn.Module, path: str | Path) -> None:
    """Load a local ``.safetensors`` or ``.pth`` state dict (``weights_only``) non-strictly.

    Classifier keys missing from ``model`` are ignored; any other mismatch is reported.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: pretrained weights file not found")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(p))
    else:
        state = torch.load(p, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise ValueError(f"{p}: weights do not fit the model ({exc})") from None
    unexpected = [
        k for k in result.unexpected_keys if not k.startswith(("fc.", "classifier.", "head."))
    ]
    if result.missing_keys or unexpected:
        raise ValueError(
            f"{p}: weights do not fit the model (missing {result.missing_keys[:5]}, "
            f"unexpected {unexpected[:5]})"
        )


def create_timm(name: str, pretrained: bool, weights: str | None, **kwargs: Any) -> Any:
    """``timm.create_model`` with agreid's offline policy.

    ``weights`` (a local file) wins over ``pretrained``. With ``pretrained=True`` and no
    reachable hub, the model falls back to random initialisation and logs why.
    """
    import timm

    if weights:
        model = timm.create_model(name, pretrained=False, **kwargs)
        load_local_weights(model, weights)
        return model
    if pretrained:
        try:
            return timm.create_model(name, pretrained=True, **kwargs)
        except Exception as exc:  # hub unreachable, no cached file, …
            offline = os.environ.get("HF_HUB_OFFLINE") == "1"
            log.warning(
                "pretrained weights for %s are not available (%s%s); using random initialisation. "
                "Pass a local file with weights=PATH to use your own.",
                name,
                type(exc).__name__,
                ", HF_HUB_OFFLINE=1" if offline else "",
            )
    return timm.create_model(name, pretrained=False, **kwargs)
