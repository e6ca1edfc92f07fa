"""HEAD_SPECS: lazy factories and tiny builds that run."""

from __future__ import annotations

import subprocess
import sys

import torch

from agreid_models.heads.specs import HEAD_SPECS


def test_importing_specs_imports_neither_timm_nor_head_modules() -> None:
    code = (
        "import sys; import agreid_models.heads.specs as s; "
        "bad = [m for m in ('timm', 'agreid_models.heads.mgn', "
        "'agreid_models.heads.spatial_attention') if m in sys.modules]; "
        "assert not bad, bad; print(sorted(s.HEAD_SPECS))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "mgn" in result.stdout


def test_names_and_tiny_builds() -> None:
    assert set(HEAD_SPECS) == {
        "mgn",
        "attribute-head",
        "spatial-attention",
        "spatial-channel-attention",
    }
    for spec in HEAD_SPECS.values():
        assert spec.tiny and spec.summary and spec.reference

    mgn = HEAD_SPECS["mgn"].build(**HEAD_SPECS["mgn"].tiny).eval()
    with torch.no_grad():
        out = mgn(torch.randn(1, 3, 64, 32))
    assert out["embedding"].shape == (1, 8 * 16)
    assert out["logits_p3_2"].shape == (1, 4)

    attr = HEAD_SPECS["attribute-head"].build(**HEAD_SPECS["attribute-head"].tiny)
    assert attr(torch.randn(2, 8))["attr_logits"].shape == (2, 93)

    sa = HEAD_SPECS["spatial-attention"].build(**HEAD_SPECS["spatial-attention"].tiny)
    assert sa(torch.randn(2, 8, 4, 2))["features"].shape == (2, 8)

    sca = HEAD_SPECS["spatial-channel-attention"].build(
        **HEAD_SPECS["spatial-channel-attention"].tiny
    )
    assert sca(torch.randn(2, 16, 4, 2)).shape == (2, 16, 4, 2)
