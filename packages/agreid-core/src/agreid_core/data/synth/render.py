"""Render one synthetic camera crop: person figure + background + camera effects.

Pipeline (all at ``supersample`` × the output scale until the resize): draw the figure
(:mod:`.body`), rotate it in the image plane (UAV), cut a detector-like box around it with the
view's margins, paint the background (:mod:`.backgrounds`) and the person's shadow under it,
paste the person, add an occluder (wearable), then shrink to the output size and apply the
image-quality effects: low resolution (down- then up-sampling), lighting gain, contrast, colour
cast, saturation, haze, sensor noise, Gaussian and motion blur, and a bottom cut (wearable).
JPEG quality is applied by the writer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from agreid_core.data.synth.attributes import Identity
from agreid_core.data.synth.backgrounds import render_background
from agreid_core.data.synth.body import Point, draw_person
from agreid_core.data.synth.views import ViewSpec
from agreid_core.types import Platform


def _rotate(layer: Image.Image, point: Point, degrees: float) -> tuple[Image.Image, Point]:
    """Rotate ``layer`` counter-clockwise about its centre (expanding it) and map ``point``."""
    w, h = layer.size
    out = layer.rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True)
    a = math.radians(degrees)
    dx, dy = point[0] - w / 2, point[1] - h / 2
    W, H = out.size
    return out, (
        W / 2 + dx * math.cos(a) + dy * math.sin(a),
        H / 2 - dx * math.sin(a) + dy * math.cos(a),
    )


def _shadow(
    size: tuple[int, int], foot: Point, view: ViewSpec, unit: float, width: float
) -> NDArray[np.float32]:
    """Shadow strength 0..1 per pixel: a long shape along the sun (UAV) or a blob at the feet."""
    mask = Image.new("L", size, 0)
    d = ImageDraw.Draw(mask)
    angle, _ = view.shadow
    fx, fy = foot
    if view.platform is Platform.AERIAL:
        a = math.radians(angle)
        length = unit * 0.55
        ex, ey = fx + length * math.cos(a), fy + length * math.sin(a) * (1 - 0.4 * view.tilt)
        w = width * 0.7
        nx, ny = -math.sin(a) * w / 2, math.cos(a) * w / 2
        d.polygon(
            [
                (fx + nx, fy + ny),
                (ex + nx * 0.8, ey + ny * 0.8),
                (ex - nx * 0.8, ey - ny * 0.8),
                (fx - nx, fy - ny),
            ],
            fill=255,
        )
        d.ellipse([ex - w * 0.45, ey - w * 0.45, ex + w * 0.45, ey + w * 0.45], fill=255)
    else:
        w = width * 1.5
        off = math.cos(math.radians(angle)) * width * 0.4
        d.ellipse(
            [fx + off - w / 2, fy - unit * 0.025, fx + off + w / 2, fy + unit * 0.03], fill=255
        )
    mask = mask.filter(ImageFilter.BoxBlur(max(1.0, unit * 0.01)))
    return np.asarray(mask, dtype=np.float32) * np.float32(1 / 255)


def _motion_blur(arr: NDArray[np.float32], length: int, degrees: float) -> NDArray[np.float32]:
    if length < 2:
        return arr
    a = math.radians(degrees)
    acc = np.zeros_like(arr)
    for i in range(length):
        s = i - (length - 1) / 2
        dx, dy = round(s * math.cos(a)), round(s * math.sin(a))
        acc += np.roll(arr, (dy, dx), axis=(0, 1))
    return acc * np.float32(1 / length)


def render_view(
    person: Identity,
    view: ViewSpec,
    *,
    backdrop: Callable[[int, int], NDArray[np.float32]] | None = None,
    noise_seed: int | None = None,
) -> Image.Image:
    """Render ``person`` as seen in ``view``: an RGB crop around the person (before JPEG).

    Hooks for video (the defaults give the image generator's output): ``backdrop(w, h)``
    returns the ``h`` × ``w`` × 3 float background instead of drawing one from
    ``view.background_seed``, and ``noise_seed`` seeds the sensor noise instead of it.
    """
    ss = view.supersample
    unit = view.height * ss
    fig = draw_person(person, view.facing, view.tilt, view.phase, unit)
    layer, foot = fig.layer, fig.foot
    tight = layer.getchannel("A").getbbox()
    if tight is not None:  # work on the person only: rotating the empty canvas is slow
        layer = layer.crop((tight[0] - 2, tight[1] - 2, tight[2] + 2, tight[3] + 2))
        foot = (foot[0] - tight[0] + 2, foot[1] - tight[1] + 2)
    if abs(view.rotation) > 0.05:
        layer, foot = _rotate(layer, foot, view.rotation)
    bbox = layer.getchannel("A").getbbox()
    if bbox is None:  # nothing drawn (cannot happen for sane sizes)
        bbox = (0, 0, layer.size[0], layer.size[1])
    x0, y0, x1, y1 = bbox
    bw, bh = x1 - x0, y1 - y0
    ml, mt, mr, mb = view.margins
    left, top = int(x0 - ml * bw), int(y0 - mt * bh)
    cw = max(ss, round((x1 + mr * bw - left) / ss) * ss)
    ch = max(ss, round((y1 + mb * bh - top) / ss) * ss)
    person_crop = layer.crop((left, top, left + cw, top + ch))
    out_w, out_h = cw // ss, ch // ss
    # background and shadow at the output scale (cheaper), then up to the drawing scale
    if backdrop is None:
        bg = render_background(view.background, out_w, out_h, view.background_seed, view.height)
    else:
        bg = np.array(backdrop(out_w, out_h), dtype=np.float32)
    strength = view.shadow[1]
    shadow = _shadow(
        (out_w, out_h),
        ((foot[0] - left) / ss, (foot[1] - top) / ss),
        view,
        view.height,
        fig.width / ss,
    )
    bg *= (1.0 - strength * shadow)[..., None]
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8)).resize(
        (cw, ch), Image.Resampling.BILINEAR
    )
    img.paste(person_crop, (0, 0), person_crop)
    if view.occluder is not None:
        ox0, oy0, ox1, oy1, color = view.occluder
        ImageDraw.Draw(img).rectangle([ox0 * cw, oy0 * ch, ox1 * cw, oy1 * ch], fill=color)
    img = img.resize((out_w, out_h), Image.Resampling.BOX)
    if view.lowres > 1.05:
        small = (max(4, round(out_w / view.lowres)), max(4, round(out_h / view.lowres)))
        img = img.resize(small, Image.Resampling.BILINEAR).resize(
            (out_w, out_h), Image.Resampling.BILINEAR
        )
    arr = np.asarray(img, dtype=np.float32)
    arr = arr * np.float32(view.gain) * np.asarray(view.cast, dtype=np.float32)
    mean = arr.mean(axis=(0, 1), keepdims=True)
    arr = (arr - mean) * np.float32(view.contrast) + mean
    gray = arr.mean(axis=2, keepdims=True)
    arr = gray + (arr - gray) * np.float32(view.saturation)
    if view.haze > 0:
        arr = arr * np.float32(1 - view.haze) + np.asarray(
            (196, 204, 214), dtype=np.float32
        ) * np.float32(view.haze)
    rng = np.random.default_rng(view.background_seed ^ 0x5A5A if noise_seed is None else noise_seed)
    arr = arr + rng.normal(0.0, view.noise, size=arr.shape).astype(np.float32)
    arr = _motion_blur(arr, view.motion_blur, view.motion_angle)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if view.blur > 0.05:
        img = img.filter(ImageFilter.GaussianBlur(view.blur))
    if view.bottom_cut > 0:
        img = img.crop((0, 0, out_w, max(8, int(out_h * (1 - view.bottom_cut)))))
    return img
