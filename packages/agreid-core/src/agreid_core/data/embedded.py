"""The embedded default dataset: a synthetic aerial-ground world, generated on first use.

It is written once into the cache (``$AGREID_CACHE``, else ``$XDG_CACHE_HOME/agreid``, else
``~/.cache/agreid``) in the AG-ReID v1 layout and read back through the same loader a real
AG-ReID tree uses, so everything downstream sees real-format data.
"""

from __future__ import annotations

import os
from pathlib import Path

from agreid_core.data.dataset import LoadOptions, ReIDData
from agreid_core.data.datasets.agreid_v1 import load_agreid_v1

EMBEDDED_IDS = 200
EMBEDDED_SEED = 0


def cache_dir() -> Path:
    """The agreid cache folder."""
    env = os.environ.get("AGREID_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "agreid"


def embedded_root(num_ids: int = EMBEDDED_IDS, seed: int = EMBEDDED_SEED) -> Path:
    """Where the embedded dataset with these settings lives (generated or not)."""
    from agreid_core.data.synth import GENERATOR_VERSION

    return cache_dir() / "embedded" / f"image-{GENERATOR_VERSION}-ids{num_ids}-seed{seed}"


def ensure_embedded(num_ids: int = EMBEDDED_IDS, seed: int = EMBEDDED_SEED) -> Path:
    """Generate the embedded image dataset if it is not in the cache; return its root."""
    from agreid_core.data.synth import SynthConfig, generate_image_dataset

    root = embedded_root(num_ids, seed)
    generate_image_dataset(root, SynthConfig(num_ids=num_ids, seed=seed))
    return root


def load_embedded(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load the embedded dataset (``root`` given: a synthetic tree generated elsewhere)."""
    tree = root if root is not None else ensure_embedded()
    data = load_agreid_v1(tree, options)
    data.name = "embedded"
    return data


EMBEDDED_VIDEO_IDS = 60


def embedded_video_root(num_ids: int = EMBEDDED_VIDEO_IDS, seed: int = EMBEDDED_SEED) -> Path:
    """Where the embedded video dataset with these settings lives (generated or not)."""
    from agreid_core.data.synth import VIDEO_GENERATOR_VERSION

    return cache_dir() / "embedded" / f"video-{VIDEO_GENERATOR_VERSION}-ids{num_ids}-seed{seed}"


def ensure_embedded_video(num_ids: int = EMBEDDED_VIDEO_IDS, seed: int = EMBEDDED_SEED) -> Path:
    """Generate the embedded video dataset (AG-VPReID layout) if needed; return its root."""
    from agreid_core.data.synth import SynthVideoConfig, generate_video_dataset

    root = embedded_video_root(num_ids, seed)
    generate_video_dataset(root, SynthVideoConfig(num_ids=num_ids, seed=seed))
    return root


def load_embedded_video(root: Path | None, options: LoadOptions) -> ReIDData:
    """Load the embedded video dataset through the AG-VPReID loader."""
    from agreid_core.data.datasets.agvpreid import load_agvpreid

    tree = root if root is not None else ensure_embedded_video()
    data = load_agvpreid(tree, options)
    data.name = "embedded-video"
    return data
