"""Figures of an evaluation: CMC curves (matplotlib) and ranked lists (PIL).

The ranked-list figure follows Figures 8–9 of the AG-VPReID 2025 report: each row shows a
query (blue border) and its top-k gallery items with a green border when the identity matches
and red otherwise. Video items show the middle frame of their tracklet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
from PIL import Image, ImageDraw, UnidentifiedImageError

from agreid_core.evaluation.protocol_eval import ProtocolRanking

THUMB = (64, 128)  # width, height
BORDER = 4
QUERY_COLOUR = (40, 90, 220)
MATCH_COLOUR = (30, 170, 60)
MISS_COLOUR = (215, 40, 40)


def slug(name: str) -> str:
    """A file-name-safe form of a protocol name (``A→G`` → ``a2g``)."""
    text = name.replace("→", "2").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "protocol"


def plot_cmc(curves: Mapping[str, npt.NDArray[np.float64]], path: Path, title: str = "CMC") -> Path:
    """Write one CMC curve per entry of ``curves`` (fractions, rank 1 first) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, cmc in curves.items():
        ranks = np.arange(1, len(cmc) + 1)
        ax.plot(ranks, 100 * np.asarray(cmc), label=f"{name} (R1 {100 * cmc[0]:.1f})")
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _image_of(row: Mapping[str, object]) -> str:
    frames = row.get("frames")
    if isinstance(frames, Sequence) and not isinstance(frames, str) and len(frames) > 0:
        return str(frames[len(frames) // 2])
    return str(row["path"])


def _thumb(path: str, colour: tuple[int, int, int]) -> Image.Image:
    w, h = THUMB
    canvas = Image.new("RGB", (w + 2 * BORDER, h + 2 * BORDER), colour)
    try:
        with Image.open(path) as img:
            canvas.paste(img.convert("RGB").resize((w, h)), (BORDER, BORDER))
    except (OSError, UnidentifiedImageError):
        ImageDraw.Draw(canvas).rectangle([BORDER, BORDER, BORDER + w, BORDER + h], fill=(0, 0, 0))
    return canvas


def plot_ranked_list(
    ranking: ProtocolRanking, path: Path, queries: int = 6, top_k: int = 10, title: str = ""
) -> Path:
    """Write a ranked-list figure of ``queries`` evenly spaced queries of ``ranking``."""
    n_q = ranking.query.height
    k = min(top_k, ranking.top_index.shape[1])
    picks = np.unique(np.linspace(0, n_q - 1, num=min(queries, n_q)).round().astype(int))
    cell_w, cell_h = THUMB[0] + 2 * BORDER + 4, THUMB[1] + 2 * BORDER + 4
    header = 20
    sheet = Image.new("RGB", ((k + 1) * cell_w + 12, header + len(picks) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    text = title or f"{ranking.protocol.name}: query | top-{k}"
    draw.text((4, 4), text.replace("→", "->"), fill=(0, 0, 0))  # the default font lacks →
    q_rows = ranking.query.select(pl.all()).to_dicts()
    g_rows = ranking.gallery.to_dicts()
    for r, qi in enumerate(picks.tolist()):
        y = header + r * cell_h
        q = q_rows[qi]
        sheet.paste(_thumb(_image_of(q), QUERY_COLOUR), (0, y))
        for c, gi in enumerate(ranking.top_index[qi, :k].tolist()):
            g = g_rows[gi]
            colour = MATCH_COLOUR if g["pid"] == q["pid"] else MISS_COLOUR
            sheet.paste(_thumb(_image_of(g), colour), (12 + (c + 1) * cell_w, y))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
