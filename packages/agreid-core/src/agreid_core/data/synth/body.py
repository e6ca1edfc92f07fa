"""Drawing one person as a flat figure on a transparent layer (PIL.ImageDraw).

The figure is built from simple shapes: head (skin, hair, hat, face, glasses, beard), neck,
torso (garment colour, pattern and garment details), arms, legs (garment or skin), shoes and a
bag. ``facing`` is ``front`` / ``back`` / ``left`` / ``right``: the face, glasses, beard, logo
and backpack straps show from the front, the back of the head, hood, ponytail and backpack from
the back, a profile with one near and one far (darker) limb from the side. ``tilt`` (0 level
camera … 1 straight down) foreshortens the body, legs most, shows more of the crown and the tops
of the shoulders, and enlarges what is nearer the camera (head, shoulders), as a UAV sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageOps

from agreid_core.data.synth.attributes import ATTRIBUTE_FIELDS, Identity
from agreid_core.data.synth.palette import RGB, shade

Point = tuple[float, float]
_GENDER = ATTRIBUTE_FIELDS.index("gender")
_DARK: RGB = (22, 20, 24)


@dataclass(frozen=True)
class Figure:
    """A drawn person: the RGBA layer, the point between the feet and the shoulder width."""

    layer: Image.Image
    foot: Point
    width: float


@dataclass(frozen=True)
class _Geo:
    """Vertical landmarks and widths of the figure, in layer pixels."""

    u: float
    cx: float
    tilt: float
    head_top: float
    head_h: float
    head_w: float
    chin: float
    shoulder: float
    waist: float
    hip: float
    knee: float
    ankle: float
    ground: float
    sw: float
    waist_w: float
    hip_w: float
    arm_w: float
    fore_w: float
    hand_w: float
    thigh_w: float
    shin_w: float
    ankle_w: float
    upper_arm: float
    forearm: float
    thigh_len: float
    shin_len: float


def _limb(d: ImageDraw.ImageDraw, p0: Point, p1: Point, w0: float, w1: float, fill: RGB) -> None:
    """A tapered capsule from ``p0`` (width ``w0``) to ``p1`` (width ``w1``)."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    n = math.hypot(dx, dy) or 1e-6
    nx, ny = -dy / n, dx / n
    d.polygon(
        [
            (p0[0] + nx * w0 / 2, p0[1] + ny * w0 / 2),
            (p1[0] + nx * w1 / 2, p1[1] + ny * w1 / 2),
            (p1[0] - nx * w1 / 2, p1[1] - ny * w1 / 2),
            (p0[0] - nx * w0 / 2, p0[1] - ny * w0 / 2),
        ],
        fill=fill,
    )
    d.ellipse([p0[0] - w0 / 2, p0[1] - w0 / 2, p0[0] + w0 / 2, p0[1] + w0 / 2], fill=fill)
    d.ellipse([p1[0] - w1 / 2, p1[1] - w1 / 2, p1[0] + w1 / 2, p1[1] + w1 / 2], fill=fill)


def _lerp(a: Point, b: Point, t: float) -> Point:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _box(cx: float, cy: float, w: float, h: float) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def _chord_top(d: ImageDraw.ImageDraw, box: list[float], frac: float, fill: RGB) -> None:
    """Fill the top ``frac`` (0..1) of the ellipse in ``box``."""
    if frac <= 0:
        return
    if frac >= 0.999:
        d.ellipse(box, fill=fill)
        return
    s = max(-0.999, min(0.999, 2 * frac - 1))
    a = math.degrees(math.asin(s))
    d.chord(box, 180 - a, 360 + a, fill=fill)


def _chord_bottom(d: ImageDraw.ImageDraw, box: list[float], frac: float, fill: RGB) -> None:
    """Fill the bottom ``frac`` (0..1) of the ellipse in ``box``."""
    if frac <= 0:
        return
    s = max(-0.999, min(0.999, 1 - 2 * frac))
    a = math.degrees(math.asin(s))
    d.chord(box, a, 180 - a, fill=fill)


def _geometry(person: Identity, tilt: float, u: float, cx: float) -> _Geo:
    t = tilt
    hs = person.head_scale
    wf = person.width_factor / math.sqrt(person.height_factor)
    female = person.attributes[_GENDER] == 1
    fh, ft, fl = 1 - 0.12 * t, 1 - 0.55 * t, 1 - 0.75 * t
    seg = {
        "head": 0.125 * hs,
        "neck": 0.025,
        "torso": 0.30,
        "thigh": 0.245,
        "shin": 0.235,
        "foot": 0.035,
    }
    k = u / sum(seg.values())
    head_top = 0.16 * u
    head_h = seg["head"] * k * fh * (1 + 0.15 * t)
    chin = head_top + head_h
    shoulder = chin + seg["neck"] * k * ft
    hip = shoulder + seg["torso"] * k * ft
    knee = hip + seg["thigh"] * k * fl
    ankle = knee + seg["shin"] * k * fl
    ground = ankle + seg["foot"] * k * fl
    p_head, p_sh, p_leg = 1 + 0.3 * t, 1 + 0.15 * t, 1 - 0.1 * t
    return _Geo(
        u=u,
        cx=cx,
        tilt=t,
        head_top=head_top,
        head_h=head_h,
        head_w=0.1 * u * hs * p_head,
        chin=chin,
        shoulder=shoulder,
        waist=shoulder + 0.62 * (hip - shoulder),
        hip=hip,
        knee=knee,
        ankle=ankle,
        ground=ground,
        sw=0.25 * u * wf * p_sh * (0.93 if female else 1.0),
        waist_w=0.185 * u * wf * (0.88 if female else 1.0),
        hip_w=0.2 * u * wf * (1.06 if female else 1.0),
        arm_w=0.055 * u * math.sqrt(wf) * p_sh,
        fore_w=0.045 * u * math.sqrt(wf),
        hand_w=0.042 * u,
        thigh_w=0.09 * u * wf * p_leg,
        shin_w=0.062 * u * math.sqrt(wf) * p_leg,
        ankle_w=0.046 * u * p_leg,
        upper_arm=0.175 * k * ft,
        forearm=0.16 * k * ft,
        thigh_len=seg["thigh"] * k,
        shin_len=seg["shin"] * k,
    )


