"""Ranking-metrics benchmark at AG-ReID A→G scale (4348 queries × 19259 gallery, 768-d).

    python benchmarks/bench_metrics.py [--quick]

Builds a synthetic problem (~190 identities, so every query has ~100 matches; query and
gallery cameras are disjoint), computes the cosine distance matrix once, checks that
``evaluate_ranking`` equals a plain argsort reference evaluator, then runs each candidate
in a fresh ``spawn`` child: one full run for the peak extra memory (peak RSS during the
run − RSS before, from /proc VmHWM reset via clear_refs, because a spawned child's
``ru_maxrss`` starts at its parent's RSS; ru_maxrss where there is no /proc), then three
timed runs (median reported). Start Python with
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295``
so that freed memory is not unmapped and the peak is seen (set here for the children too).
``--quick`` runs a 10× smaller problem (CI smoke run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agreid_core.evaluation import evaluate_features, evaluate_ranking, pairwise_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared _memory helper

from _memory import memory_kib, reset_peak

Array = np.ndarray[Any, Any]
GLIBC = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"
FULL = {"n_query": 4348, "n_gallery": 19259, "dim": 768, "n_ids": 190}
REPEATS = 3


def make_problem(quick: bool, seed: int = 0) -> dict[str, Array]:
    """Identity-clustered random features (cosine R1 ≈ 0.5), pids and disjoint cameras."""
    scale = 10 if quick else 1
    n_q, n_g = FULL["n_query"] // scale, FULL["n_gallery"] // scale
    dim, n_ids = FULL["dim"], FULL["n_ids"] // scale
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_ids, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
    q_pids, g_pids = rng.integers(0, n_ids, n_q), rng.integers(0, n_ids, n_g)
    noise = np.float32(0.15)
    return {
        "qf": centres[q_pids] + noise * rng.standard_normal((n_q, dim), dtype=np.float32),
        "gf": centres[g_pids] + noise * rng.standard_normal((n_g, dim), dtype=np.float32),
        "q_pids": q_pids,
        "g_pids": g_pids,
        "q_camids": np.zeros(n_q, dtype=np.int64),  # aerial
        "g_camids": rng.integers(1, 3, n_g),  # two ground cameras
    }


def reference_evaluate(
    distmat: Array, q_pids: Array, g_pids: Array, q_camids: Array, g_camids: Array
) -> tuple[Array, float, float]:
    """Straightforward evaluator: one stable argsort of the whole matrix, then per query
    drop same-pid-same-camera junk and read CMC, AP and INP off the match vector."""
    max_rank = 50
    order = np.argsort(distmat, axis=1, kind="stable")
    matches = (g_pids[order] == q_pids[:, None]).astype(np.int32)
    cmcs, aps, inps = [], [], []
    for i in range(distmat.shape[0]):
        junk = (g_pids[order[i]] == q_pids[i]) & (g_camids[order[i]] == q_camids[i])
        hit = matches[i][~junk]
        if not hit.any():
            continue
        found = hit.cumsum()
        positions = np.flatnonzero(hit)
        cmc = np.minimum(found, 1)[:max_rank].astype(np.float64)
        if len(cmc) < max_rank:
            cmc = np.pad(cmc, (0, max_rank - len(cmc)), mode="edge")
        cmcs.append(cmc)
        aps.append(float(np.mean(found[positions] / (positions + 1.0))))
        inps.append(len(positions) / (positions[-1] + 1.0))
    return np.mean(cmcs, axis=0), float(np.mean(aps)), float(np.mean(inps))


# --------------------------------------------------------------------------- children


def _load(folder: Path, keys: list[str]) -> dict[str, Array]:
    return {k: np.load(folder / f"{k}.npy") for k in keys}


def _candidate(name: str, data: dict[str, Array]) -> Callable[[], object]:
    ids = [data[k] for k in ("q_pids", "g_pids", "q_camids", "g_camids")]
    if name == "reference argsort":
        return lambda: reference_evaluate(data["distmat"], *ids)
    if name == "evaluate_ranking":
        return lambda: evaluate_ranking(data["distmat"], *ids)
    qf, gf = torch.from_numpy(data["qf"]), torch.from_numpy(data["gf"])
    if name == "GEMM distance":
        return lambda: pairwise_distance(qf, gf, "cosine")
    if name == "evaluate_features":
        return lambda: evaluate_features(qf, gf, *ids)
    raise KeyError(name)


def _measure(name: str, folder: str) -> dict[str, object]:
    """Runs in a fresh spawn child: peak-RSS delta and wall times of one candidate."""
    # load only the inputs: a freed array would leave heap space that hides the peak
    inputs = ["distmat"] if name in ("reference argsort", "evaluate_ranking") else ["qf", "gf"]
    data = _load(Path(folder), [*inputs, "q_pids", "g_pids", "q_camids", "g_camids"])
    fn = _candidate(name, data)
    small = {
        k: (v[:8] if k in ("qf", "q_pids", "q_camids", "distmat") else v) for k, v in data.items()
    }
    _candidate(name, small)()  # warm-up: imports, kernels, thread pools
    reset_peak()
    before = memory_kib()[0]
    fn()  # first full run: memory (later runs reuse the heap it grew); page faults are here
    peak_kib = memory_kib()[1] - before
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"name": name, "times": times, "peak_mb": peak_kib / 1024}


def _spawn_measure(name: str, folder: str) -> dict[str, object]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_measure, (name, folder))


# --------------------------------------------------------------------------- driver


def run(quick: bool) -> list[dict[str, object]]:
    """Build, verify, measure; one row per candidate (seconds = median of 3)."""
    os.environ.setdefault("GLIBC_TUNABLES", GLIBC)  # inherited by the spawn children
    data = make_problem(quick)
    distmat = pairwise_distance(
        torch.from_numpy(data["qf"]), torch.from_numpy(data["gf"]), "cosine"
    )
    data["distmat"] = distmat.numpy()
    ids = [data[k] for k in ("q_pids", "g_pids", "q_camids", "g_camids")]
    ours = evaluate_ranking(data["distmat"], *ids)
    ref_cmc, ref_map, ref_minp = reference_evaluate(data["distmat"], *ids)
    assert np.allclose(ours.cmc, ref_cmc, rtol=0, atol=1e-6), "CMC differs from the reference"
    assert abs(ours.mAP - ref_map) <= 1e-6, (ours.mAP, ref_map)
    assert abs(ours.mINP - ref_minp) <= 1e-6, (ours.mINP, ref_minp)
    distmat_mb = data["distmat"].nbytes / 2**20
    names = [
        "reference argsort",
        "evaluate_ranking",
        "GEMM distance",
        "evaluate_features",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as folder:
        for key, value in data.items():
            np.save(Path(folder) / f"{key}.npy", value)
        del data, distmat
        rows: list[dict[str, Any]] = [_spawn_measure(name, folder) for name in names]
    ref_seconds = statistics.median(rows[0]["times"])
    for row in rows:
        row["seconds"] = statistics.median(row["times"])
        row["speedup_vs_reference"] = ref_seconds / row["seconds"]
        row["distmat_mb"] = distmat_mb
        row["peak_fraction_of_distmat"] = row["peak_mb"] / distmat_mb
        row["problem"] = f"{len(ids[0])}x{len(ids[1])}"
        row["rank1"], row["mAP"], row["mINP"] = ours.rank(1), ours.mAP, ours.mINP
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    first = rows[0]
    table = Table(
        title=f"ranking metrics, {first['problem']} float32 distmat "
        f"({first['distmat_mb']:.0f} MB); R1 {first['rank1']:.3f} mAP {first['mAP']:.4f}"
    )
    for col in ("candidate", "median s", "runs s", "vs ref", "peak MB", "peak/distmat"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['seconds']:.3f}",
            " ".join(f"{t:.2f}" for t in r["times"]),
            f"{r['speedup_vs_reference']:.1f}x faster",
            f"{r['peak_mb']:.0f}",
            f"{r['peak_fraction_of_distmat']:.0%}",
        )
    Console(width=110).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10x smaller problem (smoke run)")
    args = parser.parse_args()
    _print(run(args.quick))


if __name__ == "__main__":
    main()
