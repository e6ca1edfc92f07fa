"""MODULE_SPECS: lazy imports, names, every tiny config builds."""

from __future__ import annotations

import subprocess
import sys

import pytest
from torch import nn

from agreid_video.modules.specs import MODULE_SPECS

NAMES = [
    "tfclip-ssp",
    "tfclip-tmd",
    "frame-camera-embedding",
    "memory-alpha-fusion",
    "view-encoders",
    "view-memory-diffusion",
    "motion-gating",
    "scale-adaptive-norm",
    "view-prompt-transformer",
]


def test_names_and_documentation() -> None:
    assert sorted(MODULE_SPECS) == sorted(NAMES)
    assert all(spec.summary and spec.reference for spec in MODULE_SPECS.values())


def test_importing_specs_imports_no_module_file() -> None:
    code = (
        "import sys, agreid_video.modules.specs; "
        "bad = [m for m in sys.modules if m.startswith('agreid_video.modules.')"
        " and m != 'agreid_video.modules.specs']; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", NAMES)
def test_tiny_builds(name: str) -> None:
    module = MODULE_SPECS[name].build(**MODULE_SPECS[name].tiny)
    assert isinstance(module, nn.Module)
    assert sum(p.numel() for p in module.parameters()) < 100_000