# ---- garments ------------------------------------------------------------------------------


def _pattern(layer: Image.Image, poly: list[Point], person: Identity, g: _Geo) -> None:
    """Stripes or checks of the person's pattern colour, clipped to ``poly``."""
    if person.pattern not in ("hstripes", "vstripes", "checks"):
        return
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    x0, y0 = int(min(xs)), int(min(ys))
    w, h = int(max(xs)) - x0 + 2, int(max(ys)) - y0 + 2
    if w < 2 or h < 2:
        return
    clip = Image.new("L", (w, h), 0)
    ImageDraw.Draw(clip).polygon([(x - x0, y - y0) for x, y in poly], fill=255)
    pm = Image.new("L", (w, h), 0)
    pd = ImageDraw.Draw(pm)
    px = max(2.0, person.pattern_period * g.u)
    py = max(2.0, px * (1 - 0.5 * g.tilt))
    if person.pattern == "hstripes":
        y = 0.0
        while y < h:
            pd.rectangle([0, y, w, y + py * 0.45], fill=255)
            y += py
    elif person.pattern == "vstripes":
        x = 0.0
        while x < w:
            pd.rectangle([x, 0, x + px * 0.4, h], fill=255)
            x += px
    else:
        y, j = 0.0, 0
        while y < h:
            x, i = 0.0, 0
            while x < w:
                if (i + j) % 2 == 0:
                    pd.rectangle([x, y, x + px * 0.75, y + py * 0.75], fill=255)
                x += px * 0.75
                i += 1
            y += py * 0.75
            j += 1
    layer.paste(person.pattern_color, (x0, y0, x0 + w, y0 + h), ImageChops.multiply(clip, pm))


def _logo(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float) -> None:
    if person.pattern != "logo":
        return
    s = 0.07 * g.u
    cy = g.shoulder + 0.3 * (g.hip - g.shoulder)
    sy = s * (1 - 0.4 * g.tilt)
    c = person.pattern_color
    if person.logo_shape == "circle":
        d.ellipse(_box(cx, cy, s, sy), fill=c)
    elif person.logo_shape == "square":
        d.rectangle(_box(cx, cy, s, sy), fill=c)
    elif person.logo_shape == "triangle":
        d.polygon([(cx - s / 2, cy + sy / 2), (cx + s / 2, cy + sy / 2), (cx, cy - sy / 2)], fill=c)
    else:
        d.rectangle(_box(cx, cy, s * 1.6, sy * 0.45), fill=c)


def _torso_poly(g: _Geo, front_back: bool, person: Identity) -> list[Point]:
    cx = g.cx
    bottom = g.hip
    bottom_w = g.hip_w
    if person.upper_type == "coat":
        bottom = g.hip + 0.45 * (g.knee - g.hip)
        bottom_w = g.hip_w * 1.18
    elif person.upper_type in ("suit", "cardigan", "hoodie", "sweater"):
        bottom = g.hip + 0.06 * (g.knee - g.hip)
        bottom_w = g.hip_w * 1.04
    if front_back:
        top = g.shoulder + 0.01 * g.u
        return [
            (cx - g.sw / 2, top),
            (cx + g.sw / 2, top),
            (cx + g.waist_w / 2, g.waist),
            (cx + bottom_w / 2, bottom),
            (cx - bottom_w / 2, bottom),
            (cx - g.waist_w / 2, g.waist),
        ]
    wf = person.width_factor
    depth = 0.13 * g.u * wf
    belly = 0.13 * g.u * wf**1.6
    top = g.shoulder + 0.005 * g.u
    return [
        (cx - depth * 0.5, top),
        (cx + depth * 0.45, top),
        (cx + depth * 0.55, g.shoulder + 0.25 * (g.hip - g.shoulder)),
        (cx + belly * 0.55, g.waist),
        (cx + depth * 0.5, bottom),
        (cx - depth * 0.55, bottom),
        (cx - depth * 0.45, g.waist),
    ]


