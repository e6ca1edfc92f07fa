"""Exact CMC / mAP / mINP under the Market-1501 protocol, block-wise and without argsort.

Per query, the gallery is ranked by ascending distance with ties broken by gallery order
(a stable sort); gallery entries with the query's pid *and* camid are junk and removed;
a query without any remaining match is skipped. Only the ranks of the matches are needed:
the 0-based rank of match ``p`` (distance ``v``) in the filtered list is

    #{valid j : d_j < v}  +  #{valid j : d_j == v and j < p}.

Each block of query rows is value-sorted (``np.sort``: SIMD, no indices) one gallery tile
of ``_TILE`` items at a time (tiles that fit the L2 cache sort about 1.5× faster than whole
rows of an AG-ReID-size gallery). Per tile, a binary
search of each match's distance counts the entries below it (and, for tiles before the
match, the equal ones too). Equal distances in the match's own tile are detected from the
sorted tile and resolved by scanning that tile for the value, once per (row, tile, value).
Junk is subtracted using the few same-pid entries only. Memory: one sorted tile copy plus
``rows × matches`` arrays per worker. :func:`evaluate_ranking` spreads its blocks over
``torch.get_num_threads()`` threads (numpy and torch release the GIL while they sort and
search); the per-query results are summed exactly, so the metrics do not depend on it.
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from agreid_core.evaluation.distance import (
    as_float_features,
    distance_block,
    gallery_statistics,
)

__all__ = ["RankingAccumulator", "RankingMetrics", "evaluate_features", "evaluate_ranking"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.floating[Any]]
BoolArray = npt.NDArray[np.bool_]
ArrayOrTensor = npt.NDArray[Any] | Tensor

_BLOCK_BYTES = 16 * 2**20  # sorted copy of one query block (evaluate_ranking)
_FEATURE_BLOCK_BYTES = 64 * 2**20  # distance block + sorted copy (evaluate_features)
_FEATURE_MIN_ROWS = 32  # keeps the GEMM efficient for huge galleries ...
_FEATURE_MAX_BYTES = 512 * 2**20  # ... unless that would exceed this
_TILE = 4096  # gallery items sorted together (cache-sized); bounds the scan resolving a tie
_PAIR_CHUNK = 2**22  # elements of the (ties × same-pid items) junk comparison per chunk


@dataclass(frozen=True)
class RankingMetrics:
    """CMC curve, mAP and mINP, as fractions in [0, 1], over the valid queries."""

    cmc: npt.NDArray[np.float64]
    mAP: float  # noqa: N815
    mINP: float  # noqa: N815
    num_valid: int
    num_skipped: int

    def rank(self, k: int) -> float:
        """CMC at rank ``k`` (1-based)."""
        if not 1 <= k <= len(self.cmc):
            raise ValueError(f"rank k must be in [1, {len(self.cmc)}] (max_rank), got {k}")
        return float(self.cmc[k - 1])

    def as_dict(self) -> dict[str, object]:
        """Plain-Python summary; a rank beyond ``max_rank`` is NaN."""
        r1, r5, r10 = (self.rank(k) if k <= len(self.cmc) else math.nan for k in (1, 5, 10))
        return {
            "rank1": r1,
            "rank5": r5,
            "rank10": r10,
            "mAP": self.mAP,
            "mINP": self.mINP,
            "cmc": [float(v) for v in self.cmc],
            "num_valid_queries": self.num_valid,
            "num_skipped_queries": self.num_skipped,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RankingMetrics):
            return NotImplemented
        scalars = (self.mAP, self.mINP, self.num_valid, self.num_skipped)
        others = (other.mAP, other.mINP, other.num_valid, other.num_skipped)
        return scalars == others and np.array_equal(self.cmc, other.cmc)

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------- inputs


def _ids(x: ArrayOrTensor, name: str, length: int, side: str) -> IntArray:
    a = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim != 1 or a.shape[0] != length:
        raise ValueError(
            f"{name} must be 1-D with one entry per {side} item ({length}), "
            f"got shape {tuple(a.shape)}"
        )
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _float_rows(x: ArrayOrTensor) -> FloatArray:
    """A block of distance rows as a float32/float64 numpy array (a view when possible)."""
    if isinstance(x, Tensor):
        if x.dtype not in (torch.float32, torch.float64):
            x = x.double() if not x.is_floating_point() else x.float()
        return x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32 if np.issubdtype(a.dtype, np.floating) else np.float64)
    return a


def _check_options(max_rank: int, block_size: int | None) -> None:
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    if block_size is not None and block_size < 1:
        raise ValueError(f"block_size must be >= 1 or None, got {block_size}")


# --------------------------------------------------------------------------- core


@dataclass(frozen=True)
class _Groups:
    """Same-pid gallery entries of every query, as runs of a pid-sorted gallery order."""

    order: IntArray  # gallery indices sorted by pid, stable (ascending within a pid)
    start: IntArray  # per query: start of its pid's run in ``order``
    count: IntArray  # per query: length of that run (0 when the pid is not in the gallery)
    q_cam: IntArray
    g_cam: IntArray

    @classmethod
    def build(cls, q_pids: IntArray, g_pids: IntArray, q_cam: IntArray, g_cam: IntArray) -> _Groups:
        order = np.argsort(g_pids, kind="stable")
        uniq, first, counts = np.unique(g_pids[order], return_index=True, return_counts=True)
        loc = np.minimum(np.searchsorted(uniq, q_pids), len(uniq) - 1)
        hit = uniq[loc] == q_pids
        return cls(order, np.where(hit, first[loc], 0), np.where(hit, counts[loc], 0), q_cam, g_cam)


def _count_below(sorted_rows: FloatArray, values: FloatArray, right: bool = False) -> IntArray:
    """Row-wise ``#{x < v}`` (``#{x <= v}`` if ``right``) of ``values[i, c]`` in
    ``sorted_rows[i]``."""
    s, v = torch.from_numpy(sorted_rows), torch.from_numpy(np.ascontiguousarray(values))
    return torch.searchsorted(s, v, right=right).numpy()


def _own_tile_ties(block: FloatArray, gal: IntArray, vals: FloatArray, tie: BoolArray) -> IntArray:
    """For each ``tie`` entry (row-major): #entries of the match's own gallery tile with the
    same distance and a smaller index. One scan per (row, tile, value) group."""
    ti, tc = np.nonzero(tie)
    tv, tg = vals[ti, tc], gal[ti, tc]
    tt = tg // _TILE
    order = np.lexsort((tv, tt, ti))
    si, st, sv = ti[order], tt[order], tv[order]
    head = np.ones(len(order), dtype=np.bool_)
    head[1:] = (si[1:] != si[:-1]) | (st[1:] != st[:-1]) | (sv[1:] != sv[:-1])
    bounds = np.append(np.flatnonzero(head), len(order)).tolist()
    out = np.empty(len(ti), dtype=np.int64)
    for a, b in itertools.pairwise(bounds):
        c0 = int(st[a]) * _TILE
        equal = np.flatnonzero(block[si[a], c0 : c0 + _TILE] == sv[a])
        idx = order[a:b]
        out[idx] = np.searchsorted(equal, tg[idx] - c0)
    return out


def _junk_equal_before(
    vals: FloatArray, gal: IntArray, junk: BoolArray, sel: BoolArray
) -> IntArray:
    """For each ``sel`` entry (row-major): #junk entries of its row with the same distance
    and a smaller gallery index."""
    ri, ci = np.nonzero(sel)
    out = np.empty(len(ri), dtype=np.int64)
    step = max(1, _PAIR_CHUNK // max(1, gal.shape[1]))
    for p0 in range(0, len(ri), step):
        r, c = ri[p0 : p0 + step], ci[p0 : p0 + step]
        v, g = vals[r, c][:, None], gal[r, c][:, None]
        out[p0 : p0 + step] = (junk[r] & (vals[r] == v) & (gal[r] < g)).sum(axis=1)
    return out


def _match_ranks(block: FloatArray, gal: IntArray, pos: BoolArray, junk: BoolArray) -> IntArray:
    """Sorted 0-based ranks (junk removed) of each row's matches; padding = ``G``."""
    n_gallery = block.shape[1]
    vals = np.take_along_axis(block, gal, axis=1)
    ranks = np.zeros(gal.shape, dtype=np.int64)
    equal_elsewhere = np.zeros(gal.shape, dtype=np.bool_)  # another entry has distance v
    own_tie = np.zeros(gal.shape, dtype=np.bool_)  # ... in the match's own tile
    for c0 in range(0, n_gallery, _TILE):
        c1 = min(n_gallery, c0 + _TILE)
        srt = np.sort(block[:, c0:c1], axis=1)
        if np.isnan(srt[:, -1]).any():  # NaN sorts last
            raise ValueError("distmat contains NaN in the row of a query with a valid match")
        below = _count_below(srt, vals)
        if c1 - c0 == n_gallery:  # one tile: an equal entry would follow the first one
            nxt = np.take_along_axis(srt, np.minimum(below + 1, n_gallery - 1), axis=1)
            own_tie |= (below + 1 < n_gallery) & (nxt == vals)
            equal_elsewhere |= own_tie
            ranks += below
            continue
        upto = _count_below(srt, vals, right=True)
        before, inside = gal >= c1, (gal >= c0) & (gal < c1)
        ranks += np.where(before, upto, below)  # a tile before the match: equal ones too
        equal_elsewhere |= upto - below > inside
        own_tie |= inside & (upto - below > 1)
    own_tie &= pos
    if own_tie.any():
        ranks[own_tie] += _own_tile_ties(block, gal, vals, own_tie)
    if junk.any():
        jv = np.where(junk, vals, np.inf).astype(vals.dtype, copy=False)
        jv.sort(axis=1)  # +inf padding is never below a value
        ranks -= _count_below(jv, vals)
        fix = pos & equal_elsewhere
        if fix.any():
            ranks[fix] -= _junk_equal_before(vals, gal, junk, fix)
    ranks[~pos] = n_gallery
    ranks.sort(axis=1)
    return ranks


