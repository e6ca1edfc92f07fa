"""Benchmark: sparse k-reciprocal re-ranking vs the dense reference implementation.

Usage::

    python benchmarks/bench_rerank.py [--quick] [--no-reference] [--block-size N]

Each method runs in a fresh ``spawn`` subprocess, which builds the synthetic features itself
and reports the wall time of the method and its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the interpreter, torch and the
features: the ``baseline`` column is the peak before the method started). Results are written
to a temporary ``.npy`` file so that the parent can compare them.

The problem imitates AG-ReID aerial → ground retrieval: identities are random directions, every
query identity appears in the gallery, aerial (query) and ground (gallery) features carry
different view offsets, and the gallery also holds distractor identities. Full scale is
4,348 queries × 19,259 gallery items × 768 dimensions; ``--quick`` is about 10× smaller.
The dense reference needs about 12 GiB at full scale.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

FULL = (4348, 19259, 768)
QUICK = (435, 1926, 768)
K1, K2, LAMBDA = 20, 6, 0.3


def make_features(num_query: int, num_gallery: int, dim: int, seed: int = 0) -> tuple[Any, Any]:
    """Synthetic aerial queries and ground gallery: (Q, dim), (G, dim) float32 tensors."""
    gen = torch.Generator().manual_seed(seed)
    num_ids = max(2, num_gallery // 16)
    shared = max(1, num_ids // 2)  # identities seen from both views; the rest are distractors
    centres = F.normalize(torch.randn(num_ids, dim, generator=gen), dim=1)
    aerial, ground = F.normalize(torch.randn(2, dim, generator=gen), dim=1)
    q_ids = torch.randint(0, shared, (num_query,), generator=gen)
    g_ids = torch.cat(
        [
            torch.arange(num_gallery) % shared,
            torch.randint(0, num_ids, (num_gallery,), generator=gen),
        ]
    )[torch.randperm(2 * num_gallery, generator=gen)[:num_gallery]]
    noise = 1.1 / dim**0.5
    query = centres[q_ids] + 0.5 * aerial + noise * torch.randn(num_query, dim, generator=gen)
    gallery = centres[g_ids] + 0.5 * ground + noise * torch.randn(num_gallery, dim, generator=gen)
    return query.float(), gallery.float()


# ----------------------------------------------------------------- dense reference (numpy)


def dense_reference(
    q_g: np.ndarray,
    q_q: np.ndarray,
    g_g: np.ndarray,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
    stable: bool = False,
) -> np.ndarray:
    """Dense k-reciprocal re-ranking written from its published description (float32).

    Builds the full (N × N) matrices; ``stable`` picks numpy's stable argsort (ties by index)
    instead of the default one.
    """
    q = q_g.shape[0]
    full = np.concatenate(
        [np.concatenate([q_q, q_g], axis=1), np.concatenate([q_g.T, g_g], axis=1)], axis=0
    )
    del q_q, g_g
    squared = np.power(full, 2).astype(np.float32)
    del full
    dist = np.transpose(squared / np.max(squared, axis=0))
    del squared
    n = dist.shape[0]
    rank = np.argsort(dist, axis=1, kind="stable" if stable else None).astype(np.int32)
    V = np.zeros((n, n), dtype=np.float32)
    kh = int(np.around(k1 / 2.0))

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = rank[i, : k + 1]
        backward = rank[forward, : k + 1]
        return forward[np.where(backward == i)[0]]

    for i in range(n):
        r = reciprocal(i, k1)
        expanded = r
        for c in r:
            rc = reciprocal(int(c), kh)
            if len(np.intersect1d(rc, r)) > 2.0 / 3.0 * len(rc):
                expanded = np.append(expanded, rc)
        expanded = np.unique(expanded)
        weight = np.exp(-dist[i, expanded])
        V[i, expanded] = weight / np.sum(weight)
    if k2 != 1:
        V_qe = np.zeros_like(V)
        for i in range(n):
            V_qe[i] = np.mean(V[rank[i, :k2]], axis=0)
        V = V_qe
        del V_qe
    inverted = [np.where(V[:, j] != 0)[0] for j in range(n)]
    jaccard = np.zeros((q, n), dtype=np.float32)
    for i in range(q):
        temp_min = np.zeros(n, dtype=np.float32)
        for j in np.where(V[i] != 0)[0]:
            rows = inverted[j]
            temp_min[rows] = temp_min[rows] + np.minimum(V[i, j], V[rows, j])
        jaccard[i] = 1 - temp_min / (2.0 - temp_min)
    final = jaccard * (1 - lambda_value) + dist[:q] * lambda_value
    return np.ascontiguousarray(final[:, q:])


def reference_pipeline(query: Any, gallery: Any, k1: int, k2: int, lam: float) -> np.ndarray:
    """What a caller of the dense code does: torch squared distances, then the numpy function."""

    def sq_dist(a: Any, b: Any) -> np.ndarray:
        d = torch.addmm((b * b).sum(1).unsqueeze(0), a, b.T, alpha=-2.0)
        d.add_((a * a).sum(1).unsqueeze(1)).clamp_(min=0.0)
        return np.asarray(d.numpy())

    qn, gn = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
    return dense_reference(sq_dist(qn, gn), sq_dist(qn, qn), sq_dist(gn, gn), k1, k2, lam)


# ----------------------------------------------------------------- measurement


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _worker(
    method: str, shape: tuple[int, int, int], block: int, repeat: int, path: str, queue: Any
) -> None:
    from agreid_core.evaluation.rerank import k_reciprocal_rerank

    query, gallery = make_features(*shape)
    baseline = _peak_mib()
    walls: list[float] = []
    cpus: list[float] = []
    result = np.zeros(0, dtype=np.float32)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        if method == "ours":
            out = k_reciprocal_rerank(query, gallery, K1, K2, LAMBDA, block_size=block)
            result = out.numpy()
        else:
            result = reference_pipeline(query, gallery, K1, K2, LAMBDA)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    peak = _peak_mib()
    np.save(path, result)
    queue.put(
        {
            "seconds": min(walls),
            "median_seconds": float(np.median(walls)),
            "cpu_seconds": cpus[int(np.argmin(walls))],
            "runs": repeat,
            "peak_mib": peak,
            "baseline_mib": baseline,
        }
    )


def _measure(
    method: str, shape: tuple[int, int, int], block: int, repeat: int, path: str
) -> dict[str, object]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(method, shape, block, repeat, path, queue))
    proc.start()
    result: dict[str, object] = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{method} worker failed with exit code {proc.exitcode}")
    return result


def run(
    quick: bool, reference: bool = True, block_size: int = 1024, repeat: int = 3
) -> list[dict[str, object]]:
    """Time both methods, each in a fresh ``spawn`` subprocess; one row per method.

    Ours runs ``repeat`` times in its subprocess (best and median wall time are reported),
    the dense reference once. The reference row also holds the agreement of the two results
    and ``speedup_of_ours`` (reference seconds / our best seconds).
    """
    shape = QUICK if quick else FULL
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ours_path = str(Path(tmp) / "ours.npy")
        ours = _measure("ours", shape, block_size, repeat, ours_path)
        rows.append({"method": "sparse (ours)", "shape": shape, **ours})
        if reference:
            ref_path = str(Path(tmp) / "ref.npy")
            ref = _measure("reference", shape, block_size, 1, ref_path)
            a, b = np.load(ours_path), np.load(ref_path)
            ref["max_abs_diff"] = float(np.abs(a - b).max())
            ref["top1_agreement"] = float((a.argmin(1) == b.argmin(1)).mean())
            ref["speedup_of_ours"] = float(ref["seconds"]) / float(ours["seconds"])  # type: ignore[arg-type]
            rows.append({"method": "dense reference", "shape": shape, **ref})
    return rows


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    first = f"{cells[0]:<{widths[0]}}"
    return first + "".join(f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True))


def _print_table(rows: list[dict[str, object]]) -> None:
    head = (
        "method",
        "Q×G×D",
        "best s",
        "median s",
        "CPU s",
        "runs",
        "peak MiB",
        "base MiB",
        "ratio",
    )
    widths = (16, 18, 8, 9, 8, 5, 9, 9, 7)
    print(_row(head, widths))
    for r in rows:
        shape = r["shape"]
        assert isinstance(shape, tuple)
        ratio = r.get("speedup_of_ours")
        cells = (
            str(r["method"]),
            "×".join(str(v) for v in shape),
            f"{r['seconds']:.2f}",
            f"{r['median_seconds']:.2f}",
            f"{r['cpu_seconds']:.2f}",
            str(r["runs"]),
            f"{r['peak_mib']:.0f}",
            f"{r['baseline_mib']:.0f}",
            "" if ratio is None else f"{ratio:.1f}×",
        )
        print(_row(cells, widths))
    for r in rows:
        if "max_abs_diff" in r:
            print(
                f"max |ours - reference| = {r['max_abs_diff']:.2e}; "
                f"top-1 agreement = {r['top1_agreement']:.4f}"
            )
    print("peak MiB: ru_maxrss of the subprocess; base MiB: its peak before the method ran")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Sparse vs dense k-reciprocal re-ranking.")
    parser.add_argument("--quick", action="store_true", help="about 10x smaller problem")
    parser.add_argument("--no-reference", action="store_true", help="skip the dense reference")
    parser.add_argument("--block-size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best is reported)")
    args = parser.parse_args(argv)
    rows = run(
        args.quick, reference=not args.no_reference, block_size=args.block_size, repeat=args.repeat
    )
    _print_table(rows)


if __name__ == "__main__":
    main()