def _draw_torso(
    layer: Image.Image, d: ImageDraw.ImageDraw, person: Identity, g: _Geo, view: str
) -> None:
    front_back = view in ("front", "back")
    poly = _torso_poly(g, front_back, person)
    up = person.upper_color
    d.polygon(poly, fill=up)
    if front_back:
        for sgn in (-1, 1):  # round shoulders
            d.ellipse(
                _box(
                    g.cx + sgn * (g.sw / 2 - g.arm_w * 0.45),
                    g.shoulder + g.arm_w * 0.5,
                    g.arm_w * 1.1,
                    g.arm_w,
                ),
                fill=up,
            )
        # light from the upper left: the right flank is a little darker
        x_mid = g.cx + g.waist_w * 0.22
        d.polygon(
            [
                (x_mid, poly[1][1]),
                poly[1],
                poly[2],
                poly[3],
                (x_mid + (poly[3][0] - poly[2][0]) * 0.5, poly[3][1]),
            ],
            fill=shade(up, 0.88),
        )
    _pattern(layer, poly, person, g)
    cx = g.cx
    top = g.shoulder + 0.01 * g.u
    torso_h = g.hip - g.shoulder
    ut = person.upper_type
    if view == "front":
        _logo(d, person, g, cx - 0.15 * g.sw if person.logo_shape == "bar" else cx)
        neck_w = 0.06 * g.u
        if ut in ("T-shirt", "blouse", "dress", "sweater"):
            _chord_bottom(d, _box(cx, top, neck_w, neck_w * 0.8), 0.5, person.skin)
        if ut == "suit":
            d.polygon(
                [(cx - 0.07 * g.u, top), (cx + 0.07 * g.u, top), (cx, top + 0.45 * torso_h)],
                fill=person.inner_color,
            )
            d.polygon(
                [
                    (cx - 0.01 * g.u, top + 0.02 * g.u),
                    (cx + 0.01 * g.u, top + 0.02 * g.u),
                    (cx, top + 0.4 * torso_h),
                ],
                fill=person.pattern_color,
            )
        elif ut == "cardigan":
            d.polygon(
                [
                    (cx - 0.05 * g.u, top),
                    (cx + 0.05 * g.u, top),
                    (cx + 0.03 * g.u, g.hip),
                    (cx - 0.03 * g.u, g.hip),
                ],
                fill=person.inner_color,
            )
        elif ut == "shirt":
            c = shade(up, 1.35)
            d.polygon(
                [
                    (cx - 0.045 * g.u, top),
                    (cx, top + 0.035 * g.u),
                    (cx - 0.01 * g.u, top + 0.045 * g.u),
                ],
                fill=c,
            )
            d.polygon(
                [
                    (cx + 0.045 * g.u, top),
                    (cx, top + 0.035 * g.u),
                    (cx + 0.01 * g.u, top + 0.045 * g.u),
                ],
                fill=c,
            )
            d.line(
                [(cx, top + 0.04 * g.u), (cx, g.hip)],
                fill=shade(up, 0.7),
                width=max(1, int(0.006 * g.u)),
            )
        elif ut == "hoodie":
            d.rectangle(
                [cx - 0.06 * g.u, g.waist, cx + 0.06 * g.u, g.waist + 0.22 * torso_h],
                fill=shade(up, 0.8),
            )
            d.line(
                [(cx - 0.02 * g.u, top), (cx - 0.02 * g.u, top + 0.25 * torso_h)],
                fill=_DARK,
                width=max(1, int(0.005 * g.u)),
            )
            d.line(
                [(cx + 0.02 * g.u, top), (cx + 0.02 * g.u, top + 0.25 * torso_h)],
                fill=_DARK,
                width=max(1, int(0.005 * g.u)),
            )
        elif ut == "uniform":
            d.rectangle(
                _box(cx - 0.25 * g.sw, top + 0.25 * torso_h, 0.03 * g.u, 0.035 * g.u),
                fill=(214, 184, 64),
            )
    if view == "back" and ut == "hoodie":
        d.ellipse(_box(cx, top + 0.14 * torso_h, 0.55 * g.sw, 0.3 * torso_h), fill=shade(up, 0.82))
    if ut == "sweater" or ut == "hoodie":
        b = poly[3][1] if front_back else poly[4][1]
        d.rectangle(
            [min(p[0] for p in poly), b - 0.03 * g.u, max(p[0] for p in poly), b],
            fill=shade(up, 0.82),
        )
    if ut == "uniform" or (ut in ("T-shirt", "shirt") and person.lower_type in ("pants", "suit")):
        xs = [p[0] for p in poly]
        d.rectangle([min(xs), g.hip - 0.03 * g.u, max(xs), g.hip - 0.012 * g.u], fill=_DARK)


def _draw_legs_front(
    d: ImageDraw.ImageDraw, person: Identity, g: _Geo, phase: float
) -> list[Point]:
    """Both legs seen from the front or back; returns the two ankle points."""
    a = math.sin(phase)
    lower = person.lower_type
    skin = person.skin
    garment = person.upper_color if lower == "dress" else person.lower_color
    covered = lower in ("jeans", "pants", "leggins", "suit", "uniform")
    slim = 0.82 if lower == "leggins" else 1.0
    ankles: list[Point] = []
    for sgn, s in ((-1, a), (1, -a)):
        hip = (g.cx + sgn * g.hip_w * 0.24, g.hip)
        lift = max(0.0, s) * 0.05 * g.u * (1 - 0.5 * g.tilt)
        ankle = (g.cx + sgn * g.hip_w * 0.2, g.ankle - lift)
        knee = (hip[0] * 0.55 + ankle[0] * 0.45 + sgn * 0.004 * g.u, g.knee - lift * 0.5)
        leg_color = garment if covered else skin
        _limb(d, hip, knee, g.thigh_w * slim, g.shin_w * 1.05 * slim, leg_color)
        _limb(d, knee, ankle, g.shin_w * slim, g.ankle_w * slim, leg_color)
        if lower == "jeans":
            d.line([hip, knee, ankle], fill=shade(garment, 1.12), width=max(1, int(0.006 * g.u)))
        if lower == "shorts":
            end = _lerp(hip, knee, 0.65)
            _limb(d, hip, end, g.thigh_w * 1.08, g.thigh_w * 1.0, garment)
        _shoe(d, person, g, ankle, "front")
        ankles.append(ankle)
    if lower != "skirt" and lower != "dress":
        d.polygon(
            [
                (g.cx - g.hip_w / 2, g.hip - 0.02 * g.u),
                (g.cx + g.hip_w / 2, g.hip - 0.02 * g.u),
                (g.cx + g.hip_w * 0.3, g.hip + 0.07 * g.u),
                (g.cx, g.hip + 0.09 * g.u * (1 - 0.5 * g.tilt)),
                (g.cx - g.hip_w * 0.3, g.hip + 0.07 * g.u),
            ],
            fill=garment,
        )
    else:
        length = (0.75 if lower == "dress" else 0.6) * (g.knee - g.hip) + 0.05 * (
            g.knee - g.hip
        ) * a
        d.polygon(
            [
                (g.cx - g.hip_w * 0.52, g.hip - 0.03 * g.u),
                (g.cx + g.hip_w * 0.52, g.hip - 0.03 * g.u),
                (g.cx + g.hip_w * 0.78, g.hip + length),
                (g.cx - g.hip_w * 0.78, g.hip + length),
            ],
            fill=garment,
        )
    return ankles


