"""Property tests of the AG-VPReID and MARS-style frame-name parsers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreid_core.data.filenames import FileNameError, parse_agvpreid_name, parse_mars_frame

num = st.integers(0, 10**6)


@given(
    p=num,
    t=st.text("0123456789", min_size=1, max_size=8),
    a=st.integers(0, 9),
    c=num,
    e=num,
    k=num,
    f=num,
)
def test_agvpreid_round_trip(p: int, t: str, a: int, c: int, e: int, k: int, f: int) -> None:
    name = parse_agvpreid_name(f"P{p}T{t}A{a}C{c}E{e}K{k}F{f}")
    assert (
        name.person,
        name.date,
        name.altitude,
        name.camera,
        name.event,
        name.keypoint,
        name.frame,
    ) == (
        p,
        t,
        a,
        c,
        e,
        k,
        f,
    )
    assert name.altitude_m == {2: 80.0, 3: 120.0}.get(a)


def test_agvpreid_example_from_the_dataset_issue() -> None:
    name = parse_agvpreid_name("P81T2310171A2C2E152K7F7528")
    assert (name.person, name.altitude, name.camera, name.frame, name.altitude_m) == (
        81,
        2,
        2,
        7528,
        80.0,
    )


@given(st.text(alphabet="PTACEKF0123456789x", max_size=30))
def test_agvpreid_rejects_with_the_name_or_parses(text: str) -> None:
    try:
        name = parse_agvpreid_name(text)
    except FileNameError as exc:
        assert repr(text) in str(exc)
    else:
        assert text.endswith(f"F{text.rsplit('F', 1)[1]}") and name.frame == int(
            text.rsplit("F", 1)[1]
        )


@given(
    pid=st.integers(0, 99999), cam=st.integers(1, 6), t=st.integers(0, 9999), f=st.integers(0, 999)
)
def test_mars_frame_round_trip(pid: int, cam: int, t: int, f: int) -> None:
    assert parse_mars_frame(f"{pid:04d}C{cam}T{t:04d}F{f:03d}") == f


@pytest.mark.parametrize("stem", ["0001C1T0001", "", "F"])
def test_mars_frame_absent(stem: str) -> None:
    assert parse_mars_frame(stem) is None