class _Accumulator:
    def __init__(self, groups: _Groups, max_rank: int) -> None:
        self.groups = groups
        self.max_rank = max_rank
        self.first_hist = np.zeros(max_rank + 1, dtype=np.int64)
        self.ap: list[npt.NDArray[np.float64]] = []
        self.inp: list[npt.NDArray[np.float64]] = []
        self.num_valid = 0
        self.num_skipped = 0

    def add(self, block: FloatArray, start: int) -> None:
        """Account for the queries ``start : start + len(block)`` (``block``: their rows)."""
        g = self.groups
        sl = slice(start, start + block.shape[0])
        count = g.count[sl]
        cols = np.arange(int(count.max(initial=0)))
        member = cols < count[:, None]
        gal = g.order[np.where(member, g.start[sl, None] + cols, 0)]
        same_cam = g.g_cam[gal] == g.q_cam[sl, None]
        pos, junk = member & ~same_cam, member & same_cam
        n_pos = pos.sum(axis=1)
        rows = np.flatnonzero(n_pos)
        self.num_skipped += block.shape[0] - len(rows)
        if len(rows) == 0:
            return
        if len(rows) < block.shape[0]:
            block, gal, pos, junk, n_pos = (
                block[rows],
                gal[rows],
                pos[rows],
                junk[rows],
                n_pos[rows],
            )
        ranks = _match_ranks(block, gal, pos, junk)
        k = np.arange(1, ranks.shape[1] + 1, dtype=np.float64)
        precision = np.where(k <= n_pos[:, None], k / (ranks + 1.0), 0.0)
        self.ap.append(precision.sum(axis=1) / n_pos)
        last = ranks[np.arange(len(rows)), n_pos - 1]
        self.inp.append(n_pos / (last + 1.0))
        first = np.minimum(ranks[:, 0], self.max_rank)
        self.first_hist += np.bincount(first, minlength=self.max_rank + 1)
        self.num_valid += len(rows)

    def merge(self, other: _Accumulator) -> None:
        """Add ``other``'s queries (disjoint from this one's) to this accumulator."""
        self.first_hist += other.first_hist
        self.ap.extend(other.ap)
        self.inp.extend(other.inp)
        self.num_valid += other.num_valid
        self.num_skipped += other.num_skipped

    def result(self) -> RankingMetrics:
        if self.num_valid == 0:
            raise ValueError(
                f"no query has a valid gallery match (all {self.num_skipped} queries skipped): "
                "no gallery item shares a query's pid under a different camera"
            )
        cmc = np.cumsum(self.first_hist[: self.max_rank]) / self.num_valid
        cmc.setflags(write=False)
        return RankingMetrics(
            cmc=cmc,
            mAP=math.fsum(np.concatenate(self.ap).tolist()) / self.num_valid,
            mINP=math.fsum(np.concatenate(self.inp).tolist()) / self.num_valid,
            num_valid=self.num_valid,
            num_skipped=self.num_skipped,
        )