def _draw_leg_side(
    d: ImageDraw.ImageDraw, person: Identity, g: _Geo, angle: float, bend: float, dim: float
) -> Point:
    """One leg in profile (facing +x); ``angle`` of the thigh from vertical, degrees forward."""
    fl = 1 - 0.75 * g.tilt
    hip = (g.cx, g.hip)
    th = math.radians(angle)
    sh = math.radians(angle - bend)
    knee = (hip[0] + g.thigh_len * math.sin(th), hip[1] + g.thigh_len * math.cos(th) * fl)
    ankle = (knee[0] + g.shin_len * math.sin(sh), knee[1] + g.shin_len * math.cos(sh) * fl)
    lower = person.lower_type
    garment = shade(person.upper_color if lower == "dress" else person.lower_color, dim)
    skin = shade(person.skin, dim)
    covered = lower in ("jeans", "pants", "leggins", "suit", "uniform")
    slim = 0.85 if lower == "leggins" else 1.0
    c = garment if covered else skin
    _limb(d, hip, knee, g.thigh_w * slim * 1.05, g.shin_w * slim * 1.05, c)
    _limb(d, knee, ankle, g.shin_w * slim, g.ankle_w * slim, c)
    if lower == "shorts":
        _limb(d, hip, _lerp(hip, knee, 0.65), g.thigh_w * 1.12, g.thigh_w * 1.02, garment)
    _shoe(d, person, g, ankle, "side", dim)
    return ankle


def _shoe(
    d: ImageDraw.ImageDraw, person: Identity, g: _Geo, ankle: Point, view: str, dim: float = 1.0
) -> None:
    fl = 1 - 0.75 * g.tilt
    c = shade(person.shoe_color, dim)
    h = 0.04 * g.u * fl + 0.01 * g.u
    x, y = ankle
    if view == "side":
        box = [x - 0.025 * g.u, y - h * 0.3, x + 0.075 * g.u, y + h * 0.8]
    else:
        box = [x - 0.036 * g.u, y - h * 0.3, x + 0.036 * g.u, y + h * 0.8]
    st = person.shoe_type
    if st == "sandals":
        d.ellipse(box, fill=shade(person.skin, dim))
        d.line(
            [(box[0], y + h * 0.1), (box[2], y + h * 0.1)], fill=c, width=max(1, int(0.008 * g.u))
        )
        d.line(
            [(box[0], y + h * 0.45), (box[2], y + h * 0.45)], fill=c, width=max(1, int(0.008 * g.u))
        )
        return
    if st == "boots":
        d.rectangle(
            [x - g.ankle_w * 0.62, y - 0.07 * g.u * fl, x + g.ankle_w * 0.62, y + h * 0.2], fill=c
        )
    d.ellipse(box, fill=c)
    if st == "sport shoe":
        sole = (200, 200, 200) if sum(c) > 600 else (236, 236, 236)
        d.rectangle(
            [box[0] + 0.005 * g.u, box[3] - h * 0.28, box[2] - 0.005 * g.u, box[3]], fill=sole
        )
    elif st == "high heels":
        hx = box[0] + 0.01 * g.u if view == "side" else x
        d.rectangle(
            [hx - 0.005 * g.u, box[3] - h * 0.2, hx + 0.005 * g.u, box[3] + 0.02 * g.u], fill=c
        )


def _arm(
    d: ImageDraw.ImageDraw,
    person: Identity,
    g: _Geo,
    shoulder: Point,
    ux: float,
    uy: float,
    fx: float,
    fy: float,
    dim: float,
) -> Point:
    """Draw an arm whose upper and lower parts point along (ux, uy) and (fx, fy); returns the hand."""
    elbow = (shoulder[0] + ux * g.upper_arm, shoulder[1] + uy * g.upper_arm)
    wrist = (elbow[0] + fx * g.forearm, elbow[1] + fy * g.forearm)
    sleeve = shade(person.upper_color, dim)
    skin = shade(person.skin, dim)
    if person.long_sleeves:
        _limb(d, shoulder, elbow, g.arm_w, g.fore_w * 1.05, sleeve)
        _limb(d, elbow, wrist, g.fore_w, g.fore_w * 0.85, sleeve)
    else:
        _limb(d, shoulder, elbow, g.arm_w * 0.82, g.fore_w * 0.9, skin)
        _limb(d, elbow, wrist, g.fore_w * 0.85, g.fore_w * 0.75, skin)
        _limb(d, shoulder, _lerp(shoulder, elbow, 0.55), g.arm_w * 1.05, g.arm_w * 0.98, sleeve)
    hand = (wrist[0] + fx * g.hand_w * 0.4, wrist[1] + fy * g.hand_w * 0.4)
    d.ellipse(_box(hand[0], hand[1], g.hand_w, g.hand_w * 1.15), fill=skin)
    return hand


# ---- head ------------------------------------------------------------------------------------


def _hair_frac(person: Identity, tilt: float) -> float:
    base = {"bald": 0.0, "short": 0.3, "medium": 0.36, "long": 0.36, "horsetail": 0.33}[
        person.hair_style
    ]
    return 0.0 if base == 0 else min(0.9, base + 0.4 * tilt)


