"""Which frames of a tracklet form a clip: re-exported from :mod:`agreid_core.data.clips`,
where the trainer and the evaluator use them."""

from agreid_core.data.clips import (
    all_frames_in_chunks,
    evenly_spaced_indices,
    restricted_random_indices,
)

__all__ = ["all_frames_in_chunks", "evenly_spaced_indices", "restricted_random_indices"]
