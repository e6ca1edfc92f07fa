"""The resumable training state: one safetensors file, written atomically, no pickles.

``checkpoint.safetensors`` holds every tensor (model, criterion, optimiser state, torch RNG
states) and, in its metadata, one JSON document with everything else (counters, sampler
position, scheduler, GradScaler, Python/NumPy RNG states, history, the caller's run info).
The file is written to a temporary name and renamed over the previous one, so a killed run
always leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

#: The file name of the resumable state inside a run folder.
CHECKPOINT_NAME = "checkpoint.safetensors"
#: Version of the layout below; bumped when it changes incompatibly.
STATE_FORMAT = 1
_META_KEY = "agreid_training_state"


@dataclass
class TrainingState:
    """Counters and bookkeeping of a training run (everything but the tensors)."""

    epoch: int = 0
    #: batches of ``epoch`` already trained on (the sampler position)
    position: int = 0
    step: int = 0
    images: int = 0
    last_loss: float = float("nan")
    best_val_map: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    val_history: list[dict[str, Any]] = field(default_factory=list)


def _to_cpu(t: Tensor) -> Tensor:
    cpu = t.detach().cpu()
    # a private contiguous copy: safetensors refuses tensors that share storage
    return cpu.contiguous().clone() if cpu.device == t.device else cpu.contiguous()


def _split_optimizer(
    state: dict[str, Any], prefix: str, tensors: dict[str, Tensor]
) -> dict[str, Any]:
    """Optimiser ``state_dict`` → JSON part; tensors go into ``tensors`` under ``prefix``."""
    per_param: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        plain: dict[str, Any] = {}
        for name, value in entries.items():
            if isinstance(value, Tensor):
                key = f"{prefix}.{pid}.{name}"
                tensors[key] = _to_cpu(value)
                plain[name] = {"__tensor__": key}
            else:
                plain[name] = value
        per_param[str(pid)] = plain
    return {"state": per_param, "param_groups": state["param_groups"]}


def _join_optimizer(doc: dict[str, Any], tensors: dict[str, Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for pid, entries in doc["state"].items():
        state[int(pid)] = {
            name: tensors[v["__tensor__"]] if isinstance(v, dict) and "__tensor__" in v else v
            for name, v in entries.items()
        }
    return {"state": state, "param_groups": doc["param_groups"]}


def capture_rng(device: torch.device) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Python, NumPy and torch (CPU and, on CUDA, every device) RNG states."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=True)
    assert isinstance(np_state, tuple)
    doc = {
        "python": [version, list(internal), gauss],
        "numpy": [
            str(np_state[0]),
            [int(v) for v in np_state[1]],
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
    }
    tensors = {"rng.torch": torch.get_rng_state()}
    if device.type == "cuda":
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    return doc, tensors


def restore_rng(doc: dict[str, Any], tensors: dict[str, Tensor], device: torch.device) -> None:
    """Restore what :func:`capture_rng` captured."""
    version, internal, gauss = doc["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    name, keys, pos, has_gauss, cached = doc["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["rng.torch"])
    if device.type == "cuda":
        cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)


def save_training_state(
    path: Path,
    *,
    modules: dict[str, nn.Module],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
    sampler: dict[str, int],
    counters: TrainingState,
    device: torch.device,
    extra_tensors: dict[str, Tensor] | None = None,
    run_info: dict[str, Any] | None = None,
) -> None:
    """Write the full training state to ``path`` (safetensors, atomically).

    ``modules`` maps a prefix (``model``, ``criterion``) to a module whose ``state_dict`` is
    saved; ``extra_tensors`` are stored as given (e.g. other ranks' RNG states).
    """
    tensors: dict[str, Tensor] = {}
    for prefix, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{prefix}.{key}"] = _to_cpu(value)
    rng_doc, rng_tensors = capture_rng(device)
    tensors.update({k: _to_cpu(v) for k, v in rng_tensors.items()})
    tensors.update({k: _to_cpu(v) for k, v in (extra_tensors or {}).items()})
    doc = {
        "format": STATE_FORMAT,
        "counters": counters.__dict__,
        "sampler": sampler,
        "optimizer": _split_optimizer(optimizer.state_dict(), "optim", tensors),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "rng": rng_doc,
        "modules": sorted(modules),
        "run_info": run_info or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(doc, default=str)})
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass
class LoadedState:
    """A checkpoint read back: the JSON document and the tensors (on the CPU)."""

    doc: dict[str, Any]
    tensors: dict[str, Tensor]

    @property
    def counters(self) -> TrainingState:
        """The saved counters."""
        return TrainingState(**self.doc["counters"])

    @property
    def run_info(self) -> dict[str, Any]:
        """What the caller passed as run info (resolved config, versions, git revision)."""
        info: dict[str, Any] = self.doc.get("run_info", {})
        return info

    def module_state(self, prefix: str) -> dict[str, Tensor]:
        """The ``state_dict`` saved under ``prefix``."""
        start = f"{prefix}."
        return {k[len(start) :]: v for k, v in self.tensors.items() if k.startswith(start)}

    def restore(
        self,
        *,
        modules: dict[str, nn.Module],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler | None,
        device: torch.device,
        restore_rng_states: bool = True,
    ) -> None:
        """Load every saved piece into the live objects."""
        for prefix, module in modules.items():
            module.load_state_dict(self.module_state(prefix))
        optimizer.load_state_dict(_join_optimizer(self.doc["optimizer"], self.tensors))
        scheduler.load_state_dict(self.doc["scheduler"])
        if scaler is not None and self.doc.get("scaler"):
            scaler.load_state_dict(self.doc["scaler"])
        if restore_rng_states:
            restore_rng(self.doc["rng"], self.tensors, device)


def load_training_state(path: Path) -> LoadedState:
    """Read a checkpoint written by :func:`save_training_state` (no unpickling)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training checkpoint to resume from")
    tensors: dict[str, Tensor] = {}
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
        for key in fh.keys():  # noqa: SIM118 - safe_open has no __iter__
            tensors[key] = fh.get_tensor(key)
    if _META_KEY not in meta:
        raise ValueError(f"{path}: not a training checkpoint (model weights only?)")
    doc: dict[str, Any] = json.loads(meta[_META_KEY])
    if doc.get("format") != STATE_FORMAT:
        raise ValueError(f"{path}: checkpoint format {doc.get('format')} is not {STATE_FORMAT}")
    return LoadedState(doc, tensors)
