"""Camera views: what one synthetic image looks like apart from the person drawn in it.

A *tracklet* is one pass of a person through a camera (one walking direction, one background,
one lighting); its frames jitter pose, scale, position and image quality around it. Platforms:

* ``cctv``: ground camera at about 3 m, nearly level (small tilt), person 60–200 px tall;
* ``wearable``: smart glasses at eye height, close (150–300 px), often occluded or cut off;
* ``aerial``: UAV at altitude level 0/1/2 (15/30/45 m), oblique to near top-down (large tilt),
  small (20–80 px), rotated in the image plane, blurred and low-resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agreid_core.types import Platform

FACINGS = ("front", "back", "left", "right")

#: Tilt range (0 level camera … 1 straight down) per altitude level.
AERIAL_TILT = {0: (0.35, 0.6), 1: (0.5, 0.75), 2: (0.62, 0.88)}
#: Part of the aerial person-height range used at each altitude level (higher is smaller).
AERIAL_HEIGHT_PART = {0: (0.45, 1.0), 1: (0.2, 0.7), 2: (0.0, 0.4)}
#: Facings a walking person turns to now and then.
NEIGHBOURS = {
    "front": ("left", "right"),
    "back": ("left", "right"),
    "left": ("front", "back"),
    "right": ("front", "back"),
}


@dataclass(frozen=True)
class Tracklet:
    """Per-pass settings shared by the frames of one tracklet."""

    platform: Platform
    altitude_level: int
    facing: str
    tilt: float
    height: float
    height_range: tuple[float, float]
    background: str
    background_seed: int
    gain: float
    cast: tuple[float, float, float]
    saturation: float
    sun_angle: float
    first_frame: int
    frame_step: int


@dataclass(frozen=True)
class ViewSpec:
    """Everything that decides one image apart from the identity.

    Lengths are in output pixels unless said otherwise; ``margins`` are (left, top, right,
    bottom) fractions of the person box; ``occluder`` is (x0, y0, x1, y1) as fractions of the
    crop plus an RGB colour; ``bottom_cut`` is the fraction of the crop height cut off.
    """

    platform: Platform
    facing: str
    tilt: float
    phase: float
    height: float
    supersample: int
    rotation: float
    margins: tuple[float, float, float, float]
    background: str
    background_seed: int
    shadow: tuple[float, float]  # (angle in degrees, strength 0..1)
    gain: float
    contrast: float
    cast: tuple[float, float, float]
    saturation: float
    noise: float
    blur: float
    motion_blur: int
    motion_angle: float
    lowres: float
    haze: float
    jpeg_quality: int
    occluder: tuple[float, float, float, float, tuple[int, int, int]] | None
    bottom_cut: float


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def sample_tracklet(
    rng: np.random.Generator,
    platform: Platform,
    altitude_level: int,
    first_frame: int,
    height_range: tuple[float, float],
) -> Tracklet:
    """Draw the settings of one pass of a person through a camera of ``platform``.

    ``height_range`` bounds the person's height in output pixels (before the UAV's
    foreshortening); a UAV at a higher altitude level draws from a lower part of it.
    """
    lo, hi = height_range
    if platform is Platform.AERIAL:
        facing = FACINGS[int(rng.integers(0, 4))]
        tilt = _u(rng, *AERIAL_TILT[altitude_level])
        a, b = AERIAL_HEIGHT_PART[altitude_level]
        height = _u(rng, lo + a * (hi - lo), lo + b * (hi - lo))
        background = ("aerial_pavement", "aerial_grass", "aerial_asphalt", "aerial_mixed")[
            int(rng.integers(0, 4))
        ]
        gain = _u(rng, 0.85, 1.3)
        cast = (_u(rng, 0.95, 1.08), _u(rng, 0.97, 1.05), _u(rng, 0.9, 1.05))
        saturation = _u(rng, 0.7, 1.05)
        step = int(rng.integers(8, 40))
    elif platform is Platform.CCTV:
        facing = FACINGS[int(rng.choice(4, p=[0.35, 0.35, 0.15, 0.15]))]
        tilt = _u(rng, 0.04, 0.18)
        height = _u(rng, lo, hi)
        background = ("pavement", "grass", "wall", "asphalt")[int(rng.integers(0, 4))]
        gain = _u(rng, 0.65, 1.15)
        cast = (_u(rng, 0.92, 1.08), _u(rng, 0.95, 1.05), _u(rng, 0.88, 1.1))
        saturation = _u(rng, 0.75, 1.15)
        step = int(rng.integers(3, 15))
    else:
        facing = FACINGS[int(rng.choice(4, p=[0.4, 0.3, 0.15, 0.15]))]
        tilt = _u(rng, 0.0, 0.08)
        height = _u(rng, lo, hi)
        background = ("pavement", "grass", "wall", "asphalt")[int(rng.integers(0, 4))]
        gain = _u(rng, 0.75, 1.2)
        cast = (_u(rng, 0.95, 1.06), _u(rng, 0.96, 1.04), _u(rng, 0.92, 1.06))
        saturation = _u(rng, 0.85, 1.2)
        step = int(rng.integers(2, 10))
    return Tracklet(
        platform=platform,
        altitude_level=altitude_level,
        facing=facing,
        tilt=tilt,
        height=height,
        height_range=height_range,
        background=background,
        background_seed=int(rng.integers(0, 2**31 - 1)),
        gain=gain,
        cast=cast,
        saturation=saturation,
        sun_angle=_u(rng, 0.0, 360.0),
        first_frame=first_frame,
        frame_step=step,
    )


def sample_view(
    rng: np.random.Generator, track: Tracklet, height_factor: float, frame_index: int
) -> ViewSpec:
    """Draw frame ``frame_index`` of ``track`` for a person of ``height_factor``."""
    p = track.platform
    phase = _u(rng, 0.0, 2 * np.pi)
    facing = track.facing
    if rng.random() < 0.12:  # the person turns now and then
        facing = NEIGHBOURS[facing][int(rng.integers(0, 2))]
    lo, hi = track.height_range
    occluder: tuple[float, float, float, float, tuple[int, int, int]] | None = None
    bottom_cut = 0.0
    if p is Platform.AERIAL:
        level = track.altitude_level
        tilt = float(np.clip(track.tilt + rng.normal(0, 0.04), 0.15, 0.9))
        height = float(np.clip(track.height * height_factor * _u(rng, 0.88, 1.12), lo, hi))
        rotation = float(rng.normal(0, 14.0))
        rotation = float(np.clip(rotation, -32, 32))
        supersample = 3
        noise = _u(rng, 2.0, 6.0)
        blur = _u(rng, 0.2, 0.8 + 0.3 * level)
        motion = int(rng.integers(2, 5)) if rng.random() < 0.35 else 0
        lowres = _u(rng, 1.2, 2.0 + 0.5 * level)
        haze = _u(rng, 0.0, 0.12 + 0.06 * level)
        quality = int(rng.integers(55, 90))
        shadow = (track.sun_angle + float(rng.normal(0, 5)), _u(rng, 0.25, 0.55))
        contrast = _u(rng, 0.75, 1.05)
    else:
        tilt = float(np.clip(track.tilt + rng.normal(0, 0.02), 0.0, 0.3))
        height = float(np.clip(track.height * height_factor * _u(rng, 0.9, 1.1), lo, hi))
        rotation = float(rng.normal(0, 1.5))
        supersample = 2
        noise = _u(rng, 1.0, 4.0)
        blur = _u(rng, 0.0, 0.7)
        motion = 0
        lowres = 1.0 if rng.random() < 0.7 else _u(rng, 1.0, 1.6)
        haze = 0.0
        quality = int(rng.integers(70, 96))
        shadow = (90.0 + float(rng.normal(0, 20)), _u(rng, 0.15, 0.35))
        contrast = _u(rng, 0.85, 1.15)
        if p is Platform.WEARABLE:
            if rng.random() < 0.45:
                x0 = _u(rng, -0.2, 0.7)
                y0 = _u(rng, 0.2, 0.8)
                color = tuple(int(c) for c in rng.integers(20, 220, size=3))
                occluder = (
                    x0,
                    y0,
                    x0 + _u(rng, 0.25, 0.6),
                    y0 + _u(rng, 0.2, 0.6),
                    (color[0], color[1], color[2]),
                )
            if rng.random() < 0.4:
                bottom_cut = _u(rng, 0.1, 0.35)
    if p is Platform.AERIAL:
        margins = (_u(rng, 0.03, 0.2), _u(rng, 0.03, 0.18), _u(rng, 0.03, 0.2), _u(rng, 0.03, 0.18))
    else:
        margins = (_u(rng, 0.04, 0.2), _u(rng, 0.02, 0.1), _u(rng, 0.04, 0.2), _u(rng, 0.02, 0.08))
    return ViewSpec(
        platform=p,
        facing=facing,
        tilt=tilt,
        phase=phase,
        height=height,
        supersample=supersample,
        rotation=rotation,
        margins=margins,
        background=track.background,
        background_seed=track.background_seed + 7919 * frame_index,
        shadow=shadow,
        gain=track.gain * _u(rng, 0.92, 1.08),
        contrast=contrast,
        cast=track.cast,
        saturation=track.saturation,
        noise=noise,
        blur=blur,
        motion_blur=motion,
        motion_angle=_u(rng, 0.0, 180.0),
        lowres=lowres,
        haze=haze,
        jpeg_quality=quality,
        occluder=occluder,
        bottom_cut=bottom_cut,
    )
