"""Does the embedded synthetic dataset tell a good model from a bad one?

    python benchmarks/bench_embedded.py [--quick] [--epochs N]

Rows, on the embedded default test split (A→G, G→A, overall):

* ``chance``: the expected Rank-1 and mAP of a uniformly random ranking (R1 = mean over
  queries of #matches / #gallery; mAP ≈ the same for random order).
* ``bot-cpu (random init)``: the BoT ``cpu`` model before any training.
* ``bot-cpu (trained)``: the BoT ``cpu`` profile trained as ``agreid run`` does
  (skipped with ``--quick``).

Also reported: ground→ground (CCTV query vs CCTV gallery) Rank-1 of the trained model, to
compare with aerial→ground. Prints a table; ``--csv PATH`` writes it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl
import torch

from agreid_core.config import override
from agreid_core.data.dataset import LoadOptions, ProtocolSpec
from agreid_core.data.embedded import load_embedded
from agreid_core.engine.run import run_method, seed_everything
from agreid_core.engine.trainer import label_map
from agreid_core.evaluation.report import evaluate_model
from agreid_core.method import DataInfo
from agreid_core.plugins.host import get_host

G2G = ProtocolSpec(
    "G→G", ("query_all_c3",), ("bounding_box_test_all_c3",), "CCTV query, CCTV gallery"
)


def chance_rows(
    data_index: pl.DataFrame, protocols: tuple[ProtocolSpec, ...]
) -> list[dict[str, object]]:
    """Expected Rank-1 of a random ranking, per protocol (mAP of random order ≈ the same)."""
    rows: list[dict[str, object]] = []
    for p in protocols:
        q = data_index.filter(pl.col("subset").is_in(list(p.query_subsets)))
        g = data_index.filter(pl.col("subset").is_in(list(p.gallery_subsets)))
        counts = dict(g.group_by("pid").len().iter_rows())
        r1 = sum(counts.get(pid, 0) / g.height for pid in q["pid"].to_list()) / q.height
        rows.append({"model": "chance", "protocol": p.name, "R1": 100 * r1, "mAP": 100 * r1})
    return rows


def run(quick: bool, epochs: int | None = None) -> pl.DataFrame:
    """Build the table (see module docstring)."""
    host = get_host()
    data = load_embedded(None, LoadOptions())
    rows = chance_rows(data.index, data.protocols)
    spec = host.methods.get("bot")
    cfg = spec.config("cpu")
    seed_everything(0)
    train = data.train()
    info = DataInfo(len(label_map(train["pid"].to_list())), 4, train.height)
    model = spec.build(cfg, info).model
    table = evaluate_model(
        model,
        data,
        cfg.training.input,
        cfg.training.eval,
        method="bot-cpu",
        device=torch.device("cpu"),
    )
    rows += [
        {
            "model": "bot-cpu (random init)",
            "protocol": r["protocol"],
            "R1": r["R1"],
            "mAP": r["mAP"],
        }
        for r in table.iter_rows(named=True)
    ]
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            outcome = run_method(
                host, "bot", data, profile="cpu", output_dir=Path(tmp), epochs=epochs
            )
            minutes = (time.perf_counter() - t0) / 60
            rows += [
                {
                    "model": f"bot-cpu (trained, {minutes:.1f} min)",
                    "protocol": r["protocol"],
                    "R1": r["R1"],
                    "mAP": r["mAP"],
                }
                for r in outcome.results.iter_rows(named=True)
            ]
            g2g_data = data
            g2g_data.protocols = (G2G,)
            trained_cfg = (
                cfg if epochs is None else override(cfg, "training.schedule.epochs", epochs)
            )
            g2g = evaluate_model(
                outcome_model(outcome.output_dir, spec, trained_cfg, info),
                g2g_data,
                cfg.training.input,
                cfg.training.eval,
                method="bot-cpu",
                device=torch.device("cpu"),
            )
            rows += [
                {
                    "model": "bot-cpu (trained)",
                    "protocol": "G→G",
                    "R1": g2g["R1"][0],
                    "mAP": g2g["mAP"][0],
                }
            ]
    return pl.DataFrame(rows)


def outcome_model(output_dir: Path, spec: object, cfg: object, info: DataInfo) -> torch.nn.Module:
    """Rebuild the trained model from its saved safetensors weights."""
    from agreid_core.engine.checkpoint import load_weights

    model: torch.nn.Module = spec.build(cfg, info).model  # type: ignore[attr-defined]
    load_weights(model, output_dir / "model.safetensors")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="skip training (chance and random init only)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the cpu profile's epochs"
    )
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    table = run(args.quick, args.epochs)
    with pl.Config(tbl_rows=50, float_precision=2, tbl_hide_dataframe_shape=True):
        print("embedded synthetic data: chance vs random-init vs trained BoT (cpu profile)")
        print(table)
    if args.csv:
        table.write_csv(args.csv)


if __name__ == "__main__":
    main()