# --------------------------------------------------------------------------- API


def evaluate_ranking(
    distmat: ArrayOrTensor,
    q_pids: ArrayOrTensor,
    g_pids: ArrayOrTensor,
    q_camids: ArrayOrTensor,
    g_camids: ArrayOrTensor,
    *,
    max_rank: int = 50,
    block_size: int | None = None,
) -> RankingMetrics:
    """CMC / mAP / mINP of a ``num_query × num_gallery`` distance matrix (smaller = closer).

    Exact Market-1501 semantics (stable ranking, same-pid-same-camera junk removed, queries
    without a valid match skipped). ``distmat`` is a numpy array or torch tensor; it is
    processed ``block_size`` query rows at a time (default: ~16 MiB per block).
    """
    _check_options(max_rank, block_size)
    if distmat.ndim != 2:
        raise ValueError(
            f"distmat must be 2-D (num_query, num_gallery), got shape {tuple(distmat.shape)}"
        )
    n_q, n_g = int(distmat.shape[0]), int(distmat.shape[1])
    if n_q == 0 or n_g == 0:
        raise ValueError(f"distmat must be non-empty, got shape {(n_q, n_g)}")
    groups = _Groups.build(
        _ids(q_pids, "q_pids", n_q, "query"),
        _ids(g_pids, "g_pids", n_g, "gallery"),
        _ids(q_camids, "q_camids", n_q, "query"),
        _ids(g_camids, "g_camids", n_g, "gallery"),
    )
    itemsize = distmat.element_size() if isinstance(distmat, Tensor) else distmat.itemsize
    rows = block_size or max(1, _BLOCK_BYTES // (n_g * itemsize))
    starts = list(range(0, n_q, rows))
    workers = max(1, min(torch.get_num_threads(), len(starts)))
    accs = [_Accumulator(groups, max_rank) for _ in range(workers)]

    def work(i: int) -> None:
        for start in starts[i::workers]:
            accs[i].add(_float_rows(distmat[start : start + rows]), start)

    if workers == 1:
        work(0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, range(workers)))  # list(): re-raises a worker's error
    for other in accs[1:]:
        accs[0].merge(other)
    return accs[0].result()


