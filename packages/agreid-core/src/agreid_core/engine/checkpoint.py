"""Weights on disk: safetensors only (no pickles), written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_weights(model: nn.Module, path: Path, metadata: dict[str, Any] | None = None) -> None:
    """Save ``model.state_dict()`` as safetensors (atomically); metadata as JSON strings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


def load_weights(model: nn.Module, path: Path, strict: bool = True) -> None:
    """Load safetensors weights saved by :func:`save_weights` into ``model``."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    state = load_file(str(path))
    model.load_state_dict(state, strict=strict)
