"""Synthetic identities: the 15 AG-ReID soft-biometric attributes plus how to draw the person.

The codebook (field names, category order and indices) is the one of the AG-ReID v1/v2
READMEs. The generator never emits ``unknown`` / ``occluded`` values except for ``head``,
whose codebook has no "nothing" entry: a person without a hat, scarf or necklace is coded
``unknown`` (4).

An identity's look is derived from its attributes (tall/thin/fat body, skin from ethnicity,
hair, beard, glasses, head accessory, garment and shoe types, bag) plus things the codebook
does not name: garment colours from a small palette, a pattern on the top, shoe and bag
colours, walking style. :func:`sample_population` makes about a third of the identities copy
another identity's top and bottom colours, so colour alone does not solve re-identification.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from agreid_core.data.synth.palette import (
    DENIM,
    HAIR_COLORS,
    LOWER_WEIGHTS,
    PALETTE,
    RGB,
    SKIN_TONES,
    UPPER_WEIGHTS,
    jitter,
    mix,
    pick_color,
)

#: The 15 attributes and their categories, in codebook order (index = code).
CODEBOOK: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female", "unknown"),
    "age": ("0-11", "12-17", "18-24", "25-34", "35-44", "45-54", "55-64", ">65", "unknown"),
    "height": ("child", "short", "medium", "tall", "unknown"),
    "weight": ("thin", "medium", "fat", "unknown"),
    "ethnic": ("white", "black", "asian", "indian", "unknown"),
    "haircolor": ("black", "brown", "white", "red", "gray", "occluded", "unknown"),
    "hairstyle": ("bald", "short", "medium", "long", "horsetail", "unknown"),
    "beard": ("yes", "no", "unknown"),
    "moustache": ("yes", "no", "unknown"),
    "glasses": ("normal", "sunglasses", "no", "unknown"),
    "head": ("hat", "scarf", "neckless", "occluded", "unknown"),
    "upper": (
        "T-shirt",
        "blouse",
        "sweater",
        "coat",
        "bikini",
        "naked",
        "dress",
        "uniform",
        "shirt",
        "suit",
        "hoodie",
        "cardigan",
        "unknown",
    ),
    "lower": (
        "jeans",
        "leggins",
        "pants",
        "shorts",
        "skirt",
        "bikini",
        "dress",
        "uniform",
        "suit",
        "unknown",
    ),
    "feet": ("sport shoe", "classic shoe", "high heels", "boots", "sandals", "nothing", "unknown"),
    "bag": (
        "bag",
        "backpack",
        "handbag",
        "rolling bag",
        "umbrella",
        "sportif bag",
        "market bag",
        "nothing",
        "unknown",
    ),
}
ATTRIBUTE_FIELDS: tuple[str, ...] = tuple(CODEBOOK)


def code(field: str, value: str) -> int:
    """The codebook index of ``value`` in attribute ``field``."""
    return CODEBOOK[field].index(value)


@dataclass(frozen=True)
class Identity:
    """One synthetic person: codebook attributes plus rendering parameters.

    ``attributes`` holds the 15 codes in :data:`ATTRIBUTE_FIELDS` order. Garment / shoe / bag
    "types" are codebook value names (``"hoodie"``, ``"skirt"``, ``"backpack"`` …).
    ``outfit_source`` is the index of the identity whose top and bottom colours this one
    copied, else ``None``.
    """

    index: int
    attributes: tuple[int, ...]
    height_factor: float
    width_factor: float
    head_scale: float
    skin: RGB
    hair_color: RGB
    hair_style: str
    hat: str  # "none" | "cap" | "beanie"
    hat_color: RGB
    glasses: str  # "none" | "normal" | "sun"
    beard: bool
    moustache: bool
    neck: str  # "none" | "scarf" | "necklace"
    neck_color: RGB
    upper_type: str
    upper_color_name: str
    upper_color: RGB
    long_sleeves: bool
    inner_color: RGB
    pattern: str  # "solid" | "hstripes" | "vstripes" | "checks" | "logo"
    pattern_color: RGB
    pattern_period: float
    logo_shape: str  # "circle" | "square" | "triangle" | "bar"
    lower_type: str
    lower_color_name: str
    lower_color: RGB
    shoe_type: str
    shoe_color: RGB
    bag: str
    bag_color: RGB
    bag_side: int  # +1: the person's right hand / shoulder, -1: left
    stride: float
    arm_swing: float
    outfit_source: int | None = None

    def attribute_dict(self) -> dict[str, int]:
        """The 15 attribute codes keyed by field name."""
        return dict(zip(ATTRIBUTE_FIELDS, self.attributes, strict=True))


def _choice(rng: np.random.Generator, options: tuple[str, ...], weights: tuple[float, ...]) -> str:
    w = np.asarray(weights, dtype=np.float64)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def sample_identity(rng: np.random.Generator, index: int = 0) -> Identity:
    """Draw one identity (attributes first, then a look consistent with them)."""
    gender = _choice(rng, ("male", "female"), (0.55, 0.45))
    male = gender == "male"
    age = int(rng.choice(8, p=np.array([3, 7, 35, 25, 13, 9, 5, 3]) / 100))
    if age == 0:
        height = "child"
    elif age == 1:
        height = _choice(rng, ("short", "medium"), (0.6, 0.4))
    else:
        height = _choice(
            rng, ("short", "medium", "tall"), (0.15, 0.5, 0.35) if male else (0.35, 0.5, 0.15)
        )
    weight = _choice(rng, ("thin", "medium", "fat"), (0.3, 0.5, 0.2))
    ethnic = _choice(rng, ("white", "black", "asian", "indian"), (0.35, 0.2, 0.3, 0.15))
    eth = code("ethnic", ethnic)
    old = age >= 6
    if ethnic == "white":
        hc_w: tuple[float, ...] = (0.25, 0.5, 0.05, 0.1, 0.1)
    else:
        hc_w = (0.8, 0.12, 0.02, 0.0, 0.06)
    if old:
        hc_w = (0.15, 0.1, 0.35, 0.0, 0.4)
    haircolor = _choice(rng, ("black", "brown", "white", "red", "gray"), hc_w)
    if male:
        hs_w: tuple[float, ...] = (0.25 if age >= 4 else 0.05, 0.7, 0.15, 0.05, 0.0)
    else:
        hs_w = (0.0, 0.1, 0.3, 0.35, 0.25)
    hairstyle = _choice(rng, ("bald", "short", "medium", "long", "horsetail"), hs_w)
    adult_male = male and age >= 2
    beard = adult_male and rng.random() < 0.25
    moustache = adult_male and (rng.random() < 0.8 if beard else rng.random() < 0.1)
    glasses_v = _choice(rng, ("normal", "sunglasses", "no"), (0.15, 0.1, 0.75))
    head_v = _choice(rng, ("hat", "scarf", "neckless", "unknown"), (0.2, 0.08, 0.07, 0.65))

    if male:
        upper = _choice(
            rng,
            ("T-shirt", "sweater", "coat", "uniform", "shirt", "suit", "hoodie", "cardigan"),
            (0.3, 0.1, 0.08, 0.05, 0.2, 0.07, 0.15, 0.05),
        )
    else:
        upper = _choice(
            rng,
            (
                "T-shirt",
                "blouse",
                "sweater",
                "coat",
                "dress",
                "shirt",
                "suit",
                "hoodie",
                "cardigan",
            ),
            (0.2, 0.2, 0.08, 0.08, 0.1, 0.1, 0.04, 0.1, 0.1),
        )
    if upper == "dress":
        lower = "dress"
    elif upper == "suit" and rng.random() < 0.8:
        lower = "suit"
    elif upper == "uniform" and rng.random() < 0.8:
        lower = "uniform"
    elif male:
        lower = _choice(rng, ("jeans", "pants", "shorts"), (0.45, 0.35, 0.2))
    else:
        lower = _choice(
            rng, ("jeans", "leggins", "pants", "shorts", "skirt"), (0.3, 0.15, 0.2, 0.12, 0.23)
        )
    bare_legs = lower in ("shorts", "skirt", "dress")
    feet = _choice(
        rng,
        ("sport shoe", "classic shoe", "high heels", "boots", "sandals"),
        (0.45, 0.25, 0.0 if male else 0.12, 0.1, 0.25 if bare_legs else 0.06),
    )
    bag = _choice(
        rng,
        (
            "bag",
            "backpack",
            "handbag",
            "rolling bag",
            "umbrella",
            "sportif bag",
            "market bag",
            "nothing",
        ),
        (0.12, 0.22, 0.03 if male else 0.14, 0.04, 0.04, 0.05, 0.05, 0.38),
    )

    # ---- the look -------------------------------------------------------------------------
    height_factor = {"child": 0.64, "short": 0.9, "medium": 1.0, "tall": 1.1}[height]
    height_factor *= _uniform(rng, 0.98, 1.02)
    width_factor = {"thin": 0.84, "medium": 1.0, "fat": 1.24}[weight] * _uniform(rng, 0.96, 1.04)
    if not male:
        width_factor *= 0.93
    head_scale = 1.3 if age == 0 else (1.1 if age == 1 else 1.0)
    lo, hi = SKIN_TONES[eth]
    skin = jitter(rng, mix(lo, hi, _uniform(rng, 0.0, 1.0)), 5)
    hair_color = jitter(rng, HAIR_COLORS[code("haircolor", haircolor)], 8)
    hat = "none"
    if head_v == "hat":
        hat = _choice(rng, ("cap", "beanie"), (0.6, 0.4))
    hat_color = PALETTE[pick_color(rng, UPPER_WEIGHTS)]
    glasses = {"normal": "normal", "sunglasses": "sun", "no": "none"}[glasses_v]
    neck = {"scarf": "scarf", "neckless": "necklace"}.get(head_v, "none")
    neck_color = PALETTE[pick_color(rng, UPPER_WEIGHTS)] if neck == "scarf" else (212, 180, 60)

    upper_name = pick_color(rng, UPPER_WEIGHTS)
    if lower in ("suit", "uniform", "dress"):
        lower_name = upper_name
    elif lower == "jeans":
        lower_name = _choice(rng, DENIM, (0.5, 0.25, 0.15, 0.1))
    else:
        lower_name = pick_color(
            rng, LOWER_WEIGHTS, exclude=(upper_name,) if rng.random() < 0.7 else ()
        )
    upper_color = jitter(rng, PALETTE[upper_name], 8)
    lower_color = jitter(rng, PALETTE[lower_name], 8) if lower_name != upper_name else upper_color
    if lower == "jeans":
        lower_color = mix(lower_color, (70, 100, 150), 0.25)
    long_sleeves = upper in ("sweater", "coat", "uniform", "suit", "hoodie", "cardigan") or (
        upper in ("shirt", "dress") and rng.random() < 0.5
    )
    inner_color = PALETTE[pick_color(rng, UPPER_WEIGHTS, exclude=(upper_name,))]
    if upper == "suit":
        inner_color = PALETTE["white"] if rng.random() < 0.7 else PALETTE["blue"]
    pattern = _choice(
        rng, ("solid", "hstripes", "vstripes", "checks", "logo"), (0.4, 0.15, 0.1, 0.15, 0.2)
    )
    if upper in ("suit", "uniform", "coat"):
        pattern = "solid" if rng.random() < 0.7 else pattern
    pattern_color = PALETTE[pick_color(rng, UPPER_WEIGHTS, exclude=(upper_name,))]
    pattern_period = _uniform(rng, 0.035, 0.08)
    logo_shape = _choice(rng, ("circle", "square", "triangle", "bar"), (1, 1, 1, 1))

    if feet == "sport shoe":
        shoe_name = _choice(
            rng, ("white", "black", "gray", "blue", "red"), (0.4, 0.3, 0.1, 0.1, 0.1)
        )
    elif feet in ("classic shoe", "boots"):
        shoe_name = _choice(rng, ("black", "brown", "khaki"), (0.55, 0.35, 0.1))
    elif feet == "high heels":
        shoe_name = _choice(rng, ("black", "red", "white", "pink"), (0.5, 0.2, 0.15, 0.15))
    else:
        shoe_name = _choice(rng, ("brown", "black"), (0.6, 0.4))
    shoe_color = jitter(rng, PALETTE[shoe_name], 6)
    bag_color = jitter(rng, PALETTE[pick_color(rng, UPPER_WEIGHTS)], 8)
    if bag == "market bag":
        bag_color = (236, 236, 230) if rng.random() < 0.6 else bag_color
    bag_side = 1 if rng.random() < 0.5 else -1

    attrs = {
        "gender": code("gender", gender),
        "age": age,
        "height": code("height", height),
        "weight": code("weight", weight),
        "ethnic": eth,
        "haircolor": code("haircolor", haircolor),
        "hairstyle": code("hairstyle", hairstyle),
        "beard": code("beard", "yes" if beard else "no"),
        "moustache": code("moustache", "yes" if moustache else "no"),
        "glasses": code("glasses", glasses_v),
        "head": code("head", head_v),
        "upper": code("upper", upper),
        "lower": code("lower", lower),
        "feet": code("feet", feet),
        "bag": code("bag", bag),
    }
    return Identity(
        index=index,
        attributes=tuple(attrs[f] for f in ATTRIBUTE_FIELDS),
        height_factor=height_factor,
        width_factor=width_factor,
        head_scale=head_scale,
        skin=skin,
        hair_color=hair_color,
        hair_style=hairstyle,
        hat=hat,
        hat_color=hat_color,
        glasses=glasses,
        beard=beard,
        moustache=moustache,
        neck=neck,
        neck_color=neck_color,
        upper_type=upper,
        upper_color_name=upper_name,
        upper_color=upper_color,
        long_sleeves=long_sleeves,
        inner_color=inner_color,
        pattern=pattern,
        pattern_color=pattern_color,
        pattern_period=pattern_period,
        logo_shape=logo_shape,
        lower_type=lower,
        lower_color_name=lower_name,
        lower_color=lower_color,
        shoe_type=feet,
        shoe_color=shoe_color,
        bag=bag,
        bag_color=bag_color,
        bag_side=bag_side,
        stride=_uniform(rng, 10.0, 20.0),
        arm_swing=_uniform(rng, 8.0, 22.0),
    )


def copy_outfit(target: Identity, source: Identity) -> Identity:
    """``target`` wearing ``source``'s top and bottom colours (types, pattern and body kept).

    Jeans that would get a non-denim colour become plain pants, and the ``lower`` code follows.
    """
    lower_type = target.lower_type
    attrs = list(target.attributes)
    if lower_type == "jeans" and source.lower_color_name not in DENIM:
        lower_type = "pants"
        attrs[ATTRIBUTE_FIELDS.index("lower")] = code("lower", "pants")
    return dataclasses.replace(
        target,
        attributes=tuple(attrs),
        upper_color_name=source.upper_color_name,
        upper_color=source.upper_color,
        lower_type=lower_type,
        lower_color_name=source.lower_color_name,
        lower_color=source.lower_color,
        outfit_source=source.index,
    )


def sample_population(num_ids: int, seed: int, share_fraction: float = 1 / 3) -> list[Identity]:
    """``num_ids`` identities; about ``share_fraction`` of them copy an earlier one's outfit colours."""
    rng = np.random.default_rng([seed, 0x5EED])
    people: list[Identity] = []
    for i in range(num_ids):
        person = sample_identity(rng, i)
        if i > 0 and rng.random() < share_fraction:
            person = copy_outfit(person, people[int(rng.integers(0, i))])
        people.append(person)
    return people
