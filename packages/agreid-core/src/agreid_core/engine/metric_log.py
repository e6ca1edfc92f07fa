"""The training log: one JSON line per step (and per validation), mirrored to TensorBoard.

``train_log.jsonl`` is always written. When the ``tensorboard`` package is installed, the
same scalars also go to ``<run>/tensorboard/`` (``tensorboard --logdir runs``), keyed by the
record's ``step``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any


class MetricLog:
    """Append-only JSON-lines log with an optional TensorBoard mirror."""

    def __init__(self, path: Path, tensorboard: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a")
        self._writer: Any = None
        if tensorboard and importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(path.parent / "tensorboard"))

    @property
    def tensorboard(self) -> bool:
        """Whether records are mirrored to TensorBoard."""
        return self._writer is not None

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one JSON line (flushed) and its numbers as scalars."""
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._writer is not None:
            step = int(record.get("step", 0))
            for key, value in record.items():
                if key not in ("step", "epoch") and isinstance(value, int | float):
                    self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        """Close the file (and the TensorBoard writer)."""
        self._file.close()
        if self._writer is not None:
            self._writer.close()
