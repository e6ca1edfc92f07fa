"""The embedded default dataset: a procedural synthetic aerial-ground person ReID world.

:func:`generate_image_dataset` renders people (:mod:`.attributes`, :mod:`.body`) seen by CCTV,
wearable and UAV cameras (:mod:`.views`, :mod:`.backgrounds`, :mod:`.render`) and writes them
in the AG-ReID v1 layout (:mod:`.generate`), so the real loader reads them unchanged.
:func:`generate_video_dataset` (:mod:`.video`) writes walking tracklets in the AG-VPReID layout.
"""

from agreid_core.data.synth.generate import (
    GENERATOR_VERSION,
    SynthConfig,
    SynthSummary,
    generate_image_dataset,
)
from agreid_core.data.synth.video import (
    VIDEO_GENERATOR_VERSION,
    SynthVideoConfig,
    SynthVideoSummary,
    generate_video_dataset,
)

__all__ = [
    "GENERATOR_VERSION",
    "VIDEO_GENERATOR_VERSION",
    "SynthConfig",
    "SynthSummary",
    "SynthVideoConfig",
    "SynthVideoSummary",
    "generate_image_dataset",
    "generate_video_dataset",
]