class RankingAccumulator:
    """Exact metrics fed one block of distance rows at a time, in any order of blocks.

    For callers that produce distances themselves (re-ranked, penalised, several galleries
    from one pass): ``add(rows, start)`` with the distances of queries
    ``start : start + len(rows)``, then ``result()``. Same semantics as
    :func:`evaluate_ranking`.
    """

    def __init__(
        self,
        q_pids: ArrayOrTensor,
        g_pids: ArrayOrTensor,
        q_camids: ArrayOrTensor,
        g_camids: ArrayOrTensor,
        *,
        max_rank: int = 50,
    ) -> None:
        _check_options(max_rank, None)
        n_q, n_g = len(q_pids), len(g_pids)
        if n_q == 0 or n_g == 0:
            raise ValueError(f"need at least one query and one gallery item, got {n_q}, {n_g}")
        self.num_query, self.num_gallery = n_q, n_g
        groups = _Groups.build(
            _ids(q_pids, "q_pids", n_q, "query"),
            _ids(g_pids, "g_pids", n_g, "gallery"),
            _ids(q_camids, "q_camids", n_q, "query"),
            _ids(g_camids, "g_camids", n_g, "gallery"),
        )
        self._acc = _Accumulator(groups, max_rank)

    def add(self, rows: ArrayOrTensor, start: int) -> None:
        """Account for queries ``start : start + len(rows)``; ``rows`` is (n, num_gallery)."""
        if rows.ndim != 2 or rows.shape[1] != self.num_gallery:
            raise ValueError(
                f"distance rows must have shape (n, {self.num_gallery}), got {tuple(rows.shape)}"
            )
        if start < 0 or start + rows.shape[0] > self.num_query:
            raise ValueError(
                f"rows {start}:{start + rows.shape[0]} are outside the {self.num_query} queries"
            )
        if rows.shape[0]:
            self._acc.add(_float_rows(rows), start)

    def result(self) -> RankingMetrics:
        """The metrics over every query added so far."""
        return self._acc.result()


