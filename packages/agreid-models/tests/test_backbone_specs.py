"""BACKBONE_SPECS: lazy imports, the expected names, every tiny config conforms."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agreid_core.testing import check_backbone
from agreid_models.backbones.specs import BACKBONE_SPECS

NAMES = [
    "resnet50-ibn-a",
    "resnet101-ibn-a",
    "osnet-x1-0",
    "hrnet-w18",
    "swin-b",
    "swinv2-b",
    "vit-b16-s12",
    "clip-vit-b16",
    "eva-clip-l14",
]


def test_names() -> None:
    assert sorted(BACKBONE_SPECS) == sorted(NAMES)
    assert all(spec.summary and spec.reference for spec in BACKBONE_SPECS.values())


def test_importing_specs_imports_no_timm_and_no_model_file() -> None:
    code = (
        "import sys, agreid_models.backbones.specs as s; "
        "bad = [m for m in sys.modules if m == 'timm' or m.startswith('agreid_models.backbones.')"
        " and m != 'agreid_models.backbones.specs']; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", NAMES)
def test_tiny_config_conforms(name: str) -> None:
    model = check_backbone(BACKBONE_SPECS[name])
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < 25_000_000, f"{name} tiny config has {n_params} parameters"
