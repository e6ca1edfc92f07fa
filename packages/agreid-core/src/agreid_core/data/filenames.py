"""File-name grammars of the AG-ReID family.

AG-ReID (v1, v2, challenge 2023): ``P<person>T<MMDD><am/pm>A<altitude>C<camera>F<frame>.jpg``.
The identity is the *concatenation* of the P, T and A digit strings read as one integer
(``P0001T04041A0`` → 1040410), as the official loaders do; summing them is a known mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agreid_core.types import Platform

_AGREID = re.compile(r"^P(\d+)T(\d+)A(\d+)C(\d+)F(\d+)$")

#: AG-ReID camera codes.
AGREID_CAMERAS: dict[int, Platform] = {0: Platform.AERIAL, 2: Platform.WEARABLE, 3: Platform.CCTV}


class FileNameError(ValueError):
    """A file name that does not follow the dataset's grammar."""


@dataclass(frozen=True)
class AGReIDName:
    """The parts of an AG-ReID image name."""

    person: str
    session: str
    altitude: str
    camera: int
    frame: int

    @property
    def identity(self) -> str:
        """The identity string ``P…T…A…`` (the challenge's ``person_id``)."""
        return f"P{self.person}T{self.session}A{self.altitude}"

    @property
    def pid(self) -> int:
        """``int(P + T + A)``: the concatenation, as the official loaders compute it."""
        return int(self.person + self.session + self.altitude)

    @property
    def platform(self) -> Platform:
        """The platform of the camera code."""
        return AGREID_CAMERAS[self.camera]

    @property
    def altitude_level(self) -> int:
        """The altitude code (0 low, 1 medium, 2 high): the last digit of A."""
        return int(self.altitude[-1])


def parse_agreid_name(stem: str) -> AGReIDName:
    """Parse an AG-ReID file stem (no extension); raises :class:`FileNameError`."""
    m = _AGREID.match(stem)
    if m is None:
        raise FileNameError(f"{stem!r} does not match P<digits>T<digits>A<digits>C<digit>F<digits>")
    person, session, altitude, camera, frame = m.groups()
    cam = int(camera)
    if cam not in AGREID_CAMERAS:
        raise FileNameError(
            f"{stem!r}: camera C{camera} is not one of 0 (UAV), 2 (wearable), 3 (CCTV)"
        )
    return AGReIDName(person, session, altitude, cam, int(frame))


# Market-1501: ``<pid>_c<camera>s<sequence>_<frame>_<box>`` (``0002_c1s1_000451_03``).
# pid −1 marks junk boxes and 0 distractors; the camera digit is 1-based (c1 … c6).
_MARKET1501 = re.compile(r"^([-\d]+)_c(\d)s(\d+)_(\d+)_(\d+)$")


@dataclass(frozen=True)
class Market1501Name:
    """The parts of a Market-1501 image name (camera as written, 1-based)."""

    pid: int
    camera: int
    sequence: int
    frame: int
    box: int

    @property
    def camid(self) -> int:
        """The 0-based camera id (``c1`` → 0)."""
        return self.camera - 1

    @property
    def is_junk(self) -> bool:
        """pid −1: a junk box, skipped at load."""
        return self.pid == -1

    @property
    def is_distractor(self) -> bool:
        """pid 0: a distractor, kept in the gallery."""
        return self.pid == 0


def parse_market1501_name(stem: str) -> Market1501Name:
    """Parse a Market-1501 file stem (no extension); raises :class:`FileNameError`."""
    m = _MARKET1501.match(stem)
    if m is None:
        raise FileNameError(f"{stem!r} does not match <pid>_c<camera>s<seq>_<frame>_<box>")
    pid_text, camera, sequence, frame, box = m.groups()
    try:
        pid = int(pid_text)
    except ValueError:
        raise FileNameError(f"{stem!r}: person id {pid_text!r} is not an integer") from None
    if pid < -1:
        raise FileNameError(f"{stem!r}: person id {pid} is below -1 (junk)")
    if camera == "0":
        raise FileNameError(f"{stem!r}: camera c0 (Market-1501 cameras are c1…c6)")
    return Market1501Name(pid, int(camera), int(sequence), int(frame), int(box))


def format_market1501_name(name: Market1501Name) -> str:
    """The file stem of ``name`` as Market-1501 writes it (``0002_c1s1_000451_03``)."""
    pid = "-1" if name.pid == -1 else f"{name.pid:04d}"
    return f"{pid}_c{name.camera}s{name.sequence}_{name.frame:06d}_{name.box:02d}"


# AG-VPReID (CVPR 2025): ``P<person>T<date…>A<altitude>C<camera>E<event>K<keypoint>F<frame>``
# (``P81T2310171A2C2E152K7F7528``), the regex of the SAS ``AGVPReID`` loader. P is a per-day
# person index, not the identity: the identity is the ``{ID}`` folder.
_AGVPREID = re.compile(r"^P(\d+)T(\d+)A(\d+)C(\d+)E(\d+)K(\d+)F(\d+)$")

#: AG-VPReID altitude code → metres (A2/A3 per the VP README; A0/A1 are not stated).
AGVPREID_ALTITUDE_M: dict[int, float] = {2: 80.0, 3: 120.0}


@dataclass(frozen=True)
class AGVPReIDName:
    """The parts of an AG-VPReID frame name."""

    person: int
    date: str
    altitude: int
    camera: int
    event: int
    keypoint: int
    frame: int

    @property
    def altitude_m(self) -> float | None:
        """Flight altitude in metres of the session (A2 → 80, A3 → 120), else None."""
        return AGVPREID_ALTITUDE_M.get(self.altitude)


def parse_agvpreid_name(stem: str) -> AGVPReIDName:
    """Parse an AG-VPReID frame stem (no extension); raises :class:`FileNameError`."""
    m = _AGVPREID.match(stem)
    if m is None:
        raise FileNameError(
            f"{stem!r} does not match P<digits>T<digits>A<digits>C<digits>E<digits>K<digits>F<digits>"
        )
    person, date, altitude, camera, event, keypoint, frame = m.groups()
    return AGVPReIDName(
        int(person), date, int(altitude), int(camera), int(event), int(keypoint), int(frame)
    )


# MARS-style frame names (MARS ``0001C1T0001F001``; G2A-VReID.v2 has a 5-digit pid).
_MARS_FRAME = re.compile(r"F(\d+)$")


def parse_mars_frame(stem: str) -> int | None:
    """The frame number of a MARS-style stem (``…F001`` → 1), None when there is no ``F<digits>``."""
    m = _MARS_FRAME.search(stem)
    return int(m.group(1)) if m else None
