"""Query-gallery distances in row blocks, from features or from one re-ranked matrix.

:class:`QueryGalleryDistances` is what every consumer of a protocol's distances reads: the
metrics accumulators, the top-k lists behind submission files and ranked-list figures.
Without re-ranking, each block of query rows is one GEMM against the gallery, so memory is
bounded by a block. With k-reciprocal re-ranking the (Q, G) float32 result is computed once
by the sparse :func:`~agreid_core.evaluation.rerank.k_reciprocal_rerank` and sliced. An
optional additive ``penalty(start, stop)`` (soft-biometric masking) is applied to every
block after either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from agreid_core.evaluation.distance import (
    DistanceMetric,
    as_float_features,
    distance_block,
    gallery_statistics,
)
from agreid_core.evaluation.rerank import k_reciprocal_rerank

Penalty = Callable[[int, int], Tensor]

_BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class RerankOptions:
    """k-reciprocal re-ranking parameters (Zhong et al., CVPR 2017 defaults)."""

    k1: int = 20
    k2: int = 6
    lambda_value: float = 0.3


class QueryGalleryDistances:
    """Distances from ``query`` rows to ``gallery`` rows (smaller = closer), by blocks."""

    def __init__(
        self,
        query: Tensor,
        gallery: Tensor,
        metric: DistanceMetric = "cosine",
        *,
        rerank: RerankOptions | None = None,
        penalty: Penalty | None = None,
        block_rows: int | None = None,
    ) -> None:
        q = as_float_features(query, "query features")
        g = as_float_features(gallery, "gallery features")
        if q.shape[1] != g.shape[1] or q.shape[0] == 0 or g.shape[0] == 0:
            raise ValueError(
                "query and gallery features must be non-empty with the same dim, got shapes "
                f"{tuple(q.shape)} and {tuple(g.shape)}"
            )
        dtype = torch.promote_types(q.dtype, g.dtype)
        self.query, self.gallery = q.to(dtype), g.to(dtype)
        self.metric: DistanceMetric = metric
        self.penalty = penalty
        self.num_query, self.num_gallery = q.shape[0], g.shape[0]
        self.block_rows = block_rows or max(
            1, _BLOCK_BYTES // (self.num_gallery * self.gallery.element_size())
        )
        self._dense: Tensor | None = None
        self._stats: Tensor | None = None
        if rerank is not None:
            self._dense = k_reciprocal_rerank(
                self.query, self.gallery, rerank.k1, rerank.k2, rerank.lambda_value
            )
        else:
            self._stats = gallery_statistics(self.gallery, metric)

    @property
    def reranked(self) -> bool:
        """Whether the distances are k-reciprocal re-ranked."""
        return self._dense is not None

    def block(self, start: int, stop: int) -> Tensor:
        """Distances of queries ``start:stop`` to the whole gallery, (stop − start, G)."""
        with torch.no_grad():
            if self._dense is not None:
                out = self._dense[start:stop].clone()
            else:
                assert self._stats is not None
                out = distance_block(self.query[start:stop], self.gallery, self._stats, self.metric)
            if self.penalty is not None:
                out += self.penalty(start, stop).to(out.dtype)
        return out

    def blocks(self) -> Iterator[tuple[int, Tensor]]:
        """``(start, block)`` over all queries, ``block_rows`` queries at a time."""
        for start in range(0, self.num_query, self.block_rows):
            yield start, self.block(start, min(start + self.block_rows, self.num_query))

    def dense(self) -> Tensor:
        """The whole (Q, G) matrix (small problems and tests)."""
        return torch.cat([b for _, b in self.blocks()])


def top_k(block: Tensor, k: int, exclude: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` closest gallery columns of each row of ``block``, ties by gallery order.

    ``exclude`` (bool, (G,)) removes columns from the ranking. Returns (distances, indices),
    each (rows, min(k, #kept columns)).
    """
    d = block
    kept = block.shape[1]
    if exclude is not None:
        d = block.masked_fill(exclude.unsqueeze(0), float("inf"))
        kept = int((~exclude).sum())
    k = min(k, kept)
    order = torch.sort(d, dim=1, stable=True).indices[:, :k]
    return torch.gather(d, 1, order), order
