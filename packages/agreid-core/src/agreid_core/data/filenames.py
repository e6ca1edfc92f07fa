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
