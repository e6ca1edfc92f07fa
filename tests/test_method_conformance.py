"""Every registered first-party method passes the plugin-author conformance check on its
``cpu`` profile: it builds, its model feeds every loss term, the loss is finite with
gradients, and eval mode returns the retrieval embedding."""

from __future__ import annotations

import pytest

from agreid_core.plugins.host import get_host
from agreid_core.testing import check_method

METHODS = sorted(e.name for e in get_host().registries["methods"])
FIRST_PARTY = {
    "bot", "sbs", "mgn", "hrnet18", "swin", "swinv2",
    "lens-ag-net", "centroidnet", "bento", "mfe", "smtl",
    "tf-clip", "x-tfclip", "tfclip-ag-vpreid", "acp-vpreid",
}  # fmt: skip


def test_every_paper_method_is_registered() -> None:
    assert set(METHODS) >= FIRST_PARTY


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.filterwarnings("ignore")
def test_cpu_profile_conforms(name: str) -> None:
    spec = get_host().methods.get(name)
    assert set(spec.profiles) >= {"cpu", "paper"}
    check_method(spec, "cpu")