def _draw_head_front(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float) -> None:
    box = [cx - g.head_w / 2, g.head_top, cx + g.head_w / 2, g.chin]
    hair = person.hair_color
    d.ellipse(box, fill=person.skin)
    hf = _hair_frac(person, g.tilt)
    if person.hair_style == "bald" and g.tilt > 0.3:  # a bare crown still reads darker on top
        _chord_top(d, box, 0.25 * g.tilt, shade(person.skin, 0.9))
    _chord_top(d, box, hf, hair)
    if person.hair_style in ("medium", "long", "horsetail"):
        side_w = g.head_w * 0.16
        for sgn in (-1, 1):
            x = cx + sgn * (g.head_w / 2 - side_w / 2)
            end = g.head_top + g.head_h * (0.62 if person.hair_style == "horsetail" else 0.78)
            d.rectangle(
                [x - side_w / 2, g.head_top + g.head_h * 0.3, x + side_w / 2, end], fill=hair
            )
    line = g.head_top + g.head_h * hf
    span = g.chin - line
    eye_y = line + span * 0.32
    mouth_y = line + span * 0.74
    ex = g.head_w * 0.2
    es = max(1.0, 0.012 * g.u)
    if person.beard:
        _chord_bottom(
            d, box, max(0.0, (g.chin - (eye_y + span * 0.22)) / g.head_h), shade(hair, 0.9)
        )
    if person.moustache:
        d.rectangle(
            _box(cx, mouth_y - span * 0.1, g.head_w * 0.32, span * 0.08 + 1), fill=shade(hair, 0.85)
        )
    if span > 0.03 * g.u:
        d.rectangle(_box(cx, mouth_y, g.head_w * 0.22, max(1.0, span * 0.05)), fill=(140, 60, 60))
        d.line(
            [(cx, eye_y + span * 0.08), (cx, eye_y + span * 0.28)],
            fill=shade(person.skin, 0.8),
            width=max(1, int(0.006 * g.u)),
        )
    if person.glasses == "sun":
        for sgn in (-1, 1):
            d.ellipse(_box(cx + sgn * ex, eye_y, g.head_w * 0.3, span * 0.2 + es), fill=_DARK)
        d.line([(cx - ex, eye_y), (cx + ex, eye_y)], fill=_DARK, width=max(1, int(0.006 * g.u)))
    else:
        for sgn in (-1, 1):
            d.ellipse(
                _box(cx + sgn * ex, eye_y, es * 1.2, es * (1 - 0.3 * g.tilt)), fill=(30, 26, 26)
            )
        if person.glasses == "normal":
            for sgn in (-1, 1):
                d.rectangle(
                    _box(cx + sgn * ex, eye_y, g.head_w * 0.3, span * 0.16 + es),
                    outline=_DARK,
                    width=max(1, int(0.006 * g.u)),
                )
    _draw_hat(d, person, g, cx, "front")


def _draw_head_back(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float) -> None:
    box = [cx - g.head_w / 2, g.head_top, cx + g.head_w / 2, g.chin]
    hair = person.hair_color
    d.ellipse(box, fill=person.skin)
    style = person.hair_style
    if style == "bald":
        _chord_top(d, box, 0.3 * g.tilt, shade(person.skin, 0.9))
    elif style == "short":
        _chord_top(d, box, 0.85, hair)
    else:
        d.ellipse(box, fill=hair)
    _draw_hat(d, person, g, cx, "back")


def _draw_back_hair(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float) -> None:
    """Long hair and ponytail hanging over the back (back view)."""
    hair = person.hair_color
    if person.hair_style == "long":
        w = g.head_w * 1.02
        end = g.shoulder + 0.32 * (g.hip - g.shoulder)
        d.rounded_rectangle(
            [cx - w / 2, g.head_top + g.head_h * 0.5, cx + w / 2, end], radius=w * 0.3, fill=hair
        )
    elif person.hair_style == "medium":
        w = g.head_w * 0.98
        d.rounded_rectangle(
            [cx - w / 2, g.head_top + g.head_h * 0.5, cx + w / 2, g.chin + 0.035 * g.u],
            radius=w * 0.3,
            fill=hair,
        )
    elif person.hair_style == "horsetail":
        top = g.head_top + g.head_h * 0.55
        _limb(
            d,
            (cx, top),
            (cx, g.chin + 0.09 * g.u * (1 - 0.5 * g.tilt)),
            g.head_w * 0.3,
            g.head_w * 0.16,
            hair,
        )


def _draw_head_side(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float) -> None:
    """Head in profile, facing +x."""
    hw = g.head_w * 1.06
    box = [cx - hw / 2, g.head_top, cx + hw / 2, g.chin]
    hair = person.hair_color
    skin = person.skin
    hf = _hair_frac(person, g.tilt)
    line = g.head_top + g.head_h * hf
    span = g.chin - line
    eye_y = line + span * 0.32
    # nose
    d.polygon(
        [
            (cx + hw * 0.45, eye_y),
            (cx + hw * 0.6, eye_y + span * 0.3),
            (cx + hw * 0.45, eye_y + span * 0.36),
        ],
        fill=skin,
    )
    d.ellipse(box, fill=skin)
    if person.hair_style != "bald":
        d.pieslice(box, 90, 270, fill=hair)
        _chord_top(d, box, hf, hair)
        if person.hair_style == "long":
            d.rounded_rectangle(
                [
                    cx - hw * 0.5,
                    g.head_top + g.head_h * 0.4,
                    cx - hw * 0.05,
                    g.shoulder + 0.2 * (g.hip - g.shoulder),
                ],
                radius=hw * 0.2,
                fill=hair,
            )
        elif person.hair_style == "horsetail":
            _limb(
                d,
                (cx - hw * 0.45, g.head_top + g.head_h * 0.4),
                (cx - hw * 0.7, g.chin + 0.05 * g.u),
                hw * 0.28,
                hw * 0.14,
                hair,
            )
    else:
        _chord_top(d, box, 0.25 * g.tilt, shade(skin, 0.9))
    es = max(1.0, 0.012 * g.u)
    ex = cx + hw * 0.3
    if person.beard:
        d.chord(box, 0, 90, fill=shade(hair, 0.9))
    if person.glasses == "sun":
        d.rectangle(_box(ex, eye_y, hw * 0.22, span * 0.2 + es), fill=_DARK)
        d.line([(ex, eye_y), (cx - hw * 0.05, eye_y)], fill=_DARK, width=max(1, int(0.006 * g.u)))
    else:
        d.ellipse(_box(ex, eye_y, es, es), fill=(30, 26, 26))
        if person.glasses == "normal":
            d.line(
                [(ex + hw * 0.1, eye_y), (cx - hw * 0.05, eye_y)],
                fill=_DARK,
                width=max(1, int(0.006 * g.u)),
            )
    _draw_hat(d, person, g, cx, "side")


