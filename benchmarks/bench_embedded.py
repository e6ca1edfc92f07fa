"""Does the embedded synthetic dataset tell a good model from a bad one?

    python benchmarks/bench_embedded.py [--quick] [--epochs N]

Rows, on the embedded default test split (A→G, G→A, overall):

* ``chance``: the expected Rank-1 and mAP of a uniformly random ranking (R1 = mean over
  queries of #matches / #gallery; mAP ≈ the same for random order).
* ``bot-cpu (random init)``: the BoT ``cpu`` model before any training.
* ``bot-cpu (trained)``: the BoT ``cpu`` profile trained as ``agreid run`` does, or the
  weights given with ``--weights`` (skipped with ``--quick``).

Also reported: ground→ground (``G→G``, CCTV query vs CCTV gallery of the test identities),
to compare with aerial→ground. Prints a table; ``--csv PATH`` writes it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl
import torch

from agreid_core.config import EvalConfig, InputConfig, override
from agreid_core.data.dataset import LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.embedded import load_embedded
from agreid_core.engine.checkpoint import load_weights
from agreid_core.engine.run import run_method, seed_everything
from agreid_core.engine.trainer import label_map
from agreid_core.evaluation.extract import extract_features
from agreid_core.evaluation.metrics import RankingMetrics, evaluate_features
from agreid_core.evaluation.report import evaluate_model
from agreid_core.method import DataInfo
from agreid_core.plugins.host import get_host


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


def ground_to_ground(
    model: torch.nn.Module, data: ReIDData, inp: InputConfig, cfg: EvalConfig
) -> RankingMetrics:
    """CCTV query vs CCTV gallery of the test identities.

    Every CCTV image has camera 3, so the same-camera junk rule would remove every match;
    here gallery images count as another view (camera ids offset), which is what a
    ground→ground comparison with the aerial protocols needs.
    """
    q = data.rows_of(("query_all_c3",))
    g = data.rows_of(("bounding_box_test_all_c3",))
    dev = torch.device("cpu")
    qf = extract_features(model, q["path"].to_list(), q["camid"].to_list(), inp, device=dev)
    gf = extract_features(model, g["path"].to_list(), g["camid"].to_list(), inp, device=dev)
    return evaluate_features(
        qf,
        gf,
        q["pid"].to_numpy(),
        g["pid"].to_numpy(),
        q["camid"].to_numpy(),
        g["camid"].to_numpy() + 100,
        metric=cfg.metric,
    )


def _rows(label: str, table: pl.DataFrame) -> list[dict[str, object]]:
    return [
        {"model": label, "protocol": r["protocol"], "R1": r["R1"], "mAP": r["mAP"]}
        for r in table.iter_rows(named=True)
    ]


def run(quick: bool, epochs: int | None = None, weights: Path | None = None) -> pl.DataFrame:
    """Build the table (see module docstring)."""
    host = get_host()
    data = load_embedded(None, LoadOptions())
    rows = chance_rows(data.index, data.protocols)
    spec = host.methods.get("bot")
    cfg = spec.config("cpu")
    if epochs is not None:
        cfg = override(cfg, "training.schedule.epochs", epochs)
    inp, ev = cfg.training.input, cfg.training.eval
    seed_everything(0)
    train = data.train()
    info = DataInfo(len(label_map(train["pid"].to_list())), 4, train.height)
    model = spec.build(cfg, info).model
    cpu = torch.device("cpu")
    rows += _rows(
        "bot-cpu (random init)",
        evaluate_model(model, data, inp, ev, method="bot", device=cpu).table,
    )
    g2g = ground_to_ground(model, data, inp, ev)
    rows.append(
        {
            "model": "bot-cpu (random init)",
            "protocol": "G→G",
            "R1": 100 * g2g.rank(1),
            "mAP": 100 * g2g.mAP,
        }
    )
    if quick:
        return pl.DataFrame(rows)
    with tempfile.TemporaryDirectory() as tmp:
        if weights is None:
            t0 = time.perf_counter()
            run_method(host, "bot", data, profile="cpu", output_dir=Path(tmp), epochs=epochs)
            label = f"bot-cpu (trained, {(time.perf_counter() - t0) / 60:.1f} min)"
            weights = Path(tmp) / "model.safetensors"
        else:
            label = f"bot-cpu (trained, {weights.name})"
        trained = spec.build(cfg, info).model
        load_weights(trained, weights)
        rows += _rows(label, evaluate_model(trained, data, inp, ev, method="bot", device=cpu).table)
        g2g = ground_to_ground(trained, data, inp, ev)
    rows.append({"model": label, "protocol": "G→G", "R1": 100 * g2g.rank(1), "mAP": 100 * g2g.mAP})
    return pl.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="skip training (chance and random init only)"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the cpu profile's epochs"
    )
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="evaluate these trained weights instead of training",
    )
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    table = run(args.quick, args.epochs, args.weights)
    with pl.Config(tbl_rows=50, float_precision=2, tbl_hide_dataframe_shape=True):
        print("embedded synthetic data: chance vs random-init vs trained BoT (cpu profile)")
        print(table)
    if args.csv:
        table.write_csv(args.csv)


if __name__ == "__main__":
    main()
