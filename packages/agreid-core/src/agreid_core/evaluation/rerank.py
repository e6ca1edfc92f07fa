"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), exact and memory-bounded.

:func:`k_reciprocal_rerank` returns the same query × gallery distances as the authors' widely
copied dense ``re_ranking(q_g_dist, q_q_dist, g_g_dist, k1, k2, lambda_value)`` when that
function is given the squared Euclidean distances of the L2-normalised features as its three
blocks, but never builds an (N × N) matrix (N = #query + #gallery): memory grows like
``N · (k1 + d)`` plus one (``block_size`` × #gallery) float32 block and the (#query × #gallery)
result.

Definitions (the paper's, with every choice of the reference implementation made explicit)
-----------------------------------------------------------------------------------------
Items are the queries followed by the gallery (indices ``0 .. N-1``), ``x`` their L2-normalised
features and ``D[i, j] = ||x_i - x_j||^2`` (float32, ``D[i, i] = 0``, clamped at 0).

1. **Squaring and column-max normalisation.** The reference squares its input entries again
   (so it works with ``||x_i - x_j||^4``) and divides every column by its maximum over *all* N
   rows, then transposes. With the symmetric ``D`` this gives, for row ``i``,
   ``dist[i, j] = D[i, j]^2 / M[i]`` with ``M[i] = max_j D[i, j]^2`` (the maximum over the
   queries *and* the gallery). It is computed in float32 in exactly this order of operations.
   Where ``M[i] == 0`` (all items identical) the reference divides 0 by 0; here ``M[i] = 1``.
2. **Ranking.** ``rank(i)`` orders all items by ``dist[i, ·]``. The reference uses numpy's
   default (unstable) argsort; here ties are broken by the smaller item index, i.e. the order
   equals ``numpy.argsort(dist, kind="stable")``. This is exact even for tied values (e.g.
   duplicated features): each item keeps ``2·K + 8`` candidates (``K = max(k1 + 1, k2)``) and a
   row whose candidate list cannot prove its first K places (a tie that reaches the last
   candidate) is recomputed against all N items.
3. **k-reciprocal set.** ``R(i, k) = {j in rank(i)[:k+1] : i in rank(j)[:k+1]}`` (the first
   k + 1 places include the item itself).
4. **Expansion.** For every ``c`` in ``R(i, k1)``, the set ``R(c, round(k1 / 2))`` (Python /
   numpy rounding, half to even: k1 = 5 → 2, k1 = 20 → 10) is added when
   ``|R(c, round(k1/2)) ∩ R(i, k1)| > 2/3 · |R(c, round(k1/2))|`` (strict; evaluated as the
   integer test ``3·|∩| > 2·|R|``, identical to the reference's float test). The union is
   ``R*(i)``.
5. **Gaussian-kernel vectors.** ``V[i, j] = exp(-dist[i, j]) / sum_{j' in R*(i)} exp(-dist[i, j'])``
   for ``j in R*(i)``, 0 elsewhere (float32; note the weights use the squared-and-normalised
   ``dist``, not the paper's plain distance).
6. **Local query expansion.** If ``k2 != 1``: ``V[i] <- mean(V[rank(i)[:k2]])`` (the item itself
   is ``rank(i)[0]``). ``k2 == 1`` leaves ``V`` unchanged, as in the reference.
7. **Jaccard distance.** Every row of ``V`` sums to 1, so ``sum max = 2 - sum min`` and
   ``jaccard[i, j] = 1 - m / (2 - m)`` with ``m = sum_c min(V[i, c], V[j, c])`` (float32).
8. **Final.** ``final = jaccard · (1 - λ) + dist · λ`` on the query × gallery block, where
   ``dist`` is the squared-and-normalised distance of step 1 (λ = 1 returns it unchanged).

Implementation (all blockwise; no (N × N) tensor)
-------------------------------------------------
* One pass over the upper triangle of ``D`` in (``block_size`` × ``block_size``) tiles (each
  tile is one GEMM and serves both its rows and, transposed, its columns, halving the work).
  Diagonal tiles seed every item's candidate list (``torch.topk``); in the other tiles only
  entries below a row's current worst candidate can enter its list, and they are found by
  comparing the minimum of each run of 32 entries first (a cheap reduction instead of a
  top-k over every tile). The pass also keeps each item's maximum ``D`` (for ``M``) and writes
  the raw query × gallery ``D`` into the output tensor, later overwritten in place.
* Reciprocal sets and expansions are vectorised over chunks of items on (items × k × k)
  index tensors; ``V`` is stored as CSR (≈ tens to a few hundred entries per row). Distances
  for expansion members outside an item's candidate list come from per-pair dot products.
* Query expansion gathers the k2 source rows of each item and sums duplicate columns after a
  sort of (row, column) keys.
* The Jaccard step uses an inverted index (column → gallery rows) and, for a block of queries,
  accumulates the ``min`` terms into one dense (block × #gallery) float32 buffer; pairs with no
  overlap have ``jaccard = 1`` exactly and are written densely, the others are patched.
* λ = 1 returns the normalised distance directly (the Jaccard term is multiplied by 0).

Values agree with the reference up to float32 rounding (distances computed by different GEMM
tilings may differ in the last bit; exp and sums run in another order); on features whose
distance arithmetic is exact the neighbour sets and orders are identical, ties included.

Optional faiss: with ``knn_backend="faiss"`` (or ``"auto"`` when faiss is importable *and*
sees a GPU) the candidate lists and the farthest distances come from faiss flat indexes and
only the query × gallery block is computed by torch. On a CPU the symmetric torch pass is the
cheaper one — the normalisation needs every item's farthest item, i.e. a full pass anyway —
so ``"auto"`` uses torch there.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["KnnBackend", "k_reciprocal_rerank"]

KnnBackend = Literal["auto", "torch", "faiss"]

_SLACK = 8  # extra candidates beyond 2·K kept per item (see step 2 of the module docstring)
_CHUNK_BUDGET = 1 << 22  # elements of the per-chunk temporaries of the set and expansion steps
_PAIR_CHUNK = 16384  # pairs per chunk when distances are computed from gathered features
_TRIPLE_CHUNK = 1 << 21  # (query entry, gallery row) pairs expanded at once in the Jaccard step
_SUB = 32  # run length of the two-level scan in the distance pass
_DENSE_ROWS_BUDGET = 1 << 22  # entries of the (rows × N) block when a tied row is recomputed


class _Csr(NamedTuple):
    """Rows of a sparse (N × N) float32 matrix: ``col[crow[i]:crow[i+1]]`` etc."""

    crow: Tensor  # (N + 1,) int64
    col: Tensor  # (nnz,) int64
    val: Tensor  # (nnz,) float32


class _Candidates(NamedTuple):
    """Per item: candidate neighbour indices sorted ascending, their ``D``, and the max ``D``."""

    idx: Tensor  # (N, W) int64, sorted along dim 1
    d2: Tensor  # (N, W) float32
    max_d2: Tensor  # (N,) float32


@torch.no_grad()
def k_reciprocal_rerank(
    query_features: Tensor,
    gallery_features: Tensor,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    *,
    block_size: int = 1024,
    knn_backend: KnnBackend = "auto",
) -> Tensor:
    """k-reciprocal re-ranked query × gallery distances (Zhong et al., CVPR 2017).

    Args:
        query_features: (Q, D) float features; L2-normalised here.
        gallery_features: (G, D) float features; L2-normalised here.
        k1: size of the k-reciprocal neighbourhood (>= 1); the expansion uses round(k1 / 2).
        k2: local query expansion size (>= 1; 1 disables the expansion).
        lambda_value: weight of the original (squared, normalised) distance, in [0, 1].
        block_size: tile size of the distance pass and number of queries per Jaccard block;
            bounds the temporary memory (one block × #gallery float32 buffer).
        knn_backend: ``"torch"``, ``"faiss"`` (must be importable) or ``"auto"`` (faiss only
            when it is importable and sees a GPU, else torch).

    Returns:
        (Q, G) float32 distances on the features' device, equal (up to float32 rounding) to the
        authors' ``re_ranking`` called with the squared Euclidean distances of the normalised
        features; see the module docstring for every definition and tie-breaking rule.

    Raises:
        TypeError: features are not floating-point tensors, or an argument has a wrong type.
        ValueError: bad shapes, mismatched feature dimensions, non-finite features, or an
            argument out of range.
    """
    _check_arguments(query_features, gallery_features, k1, k2, lambda_value, block_size)
    use_faiss = _resolve_backend(knn_backend)
    num_query = int(query_features.shape[0])
    num_gallery = int(gallery_features.shape[0])
    n = num_query + num_gallery
    x = torch.cat([query_features.to(torch.float32), gallery_features.to(torch.float32)])
    x = F.normalize(x, dim=1)
    sq = (x * x).sum(dim=1)
    top = min(max(k1 + 1, k2), n)
    width = min(n, 2 * top + _SLACK)
    out = torch.empty(num_query, num_gallery, dtype=torch.float32, device=x.device)
    if use_faiss:
        cands = _faiss_candidates(x, sq, width)
        _fill_query_gallery(x, sq, num_query, out, block_size)
    else:
        cands = _symmetric_pass(x, sq, num_query, width, out, block_size)
    scale = cands.max_d2 * cands.max_d2
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    if lambda_value == 1.0:  # jaccard · 0 + dist · 1 == dist exactly: the sets are not needed
        return out.mul_(out).div_(scale[:num_query].unsqueeze(1))
    rank = _ranks(x, sq, cands, scale, top)
    v = _k_reciprocal_vectors(x, sq, cands, rank, scale, k1)
    if k2 != 1:
        v = _local_query_expansion(v, rank[:, : min(k2, n)])
    _jaccard_and_combine(out, v, num_query, scale[:num_query], lambda_value, block_size)
    return out


# --------------------------------------------------------------------------- arguments


def _check_arguments(
    query: object, gallery: object, k1: object, k2: object, lam: object, block_size: object
) -> None:
    shapes: list[tuple[int, ...]] = []
    for name, t in (("query_features", query), ("gallery_features", gallery)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 2:
            raise ValueError(f"{name} must be 2-D (num_items, dim), got shape {tuple(t.shape)}")
        if t.shape[0] == 0 or t.shape[1] == 0:
            raise ValueError(f"{name} must be non-empty, got shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains NaN or infinite values")
        shapes.append(tuple(t.shape))
    assert isinstance(query, Tensor) and isinstance(gallery, Tensor)
    if shapes[0][1] != shapes[1][1]:
        raise ValueError(
            "feature dimensions differ: query_features has dim "
            f"{shapes[0][1]}, gallery_features has dim {shapes[1][1]}"
        )
    if query.device != gallery.device:
        raise ValueError(
            f"features are on different devices: query {query.device}, gallery {gallery.device}"
        )
    for name, value in (("k1", k1), ("k2", k2), ("block_size", block_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)):
        raise TypeError(f"lambda_value must be a float, got {type(lam).__name__}")
    if not (math.isfinite(lam) and 0.0 <= lam <= 1.0):
        raise ValueError(f"lambda_value must lie in [0, 1], got {lam}")


def _resolve_backend(backend: str) -> bool:
    """True when faiss is to be used."""
    if backend not in ("auto", "torch", "faiss"):
        raise ValueError(f"knn_backend must be 'auto', 'torch' or 'faiss', got {backend!r}")
    if backend == "torch":
        return False
    faiss = _import_faiss()
    if backend == "faiss":
        if faiss is None:
            raise ImportError("knn_backend='faiss' needs the faiss package, which is not installed")
        return True
    return faiss is not None and _faiss_gpus(faiss) > 0


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _faiss_gpus(faiss: Any) -> int:
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if callable(get) else 0


# --------------------------------------------------------------------------- distances


def _tiles(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, stop)) for s in range(start, stop, size)]


def _dist_block(
    xa: Tensor, sqa: Tensor, xb: Tensor, sqb: Tensor, buf: Tensor | None = None
) -> Tensor:
    """``D`` between two sets of normalised features: (|a|, |b|) float32, clamped at 0.

    ``buf`` (1-D, at least |a|·|b| entries) receives the result when given.
    """
    if buf is None:
        d = torch.addmm(sqb.unsqueeze(0), xa, xb.T, alpha=-2.0)
    else:
        d = buf[: xa.shape[0] * xb.shape[0]].view(xa.shape[0], xb.shape[0])
        torch.addmm(sqb.unsqueeze(0), xa, xb.T, alpha=-2.0, out=d)
    return d.add_(sqa.unsqueeze(1)).clamp_(min=0.0)


def _pair_dist(x: Tensor, sq: Tensor, i: Tensor, j: Tensor) -> Tensor:
    """``D[i[p], j[p]]`` for index vectors (same formula as :func:`_dist_block`)."""
    out = torch.empty(i.shape[0], dtype=torch.float32, device=x.device)
    for s in range(0, i.shape[0], _PAIR_CHUNK):
        ii, jj = i[s : s + _PAIR_CHUNK], j[s : s + _PAIR_CHUNK]
        dot = (x[ii] * x[jj]).sum(dim=1)
        d = (sq[jj] - 2.0 * dot).add_(sq[ii]).clamp_(min=0.0)
        out[s : s + _PAIR_CHUNK] = d.masked_fill_(ii == jj, 0.0)
    return out


def _merge_dense(best_d2: Tensor, best_idx: Tensor, r0: int, r1: int, d: Tensor) -> None:
    """Merge the smallest entries of each row of ``d`` (columns ``r0 + c``) into the lists."""
    width = best_d2.shape[1]
    v, c = torch.topk(d, min(width, d.shape[1]), dim=1, largest=False, sorted=False)
    cat_v = torch.cat([best_d2[r0:r1], v], dim=1)
    cat_i = torch.cat([best_idx[r0:r1], c.add_(r0)], dim=1)
    v, p = torch.topk(cat_v, width, dim=1, largest=False, sorted=False)
    best_d2[r0:r1] = v
    best_idx[r0:r1] = cat_i.gather(1, p)


def _entries_below(d: Tensor, worst: Tensor, transposed: bool) -> tuple[Tensor, Tensor]:
    """``(r, c)`` with ``m[r, c] < worst[r]`` for ``m = d.T if transposed else d``, r ascending.

    Most rows have only a few such entries, so the minimum of every run of ``_SUB`` entries
    (a cheap reduction) is compared first and only the runs below the bound are inspected.
    """
    rows, cols = (d.shape[1], d.shape[0]) if transposed else (d.shape[0], d.shape[1])
    main = cols - cols % _SUB
    bound = worst.unsqueeze(1)
    if transposed:
        runs = d[:main].view(main // _SUB, _SUB, rows)
        run_r, run_b = (bound > runs.amin(dim=1).T).nonzero(as_tuple=True)
        vals = runs[run_b, :, run_r]
    else:
        runs = d[:, :main].view(rows, main // _SUB, _SUB)
        run_r, run_b = (runs.amin(dim=2) < bound).nonzero(as_tuple=True)
        vals = runs[run_r, run_b]
    p, q = (vals < bound[run_r]).nonzero(as_tuple=True)
    r, c = run_r[p], run_b[p] * _SUB + q
    if main < cols:
        rest = (d[main:].T if transposed else d[:, main:]) < bound
        rr, rc = rest.nonzero(as_tuple=True)
        r, c = torch.cat([r, rr]), torch.cat([c, rc + main])
        order = torch.argsort(r, stable=True)
        r, c = r[order], c[order]
    return r, c


def _merge_below(
    best_d2: Tensor, best_idx: Tensor, r0: int, d: Tensor, offset: int, transposed: bool
) -> None:
    """Merge the entries of ``m`` (``d`` or ``d.T``; rows ``r0 + r``, columns ``offset + c``)
    that beat their row's current worst candidate into the lists.

    After the diagonal tiles have filled the lists these are a handful per row, so a merge of
    (rows × few) replaces a top-k over the whole tile.
    """
    width = best_d2.shape[1]
    num_rows = d.shape[1] if transposed else d.shape[0]
    r, c = _entries_below(d, best_d2[r0 : r0 + num_rows].amax(dim=1), transposed)
    if r.shape[0] == 0:
        return
    rows, local, counts = torch.unique_consecutive(r, return_inverse=True, return_counts=True)
    slot = torch.arange(r.shape[0], device=d.device) - (torch.cumsum(counts, 0) - counts)[local]
    new_v = torch.full(
        (rows.shape[0], int(counts.max())), math.inf, dtype=torch.float32, device=d.device
    )
    new_i = torch.zeros(new_v.shape, dtype=torch.int64, device=d.device)
    new_v[local, slot] = d[c, r] if transposed else d[r, c]
    new_i[local, slot] = c + offset
    rows = rows + r0
    cat_v = torch.cat([best_d2[rows], new_v], dim=1)
    cat_i = torch.cat([best_idx[rows], new_i], dim=1)
    v, p = torch.topk(cat_v, width, dim=1, largest=False, sorted=False)
    best_d2[rows] = v
    best_idx[rows] = cat_i.gather(1, p)


def _symmetric_pass(
    x: Tensor, sq: Tensor, num_query: int, width: int, out: Tensor, tile: int
) -> _Candidates:
    """Candidates and max ``D`` of every item from the upper-triangular tiles of ``D``.

    Diagonal tiles come first (a dense top-k seeds every list with its own tile); each
    off-diagonal tile is one GEMM that serves its rows and, transposed, its columns. Tiles
    never straddle the query/gallery boundary; query × gallery tiles are copied into ``out``.
    Diagonal tiles are symmetrised from their upper triangle, so ``D`` is exactly symmetric
    with a zero diagonal.
    """
    n = x.shape[0]
    tiles = _tiles(0, num_query, tile) + _tiles(num_query, n, tile)
    best_d2 = torch.full((n, width), math.inf, dtype=torch.float32, device=x.device)
    best_idx = torch.zeros((n, width), dtype=torch.int64, device=x.device)
    max_d2 = torch.zeros(n, dtype=torch.float32, device=x.device)
    buf = torch.empty(min(tile, n) ** 2, dtype=torch.float32, device=x.device)  # reused tile
    for a0, a1 in tiles:
        d = _dist_block(x[a0:a1], sq[a0:a1], x[a0:a1], sq[a0:a1])
        upper = torch.triu(d, diagonal=1)
        d = upper + upper.T
        _merge_dense(best_d2, best_idx, a0, a1, d)
        max_d2[a0:a1] = d.amax(dim=1)
    for ai, (a0, a1) in enumerate(tiles):
        xa, sqa = x[a0:a1], sq[a0:a1]
        for b0, b1 in tiles[ai + 1 :]:
            d = _dist_block(xa, sqa, x[b0:b1], sq[b0:b1], buf)
            _merge_below(best_d2, best_idx, a0, d, b0, False)
            _merge_below(best_d2, best_idx, b0, d, a0, True)
            torch.maximum(max_d2[a0:a1], d.amax(dim=1), out=max_d2[a0:a1])
            torch.maximum(max_d2[b0:b1], d.amax(dim=0), out=max_d2[b0:b1])
            if a1 <= num_query <= b0:
                out[a0:a1, b0 - num_query : b1 - num_query] = d
    idx, perm = torch.sort(best_idx, dim=1)
    return _Candidates(idx, best_d2.gather(1, perm), max_d2)


def _fill_query_gallery(x: Tensor, sq: Tensor, num_query: int, out: Tensor, block: int) -> None:
    """Raw query × gallery ``D`` into ``out`` (used by the faiss backend)."""
    xg, sqg = x[num_query:], sq[num_query:]
    for a0, a1 in _tiles(0, num_query, block):
        out[a0:a1] = _dist_block(x[a0:a1], sq[a0:a1], xg, sqg)


def _faiss_candidates(x: Tensor, sq: Tensor, width: int) -> _Candidates:
    """Candidates from a faiss flat L2 index; farthest items from an inner-product index.

    The farthest item maximises ``<[-2 x_i, 1], [x_j, |x_j|^2]>``; all distances are then
    recomputed with the torch formula so that both backends share one definition of ``D``.
    """
    faiss = _import_faiss()
    n, dim = x.shape
    xs = x.detach().cpu().contiguous().numpy()
    sqs = sq.detach().cpu().unsqueeze(1)
    l2 = faiss.IndexFlatL2(dim)
    ip = faiss.IndexFlatIP(dim + 1)
    if _faiss_gpus(faiss) > 0:
        l2 = faiss.index_cpu_to_all_gpus(l2)
        ip = faiss.index_cpu_to_all_gpus(ip)
    l2.add(xs)
    _, near = l2.search(xs, width)
    ip.add(torch.cat([x.detach().cpu(), sqs], dim=1).contiguous().numpy())
    queries = torch.cat([-2.0 * x.detach().cpu(), torch.ones_like(sqs)], dim=1).contiguous()
    _, far = ip.search(queries.numpy(), 1)
    rows = torch.arange(n, device=x.device)
    near_t = torch.as_tensor(near, dtype=torch.int64).to(x.device)
    far_t = torch.as_tensor(far, dtype=torch.int64).to(x.device)[:, 0]
    idx, _ = torch.sort(near_t, dim=1)
    d2 = _pair_dist(x, sq, rows.repeat_interleave(width), idx.reshape(-1)).view(n, width)
    max_d2 = torch.maximum(_pair_dist(x, sq, rows, far_t), d2.amax(dim=1))
    return _Candidates(idx, d2, max_d2)


# --------------------------------------------------------------------------- neighbourhoods


def _ranks(x: Tensor, sq: Tensor, cands: _Candidates, scale: Tensor, top: int) -> Tensor:
    """(N, top) neighbour indices ordered by (normalised distance, index)."""
    n, width = cands.idx.shape
    nv = cands.d2 * cands.d2 / scale.unsqueeze(1)
    nv_sorted, order = torch.sort(nv, dim=1, stable=True)  # idx ascending → stable = by index
    rank = cands.idx.gather(1, order[:, :top])
    if width < n:
        # A non-candidate has D >= every candidate's D, hence dist >= the last candidate's; it
        # cannot enter the first `top` places unless that value ties the top-th one.
        unsure = (nv_sorted[:, -1] <= nv_sorted[:, top - 1]).nonzero().squeeze(1)
        chunk = max(1, _DENSE_ROWS_BUDGET // n)
        for s in range(0, unsure.shape[0], chunk):
            rows = unsure[s : s + chunk]
            d = _dist_block(x[rows], sq[rows], x, sq)
            d[torch.arange(rows.shape[0], device=x.device), rows] = 0.0
            nvr = d * d / scale[rows].unsqueeze(1)
            rank[rows] = torch.sort(nvr, dim=1, stable=True)[1][:, :top]
    return rank


def _reciprocal(rank: Tensor, k: int) -> Tensor:
    """(N, k) bool: ``rank[i, p]`` has ``i`` among its own first ``k`` places."""
    n = rank.shape[0]
    out = torch.empty((n, k), dtype=torch.bool, device=rank.device)
    for r0, r1 in _tiles(0, n, max(1, _CHUNK_BUDGET // (k * k))):
        rows = torch.arange(r0, r1, device=rank.device)
        back = rank[rank[r0:r1, :k], :k]  # (B, k, k)
        out[r0:r1] = (back == rows.view(-1, 1, 1)).any(dim=2)
    return out


def _lookup_dist(x: Tensor, sq: Tensor, cands: _Candidates, rows: Tensor, cols: Tensor) -> Tensor:
    """``D[rows[b], cols[b, w]]`` from the candidate lists, else from the features.

    ``cols`` entries equal to N are padding (their value is unspecified).
    """
    n, width = cands.idx.shape
    table = cands.idx[rows]
    pos = torch.searchsorted(table, cols).clamp_(max=width - 1)
    hit = table.gather(1, pos) == cols
    d2 = cands.d2[rows].gather(1, pos)
    miss = ~hit & (cols < n)
    if bool(miss.any()):
        b, w = miss.nonzero(as_tuple=True)
        d2[b, w] = _pair_dist(x, sq, rows[b], cols[b, w])
    return d2


def _k_reciprocal_vectors(
    x: Tensor, sq: Tensor, cands: _Candidates, rank: Tensor, scale: Tensor, k1: int
) -> _Csr:
    """CSR rows ``V[i]`` over the expanded k-reciprocal sets (steps 3-5)."""
    n = rank.shape[0]
    kf = min(k1 + 1, n)
    fh = min(round(k1 / 2) + 1, n)
    recip_f = _reciprocal(rank, kf)
    recip_h = _reciprocal(rank, fh)
    counts: list[Tensor] = []
    cols: list[Tensor] = []
    vals: list[Tensor] = []
    for r0, r1 in _tiles(0, n, max(1, _CHUNK_BUDGET // (kf * fh * kf))):
        rows = torch.arange(r0, r1, device=rank.device)
        fwd = rank[r0:r1, :kf]  # (B, kf): candidates c
        rf = recip_f[r0:r1]  # c in R(i, k1)
        half = rank[fwd, :fh]  # (B, kf, fh): first places of each c
        rh = recip_h[fwd]  # member of R(c, round(k1/2))
        in_r = ((half.unsqueeze(3) == fwd.view(-1, 1, 1, kf)) & rf.view(-1, 1, 1, kf)).any(3)
        inter = (in_r & rh).sum(dim=2)
        accept = rf & (3 * inter > 2 * rh.sum(dim=2))
        entries = torch.cat(
            [
                torch.where(rf, fwd, n),
                torch.where(accept.unsqueeze(2) & rh, half, n).flatten(1),
            ],
            dim=1,
        )
        entries = torch.sort(entries, dim=1)[0]
        valid = entries < n
        valid[:, 1:] &= entries[:, 1:] != entries[:, :-1]
        d2 = _lookup_dist(x, sq, cands, rows, entries)
        w = torch.exp(-(d2 * d2 / scale[r0:r1].unsqueeze(1))).masked_fill_(~valid, 0.0)
        w = w / w.sum(dim=1, keepdim=True)
        counts.append(valid.sum(dim=1))
        cols.append(entries[valid])
        vals.append(w[valid])
    return _csr(torch.cat(counts), torch.cat(cols), torch.cat(vals))


def _csr(counts: Tensor, col: Tensor, val: Tensor) -> _Csr:
    crow = torch.zeros(counts.shape[0] + 1, dtype=torch.int64, device=col.device)
    torch.cumsum(counts, dim=0, out=crow[1:])
    return _Csr(crow, col, val)


def _gather_rows(v: _Csr, src: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Entries of rows ``src`` (concatenated in order): (segment of each entry, col, val)."""
    lengths = v.crow[1:][src] - v.crow[:-1][src]
    seg = torch.repeat_interleave(lengths)
    first = torch.cumsum(lengths, dim=0) - lengths
    pos = torch.arange(seg.shape[0], device=src.device) + (v.crow[:-1][src] - first)[seg]
    return seg, v.col[pos], v.val[pos]


def _chunks_by_cost(cost: Tensor, budget: int) -> list[tuple[int, int]]:
    """Consecutive row ranges whose summed ``cost`` stays within ``budget`` (>= 1 row each)."""
    cum = torch.cumsum(cost, dim=0)
    bounds: list[tuple[int, int]] = []
    r0, done, n = 0, 0, cost.shape[0]
    while r0 < n:
        r1 = max(int(torch.searchsorted(cum, done + budget, right=True)), r0 + 1)
        bounds.append((r0, r1))
        done = int(cum[r1 - 1])
        r0 = r1
    return bounds


def _local_query_expansion(v: _Csr, nbrs: Tensor) -> _Csr:
    """``V[i] <- mean(V[nbrs[i]])`` row by row (step 6)."""
    n, k = nbrs.shape
    counts: list[Tensor] = []
    cols: list[Tensor] = []
    vals: list[Tensor] = []
    lengths = (v.crow[1:] - v.crow[:-1])[nbrs].sum(dim=1)  # gathered entries per row
    for r0, r1 in _chunks_by_cost(lengths, _CHUNK_BUDGET):
        seg, col, val = _gather_rows(v, nbrs[r0:r1].reshape(-1))
        key = torch.div(seg, k, rounding_mode="floor") * n + col
        key, perm = torch.sort(key, stable=True)  # stable: sums run over k in order
        uniq, inverse = torch.unique_consecutive(key, return_inverse=True)
        total = torch.zeros(uniq.shape[0], dtype=torch.float32, device=v.val.device)
        total.index_add_(0, inverse, val[perm])
        row = torch.div(uniq, n, rounding_mode="floor")
        counts.append(torch.bincount(row, minlength=r1 - r0))
        cols.append(uniq - row * n)
        vals.append(total / k)
    return _csr(torch.cat(counts), torch.cat(cols), torch.cat(vals))


# --------------------------------------------------------------------------- Jaccard


def _jaccard_and_combine(
    out: Tensor, v: _Csr, num_query: int, scale_q: Tensor, lam: float, block: int
) -> None:
    """Overwrite ``out`` (raw query × gallery ``D``) with the final distances (steps 7-8).

    Pairs whose vectors do not overlap have ``m = 0``, so ``jaccard = 1`` exactly and the final
    value is ``(1 - λ) + dist · λ``: that is written densely. The ``min`` sums of overlapping
    pairs are accumulated in a dense (block × #gallery) buffer through the inverted index, and
    only the touched positions are then rewritten (and the buffer reset).
    """
    n = v.crow.shape[0] - 1
    num_gallery = n - num_query
    device = out.device
    # inverted index over the gallery rows: for each column, its gallery rows and values
    g0 = int(v.crow[num_query])
    g_rows = torch.repeat_interleave(v.crow[num_query + 1 :] - v.crow[num_query:-1])
    order = torch.argsort(v.col[g0:], stable=True)
    inv_row = g_rows[order]
    inv_val = v.val[g0:][order]
    inv_count = torch.bincount(v.col[g0:], minlength=n)
    inv_start = torch.cumsum(inv_count, dim=0) - inv_count
    acc = torch.zeros(min(block, num_query) * num_gallery, dtype=torch.float32, device=device)
    for b0, b1 in _tiles(0, num_query, block):
        e0, e1 = int(v.crow[b0]), int(v.crow[b1])
        e_row = torch.repeat_interleave(v.crow[b0 + 1 : b1 + 1] - v.crow[b0:b1])
        e_col, e_val = v.col[e0:e1], v.val[e0:e1]
        e_count = inv_count[e_col]
        size = (b1 - b0) * num_gallery
        touched: list[Tensor] | None = []
        num_touched = 0
        for s, t in _chunks_by_cost(e_count, _TRIPLE_CHUNK):
            cnt = e_count[s:t]
            seg = torch.repeat_interleave(cnt)
            pos = torch.arange(seg.shape[0], device=device)
            pos += (inv_start[e_col[s:t]] - (torch.cumsum(cnt, dim=0) - cnt))[seg]
            flat = e_row[s:t][seg] * num_gallery + inv_row[pos]
            acc.index_add_(0, flat, torch.minimum(e_val[s:t][seg], inv_val[pos]))
            if touched is not None:
                touched.append(flat)
                num_touched += flat.shape[0]
                if 2 * num_touched > size:  # the index lists would outgrow the block: scan it
                    touched = None
        block_out = out[b0:b1]
        if touched is None:
            flat = acc[:size].nonzero().squeeze(1)  # every sum of positive minima is > 0
        elif touched:
            flat = torch.cat(touched)
        else:
            flat = torch.zeros(0, dtype=torch.int64, device=device)
        mins = acc[flat]
        acc[flat] = 0.0
        raw = block_out.reshape(-1)[flat]
        rows = torch.div(flat, num_gallery, rounding_mode="floor")
        dist = raw * raw / scale_q[b0:b1][rows]
        jaccard = 1 - mins / (2.0 - mins)
        fixed = jaccard * (1 - lam) + dist * lam
        # dense part: jaccard = 1
        block_out.mul_(block_out).div_(scale_q[b0:b1].unsqueeze(1)).mul_(lam).add_(1 - lam)
        block_out.view(-1)[flat] = fixed