def _draw_hat(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float, view: str) -> None:
    if person.hat == "none":
        return
    w = g.head_w * 1.08
    box = [cx - w / 2, g.head_top - 0.012 * g.u, cx + w / 2, g.chin]
    c = person.hat_color
    if person.hat == "beanie":
        cover = 0.5 + 0.25 * g.tilt
        _chord_top(d, [box[0], box[1] - 0.02 * g.u, box[2], box[3]], cover, c)
        band_y = box[1] - 0.02 * g.u + (box[3] - box[1] + 0.02 * g.u) * cover
        d.rectangle(
            [box[0] + 0.02 * w, band_y - 0.018 * g.u, box[2] - 0.02 * w, band_y], fill=shade(c, 0.8)
        )
        return
    cover = 0.42 + 0.25 * g.tilt
    _chord_top(d, box, cover, c)
    brim_y = box[1] + (box[3] - box[1]) * cover
    bh = 0.012 * g.u + 0.06 * g.u * g.tilt
    if view == "front":
        d.ellipse(
            [box[0] - 0.01 * g.u, brim_y - bh * 0.3, box[2] + 0.01 * g.u, brim_y + bh],
            fill=shade(c, 0.85),
        )
    elif view == "side":
        d.ellipse(
            [cx, brim_y - 0.01 * g.u, cx + w * 0.95, brim_y + bh * 0.6 + 0.004 * g.u],
            fill=shade(c, 0.85),
        )


def _draw_neck(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float, view: str) -> None:
    nw = 0.045 * g.u * math.sqrt(person.width_factor)
    d.rectangle(
        [cx - nw / 2, g.chin - 0.02 * g.u, cx + nw / 2, g.shoulder + 0.02 * g.u],
        fill=shade(person.skin, 0.92),
    )
    if person.upper_type == "hoodie" and view == "front":
        d.ellipse(_box(cx, g.shoulder, nw * 2.6, 0.04 * g.u), fill=shade(person.upper_color, 0.82))


def _draw_neckwear(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, cx: float, view: str) -> None:
    if person.neck == "scarf":
        nw = 0.075 * g.u * math.sqrt(person.width_factor)
        d.rounded_rectangle(
            _box(cx, g.shoulder - 0.005 * g.u, nw, 0.035 * g.u),
            radius=0.01 * g.u,
            fill=person.neck_color,
        )
        if view == "front":
            d.rectangle(
                [
                    cx + nw * 0.05,
                    g.shoulder,
                    cx + nw * 0.4,
                    g.shoulder + 0.12 * g.u * (1 - 0.5 * g.tilt),
                ],
                fill=person.neck_color,
            )
    elif person.neck == "necklace" and view == "front":
        r = 0.03 * g.u
        d.arc(
            [cx - r, g.shoulder - r * 0.9, cx + r, g.shoulder + r * 1.1],
            20,
            160,
            fill=person.neck_color,
            width=max(1, int(0.006 * g.u)),
        )


# ---- bags -----------------------------------------------------------------------------------


def _hand_bag(
    d: ImageDraw.ImageDraw, person: Identity, g: _Geo, hand: Point, outward: float
) -> None:
    """A bag carried in ``hand``; ``outward`` is the image-x direction away from the body."""
    x, y = hand
    c = person.bag_color
    u = g.u
    fl = 1 - 0.5 * g.tilt
    kind = person.bag
    if kind == "handbag":
        d.arc(
            [x - 0.03 * u, y - 0.01 * u, x + 0.03 * u, y + 0.05 * u],
            180,
            360,
            fill=shade(c, 0.7),
            width=max(1, int(0.006 * u)),
        )
        d.polygon(
            [
                (x - 0.045 * u, y + 0.02 * u),
                (x + 0.045 * u, y + 0.02 * u),
                (x + 0.055 * u, y + 0.02 * u + 0.065 * u * fl),
                (x - 0.055 * u, y + 0.02 * u + 0.065 * u * fl),
            ],
            fill=c,
        )
    elif kind == "sportif bag":
        d.rounded_rectangle(
            [x - 0.08 * u, y + 0.01 * u, x + 0.08 * u, y + 0.01 * u + 0.075 * u * fl],
            radius=0.025 * u,
            fill=c,
        )
        d.rectangle(
            [x - 0.08 * u, y + 0.035 * u * fl, x + 0.08 * u, y + 0.048 * u * fl], fill=shade(c, 0.7)
        )
    elif kind == "market bag":
        d.polygon(
            [
                (x - 0.04 * u, y + 0.01 * u),
                (x + 0.04 * u, y + 0.01 * u),
                (x + 0.05 * u, y + 0.11 * u * fl),
                (x - 0.05 * u, y + 0.11 * u * fl),
            ],
            fill=c,
        )
    elif kind == "umbrella":
        tip = (x + outward * 0.02 * u, min(g.ground - 0.01 * u, y + 0.36 * u * fl))
        d.polygon(
            [(x - 0.022 * u, y + 0.05 * u * fl), (x + 0.022 * u, y + 0.05 * u * fl), tip], fill=c
        )
        d.line(
            [(x, y - 0.01 * u), (x, y + 0.05 * u * fl)], fill=_DARK, width=max(1, int(0.008 * u))
        )
    elif kind == "rolling bag":
        bx = x + outward * 0.1 * u
        top = g.ground - 0.3 * u * (1 - 0.55 * g.tilt)
        d.line([(x, y), (bx, top)], fill=(60, 60, 64), width=max(1, int(0.01 * u)))
        d.rounded_rectangle(
            [bx - 0.065 * u, top, bx + 0.065 * u, g.ground - 0.012 * u], radius=0.015 * u, fill=c
        )
        d.line(
            [(bx - 0.03 * u, top + 0.01 * u), (bx - 0.03 * u, g.ground - 0.02 * u)],
            fill=shade(c, 0.75),
            width=max(1, int(0.006 * u)),
        )
        for dx in (-0.045, 0.045):
            d.ellipse(_box(bx + dx * u, g.ground - 0.008 * u, 0.02 * u, 0.02 * u), fill=_DARK)