def _feature_rows(n_gallery: int, itemsize: int) -> int:
    per_row = (n_gallery + min(n_gallery, _TILE)) * itemsize  # distances + a sorted tile
    rows = _FEATURE_BLOCK_BYTES // per_row
    return max(1, rows, min(_FEATURE_MIN_ROWS, _FEATURE_MAX_BYTES // per_row))


def evaluate_features(
    query_features: ArrayOrTensor,
    gallery_features: ArrayOrTensor,
    q_pids: ArrayOrTensor,
    g_pids: ArrayOrTensor,
    q_camids: ArrayOrTensor,
    g_camids: ArrayOrTensor,
    *,
    metric: Literal["cosine", "euclidean"] = "cosine",
    max_rank: int = 50,
    block_size: int | None = None,
) -> RankingMetrics:
    """``evaluate_ranking`` of the feature distances, computed one query block at a time.

    The full distance matrix is never materialised: each block of ``block_size`` queries
    (default: chosen from the gallery size, ~64 MiB of temporaries) is a GEMM against the
    gallery, ranked and discarded. Computed on the features' device, ranked on the CPU.
    """
    _check_options(max_rank, block_size)
    qf = as_float_features(torch.as_tensor(query_features), "query_features")
    gf = as_float_features(torch.as_tensor(gallery_features), "gallery_features")
    if qf.shape[1] != gf.shape[1] or qf.shape[0] == 0 or gf.shape[0] == 0:
        raise ValueError(
            "query_features and gallery_features must be non-empty with the same feature "
            f"dim, got shapes {tuple(qf.shape)} and {tuple(gf.shape)}"
        )
    dtype = torch.promote_types(qf.dtype, gf.dtype)
    qf, gf = qf.to(dtype), gf.to(dtype)
    n_q, n_g = qf.shape[0], gf.shape[0]
    groups = _Groups.build(
        _ids(q_pids, "q_pids", n_q, "query"),
        _ids(g_pids, "g_pids", n_g, "gallery"),
        _ids(q_camids, "q_camids", n_q, "query"),
        _ids(g_camids, "g_camids", n_g, "gallery"),
    )
    stats = gallery_statistics(gf, metric)
    rows = block_size or _feature_rows(n_g, gf.element_size())
    acc = _Accumulator(groups, max_rank)
    with torch.no_grad():
        for start in range(0, n_q, rows):
            block = distance_block(qf[start : start + rows], gf, stats, metric)
            acc.add(_float_rows(block), start)
            del block
    return acc.result()
