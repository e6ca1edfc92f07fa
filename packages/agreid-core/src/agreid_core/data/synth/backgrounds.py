"""Procedural backgrounds: ground scenes seen by CCTV / wearable cameras and ground seen from a UAV.

Every texture is a float RGB array built from a base colour, a smooth low-frequency field,
per-pixel noise and (for paving, walls and roads) joints, bricks or road markings. ``unit`` is
the person's height in pixels so tiles and bricks keep their size relative to the person.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float32]

GROUND_KINDS = ("pavement", "grass", "wall", "asphalt")
AERIAL_KINDS = ("aerial_pavement", "aerial_grass", "aerial_asphalt", "aerial_mixed")


def _smooth(rng: np.random.Generator, h: int, w: int, cells: int, amp: float) -> Array:
    """A smooth random field of roughly ``cells`` blobs across, amplitude ``amp``."""
    ch = max(2, round(cells * h / max(w, h)) + 1)
    cw = max(2, round(cells * w / max(w, h)) + 1)
    small = Image.fromarray(rng.normal(0.0, amp, size=(ch, cw)).astype(np.float32))
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)


def _rgb(base: tuple[float, float, float], field: Array) -> Array:
    return np.stack([field + base[0], field + base[1], field + base[2]], axis=-1).astype(np.float32)


def _grid(h: int, w: int, angle: float, off: tuple[float, float]) -> tuple[Array, Array]:
    """Pixel coordinates rotated by ``angle`` (radians) and shifted by ``off``."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return xx * c + yy * s + np.float32(off[0]), -xx * s + yy * c + np.float32(off[1])


def _joints(u: Array, v: Array, pu: float, pv: float, width: float) -> Array:
    """1 on tile joints of a grid with periods ``pu`` × ``pv``, else 0."""
    ju = np.mod(u, pu) < width
    jv = np.mod(v, pv) < width
    return (ju | jv).astype(np.float32)


def render_background(kind: str, width: int, height: int, seed: int, unit: float) -> Array:
    """A ``height`` × ``width`` × 3 float RGB background of ``kind`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    h, w = max(1, height), max(1, width)
    noise = rng.normal(0.0, 1.0, size=(h, w)).astype(np.float32)
    low = _smooth(rng, h, w, 4, 1.0)
    off = (float(rng.uniform(0, 1000)), float(rng.uniform(0, 1000)))
    if kind == "pavement":
        g = float(rng.uniform(120, 175))
        base = (g + rng.uniform(-6, 6), g, g - rng.uniform(0, 10))
        img = _rgb(base, low * 10 + noise * 7)
        yy = np.arange(h, dtype=np.float32)[:, None] + np.float32(off[1])
        xx = np.arange(w, dtype=np.float32)[None, :] + np.float32(off[0])
        p = float(unit * rng.uniform(0.18, 0.35))
        joint = (np.mod(yy, p * 0.5) < max(1.0, unit * 0.008)) | (
            np.mod(xx + (np.floor(yy / (p * 0.5)) % 2) * p / 2, p) < max(1.0, unit * 0.008)
        )
        img *= (1 - 0.22 * joint.astype(np.float32))[..., None]
        img *= np.linspace(0.9, 1.05, h, dtype=np.float32)[:, None, None]
        return img
    if kind == "grass":
        base = (
            float(rng.uniform(60, 95)),
            float(rng.uniform(105, 140)),
            float(rng.uniform(45, 70)),
        )
        streak = _smooth(rng, h, max(2, w), max(4, int(w / max(2.0, unit * 0.02))), 1.0)
        img = _rgb(base, low * 14 + noise * 16 + streak * 8)
        img[..., 1] += noise * 6
        return img
    if kind == "wall":
        horizon = int(h * rng.uniform(0.55, 0.85))
        wall = (
            float(rng.uniform(140, 215)),
            float(rng.uniform(120, 200)),
            float(rng.uniform(100, 190)),
        )
        img = _rgb(wall, low * 8 + noise * 5)
        if rng.random() < 0.5:  # bricks
            yy = np.arange(h, dtype=np.float32)[:, None] + np.float32(off[1])
            xx = np.arange(w, dtype=np.float32)[None, :] + np.float32(off[0])
            bh = float(unit * rng.uniform(0.035, 0.06))
            row = np.floor(yy / bh)
            mortar = (np.mod(yy, bh) < max(1.0, bh * 0.15)) | (
                np.mod(xx + (row % 2) * bh * 1.5, bh * 3) < max(1.0, bh * 0.15)
            )
            img *= (1 - 0.25 * mortar.astype(np.float32))[..., None]
        img *= np.linspace(1.05, 0.92, h, dtype=np.float32)[:, None, None]
        floor = float(rng.uniform(90, 150))
        img[horizon:] = _rgb((floor, floor, floor - 5), low[horizon:] * 8 + noise[horizon:] * 6)
        img[horizon : horizon + max(1, int(unit * 0.01))] *= 0.6
        return img
    if kind == "asphalt":
        g = float(rng.uniform(65, 105))
        return _rgb((g, g, g + 3), low * 8 + noise * 11)
    # ---- seen from above --------------------------------------------------------------------
    angle = float(rng.uniform(0, np.pi))
    u, v = _grid(h, w, angle, off)
    if kind == "aerial_pavement":
        g = float(rng.uniform(130, 185))
        img = _rgb((g + 4, g, g - 8), low * 12 + noise * 8)
        p = float(unit * rng.uniform(0.12, 0.3))
        img *= (1 - 0.18 * _joints(u, v, p, p, max(1.0, unit * 0.012)))[..., None]
        return img
    if kind == "aerial_grass":
        base = (float(rng.uniform(55, 90)), float(rng.uniform(95, 135)), float(rng.uniform(40, 65)))
        img = _rgb(base, low * 22 + noise * 14)
        return img
    if kind == "aerial_asphalt":
        g = float(rng.uniform(60, 100))
        img = _rgb((g, g, g + 4), low * 8 + noise * 10)
        line_w = unit * 0.05
        stripe = (np.abs(np.mod(u, unit * 2.5) - unit) < line_w) & (
            np.mod(v, unit * 0.9) < unit * 0.55
        )
        paint = (235.0, 235.0, 230.0) if rng.random() < 0.7 else (230.0, 200.0, 60.0)
        img[stripe] = np.asarray(paint, dtype=np.float32) + noise[stripe, None] * 6
        return img
    grass = _rgb((70.0, 118.0, 55.0), low * 20 + noise * 14)
    g = float(rng.uniform(140, 190))
    pave = _rgb((g, g - 4, g - 12), low * 10 + noise * 7)
    edge = u - np.float32(off[0]) - np.float32(rng.uniform(0.2, 0.8) * w)
    return np.where((edge > 0)[..., None], pave, grass).astype(np.float32)
