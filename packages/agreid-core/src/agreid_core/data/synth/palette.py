"""Colours of the synthetic world: garment palette, skin tones and hair colours.

Garment colours come from a deliberately small palette of named colours, so that many
identities wear the same colours and colour alone cannot tell people apart.
"""

from __future__ import annotations

import numpy as np

RGB = tuple[int, int, int]

#: The named garment palette.
PALETTE: dict[str, RGB] = {
    "black": (32, 32, 34),
    "white": (232, 232, 228),
    "gray": (128, 128, 132),
    "navy": (36, 46, 92),
    "blue": (52, 102, 188),
    "red": (182, 38, 44),
    "green": (48, 118, 62),
    "yellow": (222, 192, 56),
    "khaki": (168, 150, 106),
    "pink": (222, 142, 170),
    "purple": (108, 62, 138),
    "brown": (108, 70, 46),
}
COLOR_NAMES: tuple[str, ...] = tuple(PALETTE)

#: How often each palette colour is drawn for tops and for bottoms (same order as PALETTE).
UPPER_WEIGHTS = (16, 13, 10, 10, 10, 8, 6, 5, 5, 6, 4, 6)
LOWER_WEIGHTS = (25, 4, 12, 15, 18, 3, 3, 1, 10, 2, 1, 6)
#: Colours that denim comes in.
DENIM = ("blue", "navy", "black", "gray")

#: Skin tone ranges (two ends of a line in RGB) per ``ethnic`` code 0..3.
SKIN_TONES: dict[int, tuple[RGB, RGB]] = {
    0: ((238, 206, 184), (218, 178, 150)),
    1: ((122, 84, 62), (78, 52, 38)),
    2: ((232, 198, 160), (206, 166, 126)),
    3: ((176, 126, 92), (140, 98, 70)),
}

#: Hair colour per ``haircolor`` code 0..4.
HAIR_COLORS: dict[int, RGB] = {
    0: (26, 22, 20),
    1: (98, 62, 36),
    2: (226, 224, 216),
    3: (164, 74, 38),
    4: (142, 140, 136),
}


def jitter(rng: np.random.Generator, color: RGB, amount: int) -> RGB:
    """``color`` with every channel moved by up to ``amount`` (clipped to 0..255)."""
    d = rng.integers(-amount, amount + 1, size=3)
    r, g, b = (min(255, max(0, c + int(x))) for c, x in zip(color, d, strict=True))
    return (r, g, b)


def shade(color: RGB, factor: float) -> RGB:
    """``color`` scaled by ``factor`` (below 1 darker, above 1 lighter), clipped."""
    r, g, b = (min(255, max(0, round(c * factor))) for c in color)
    return (r, g, b)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours: ``t`` = 0 gives ``a``, 1 gives ``b``."""
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def pick_color(
    rng: np.random.Generator, weights: tuple[int, ...], exclude: tuple[str, ...] = ()
) -> str:
    """A palette colour name drawn with ``weights``, never one of ``exclude``."""
    w = np.array(
        [0.0 if n in exclude else float(x) for n, x in zip(COLOR_NAMES, weights, strict=True)]
    )
    return COLOR_NAMES[int(rng.choice(len(COLOR_NAMES), p=w / w.sum()))]
