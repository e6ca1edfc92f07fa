"""Data: the sample index, dataset loaders, samplers, decoding and augmentation."""

from agreid_core.data.dataset import DatasetSpec, LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.index import INDEX_COLUMNS, empty_index

__all__ = ["INDEX_COLUMNS", "DatasetSpec", "LoadOptions", "ProtocolSpec", "ReIDData", "empty_index"]