def _cross_strap(
    d: ImageDraw.ImageDraw, person: Identity, g: _Geo, shoulder_side: float, view: str
) -> None:
    """A shoulder bag: strap across the torso, bag at the opposite hip."""
    c = person.bag_color
    u = g.u
    w = max(1, int(0.014 * u))
    if view in ("front", "back"):
        a = (g.cx + shoulder_side * g.sw * 0.32, g.shoulder + 0.005 * u)
        bx = g.cx - shoulder_side * g.hip_w * 0.62
        d.line([a, (bx, g.hip - 0.02 * u)], fill=shade(c, 0.8), width=w)
        d.rounded_rectangle(
            _box(bx, g.hip + 0.01 * u, 0.1 * u, 0.08 * u * (1 - 0.4 * g.tilt)),
            radius=0.01 * u,
            fill=c,
        )
    else:
        d.line(
            [(g.cx - 0.03 * u, g.shoulder), (g.cx + 0.05 * u, g.hip - 0.03 * u)],
            fill=shade(c, 0.8),
            width=w,
        )
        d.rounded_rectangle(
            _box(g.cx + 0.06 * u, g.hip + 0.01 * u, 0.05 * u, 0.08 * u * (1 - 0.4 * g.tilt)),
            radius=0.01 * u,
            fill=c,
        )


def _backpack(d: ImageDraw.ImageDraw, person: Identity, g: _Geo, view: str) -> None:
    c = person.bag_color
    u = g.u
    th = g.hip - g.shoulder
    if view == "back":
        box = [
            g.cx - g.sw * 0.36,
            g.shoulder + 0.05 * th,
            g.cx + g.sw * 0.36,
            g.shoulder + 0.8 * th,
        ]
        d.rounded_rectangle(box, radius=0.03 * u, fill=c)
        d.rounded_rectangle(
            [
                box[0] + 0.02 * u,
                box[1] + 0.55 * (box[3] - box[1]),
                box[2] - 0.02 * u,
                box[3] - 0.01 * u,
            ],
            radius=0.015 * u,
            fill=shade(c, 0.78),
        )
    elif view == "front":
        for sgn in (-1, 1):
            x = g.cx + sgn * g.sw * 0.27
            d.line(
                [(x, g.shoulder), (x + sgn * 0.01 * u, g.shoulder + 0.55 * th)],
                fill=shade(c, 0.8),
                width=max(1, int(0.018 * u)),
            )
    else:
        depth = 0.13 * u * person.width_factor
        box = [
            g.cx - depth * 0.5 - 0.085 * u,
            g.shoulder + 0.05 * th,
            g.cx - depth * 0.45 + 0.01 * u,
            g.shoulder + 0.8 * th,
        ]
        d.rounded_rectangle(box, radius=0.025 * u, fill=c)
        d.line(
            [(g.cx - depth * 0.3, g.shoulder), (g.cx + depth * 0.2, g.shoulder + 0.4 * th)],
            fill=shade(c, 0.8),
            width=max(1, int(0.016 * u)),
        )


def _shoulder_tops(
    d: ImageDraw.ImageDraw, person: Identity, g: _Geo, width: float, view: str
) -> None:
    """The tops of the shoulders (and of a backpack) that a camera above sees."""
    t = g.tilt
    if t < 0.15:
        return
    depth = 0.14 * g.u * person.width_factor * t
    if person.bag == "backpack" and view == "front":
        d.rounded_rectangle(
            _box(g.cx, g.shoulder - depth * 0.45, width * 0.6, depth * 0.8),
            radius=depth * 0.3,
            fill=person.bag_color,
        )
    d.ellipse(
        _box(g.cx, g.shoulder + depth * 0.25, width, depth), fill=shade(person.upper_color, 1.08)
    )
    if person.bag == "backpack" and view == "back":
        d.rounded_rectangle(
            _box(g.cx, g.shoulder + depth * 0.7, width * 0.66, depth * 0.8),
            radius=depth * 0.3,
            fill=shade(person.bag_color, 1.1),
        )


# ---- the figure ------------------------------------------------------------------------------


