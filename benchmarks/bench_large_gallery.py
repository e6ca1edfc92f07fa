"""A million-item gallery evaluated block-wise from features in bounded memory.

    python benchmarks/bench_large_gallery.py [--quick] [--queries N]

Builds 10⁶ × 512 float32 gallery features (2 GiB, 50,000 identities, two cameras) and
``--queries`` (default 200) queries, then runs ``evaluate_features`` once and reports the
wall time and the peak resident memory of the whole process (features included).
The target is < 4 GiB in all: a dense 200 × 10⁶ float32 distance matrix alone would be
0.8 GB and an N² one (gallery re-ranking style)
4 TB. Start Python with ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:
glibc.malloc.trim_threshold=4294967295`` so that freed blocks stay mapped and the peak is
seen. ``--quick`` uses 10⁵ gallery items (CI smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from agreid_core.evaluation import evaluate_features

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared _memory helper

from _memory import memory_kib, reset_peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10⁵ gallery items")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    n_gallery = 100_000 if args.quick else 1_000_000
    n_ids, dim = n_gallery // 20, 512
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(n_ids, dim, generator=gen)
    g_pids = torch.randint(0, n_ids, (n_gallery,), generator=gen)
    gf = torch.empty(n_gallery, dim)
    for a in range(0, n_gallery, 65536):  # chunked: no second gallery-sized temporary
        b = min(a + 65536, n_gallery)
        gf[a:b] = centres[g_pids[a:b]] + torch.randn(b - a, dim, generator=gen)
    q_pids = torch.randint(0, n_ids, (args.queries,), generator=gen)
    qf = centres[q_pids] + torch.randn(args.queries, dim, generator=gen)
    q_cams = torch.zeros(args.queries, dtype=torch.long)
    g_cams = torch.randint(1, 3, (n_gallery,), generator=gen)
    evaluate_features(gf[:2], gf[:1000], g_pids[:2], g_pids[:1000], q_cams[:2], g_cams[:1000])
    reset_peak()
    start = time.perf_counter()
    m = evaluate_features(qf, gf, q_pids, g_pids, q_cams, g_cams)
    seconds = time.perf_counter() - start
    _, peak = memory_kib()
    feature_gib = gf.numel() * 4 / 2**30
    print(f"gallery {n_gallery:,} × {dim} float32 ({feature_gib:.2f} GiB), {args.queries} queries")
    print("| seconds | peak process GiB (features included) | R1 | mAP |")
    print("|---|---|---|---|")
    print(f"| {seconds:.1f} | {peak / 2**20:.2f} | {100 * m.rank(1):.1f} | {100 * m.mAP:.1f} |")
    if peak / 2**20 >= 4.0:
        raise SystemExit(f"peak {peak / 2**20:.2f} GiB is not under the 4 GiB target")


if __name__ == "__main__":
    main()