def draw_person(person: Identity, facing: str, tilt: float, phase: float, height: float) -> Figure:
    """Draw ``person`` ``height`` pixels tall (unforeshortened) on a transparent RGBA layer."""
    u = max(8.0, height)
    w = int(1.5 * u) + 8
    cx = w / 2
    g = _geometry(person, tilt, u, cx)
    h = int(g.ground + 0.06 * u) + 4
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    if facing in ("front", "back"):
        _draw_front_back(layer, d, person, g, phase, facing)
        width = g.sw
    else:
        # a left-facing person shows the left side: draw facing right with sides swapped, then mirror
        side = person.bag_side if facing == "right" else -person.bag_side
        _draw_side(layer, d, person, g, phase, side)
        width = 0.14 * u * person.width_factor
        if facing == "left":
            layer = ImageOps.mirror(layer)
    return Figure(layer=layer, foot=(cx, g.ground), width=width)


def _draw_front_back(
    layer: Image.Image, d: ImageDraw.ImageDraw, person: Identity, g: _Geo, phase: float, view: str
) -> None:
    front = view == "front"
    # the person's right hand is on the image left when they face the camera
    bag_x = -person.bag_side if front else person.bag_side
    cx = g.cx
    if front and person.hair_style in ("long", "medium"):
        w = g.head_w * 1.18
        end = g.shoulder + (0.25 * (g.hip - g.shoulder) if person.hair_style == "long" else 0.0)
        d.rounded_rectangle(
            [cx - w / 2, g.head_top + g.head_h * 0.35, cx + w / 2, end],
            radius=w * 0.25,
            fill=shade(person.hair_color, 0.9),
        )
    _draw_legs_front(d, person, g, phase)
    _draw_neck(d, person, g, cx, view)
    _draw_torso(layer, d, person, g, view)
    if person.bag == "backpack":
        _backpack(d, person, g, view)
    _shoulder_tops(d, person, g, g.sw, view)
    if not front and person.bag == "backpack":
        _backpack(d, person, g, view)
    a = math.sin(phase)
    hands: dict[int, Point] = {}
    for sgn in (-1, 1):
        swing = math.radians(person.arm_swing * a * sgn)
        out = math.radians(6 + 6 * (person.width_factor - 0.85))
        k = math.cos(swing)
        bend = math.cos(swing + math.radians(15 + 15 * max(0.0, math.sin(swing))))
        shoulder = (cx + sgn * (g.sw / 2 - g.arm_w * 0.45), g.shoulder + g.arm_w * 0.45)
        hands[sgn] = _arm(
            d, person, g, shoulder, sgn * math.sin(out), k, sgn * math.sin(out * 0.5), bend, 1.0
        )
    _draw_neckwear(d, person, g, cx, view)
    if front:
        _draw_head_front(d, person, g, cx)
    else:
        _draw_head_back(d, person, g, cx)
        _draw_back_hair(d, person, g, cx)
    if person.bag == "bag":
        _cross_strap(d, person, g, -bag_x, view)
    elif person.bag not in ("backpack", "nothing"):
        _hand_bag(d, person, g, hands[bag_x], float(bag_x))


def _draw_side(
    layer: Image.Image, d: ImageDraw.ImageDraw, person: Identity, g: _Geo, phase: float, side: int
) -> None:
    """Profile facing +x; ``side`` +1 means the bag hand is the near one."""
    cx = g.cx
    a = math.sin(phase)
    leg = person.stride * a
    arm = person.arm_swing * a

    def arm_vectors(angle: float) -> tuple[float, float, float, float]:
        th = math.radians(angle)
        fa = math.radians(angle + 15 + 20 * max(0.0, angle / 30))
        return math.sin(th), math.cos(th), math.sin(fa), math.cos(fa)

    shoulder = (cx + 0.005 * g.u, g.shoulder + g.arm_w * 0.45)
    far_hand = _arm(d, person, g, shoulder, *arm_vectors(arm), 0.78)
    if side < 0 and person.bag not in ("backpack", "nothing", "bag"):
        _hand_bag(d, person, g, far_hand, -1.0)
    _draw_leg_side(d, person, g, -leg, 22 * max(0.0, a), 0.78)
    _draw_leg_side(d, person, g, leg, 22 * max(0.0, -a), 1.0)
    garment = person.upper_color if person.lower_type == "dress" else person.lower_color
    depth = 0.125 * g.u * person.width_factor
    if person.lower_type in ("skirt", "dress"):
        length = (0.75 if person.lower_type == "dress" else 0.6) * (g.knee - g.hip)
        d.polygon(
            [
                (cx - depth * 0.55, g.hip - 0.03 * g.u),
                (cx + depth * 0.55, g.hip - 0.03 * g.u),
                (cx + depth * 0.9, g.hip + length),
                (cx - depth * 0.8, g.hip + length),
            ],
            fill=garment,
        )
    else:
        d.ellipse(_box(cx, g.hip, depth * 1.05, 0.1 * g.u), fill=garment)
    _draw_neck(d, person, g, cx, "side")
    _draw_torso(layer, d, person, g, "side")
    if person.bag == "backpack":
        _backpack(d, person, g, "side")
    _shoulder_tops(d, person, g, 0.14 * g.u * person.width_factor, "side")
    _draw_neckwear(d, person, g, cx, "side")
    _draw_head_side(d, person, g, cx)
    if person.upper_type == "hoodie":
        d.ellipse(
            _box(cx - 0.045 * g.u, g.shoulder + 0.01 * g.u, 0.05 * g.u, 0.05 * g.u),
            fill=shade(person.upper_color, 0.82),
        )
    near_hand = _arm(d, person, g, shoulder, *arm_vectors(-arm), 1.0)
    if side > 0 and person.bag not in ("backpack", "nothing", "bag"):
        _hand_bag(d, person, g, near_hand, 1.0)
    if person.bag == "bag":
        _cross_strap(d, person, g, 1.0, "side")
