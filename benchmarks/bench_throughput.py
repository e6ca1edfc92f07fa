"""Training and inference throughput of the ``cpu`` profiles, and the data-wait share.

    python benchmarks/bench_throughput.py [--quick] [--methods all|bot,sbs,…] [--iters N] [--csv F]

For each method: build its ``cpu`` profile on the embedded data (image methods) or the
embedded video data (video methods), train ``--iters`` steps with the real trainer (P×K
batches decoded by the profile's DataLoader workers, augmentation, loss, optimiser) and
report images (clips) per second and the share of step time spent waiting for the next batch
(target: under 10%); then embed ``--infer`` test images (tracklets, every frame in clips of
the profile's ``clip_length``) and report inference items per second. ``--methods all`` (the
default) measures every registered method, plugins included. One process, run alone: other
work on the machine slows 2-thread torch by 1.5–9×. ``--quick`` trains 4 steps and embeds 64
items (CI smoke run).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl
import torch

from agreid_core.config import override
from agreid_core.data.dataset import LoadOptions, ReIDData
from agreid_core.engine.run import seed_everything
from agreid_core.engine.trainer import Trainer, label_map
from agreid_core.evaluation.extract import extract_features, extract_tracklet_features
from agreid_core.evaluation.report import evaluation_rows
from agreid_core.method import Criterion, DataInfo
from agreid_core.plugins.host import get_host

DEFAULT_METHODS = "all"


def _data(kind: str, cache: dict[str, ReIDData]) -> ReIDData:
    name = "embedded" if kind == "image" else "embedded-video"
    if name not in cache:
        cache[name] = get_host().datasets.get(name).load(None, LoadOptions())
    return cache[name]


def measure(method: str, iters: int, infer: int, cache: dict[str, ReIDData]) -> dict[str, object]:
    """One row: train images/s, data-wait %, inference items/s of ``method``'s cpu profile."""
    host = get_host()
    spec = host.methods.get(method)
    cfg = override(spec.config("cpu"), "training.schedule.epochs", 1)
    cfg = override(cfg, "training.schedule.iters_per_epoch", iters)
    data = _data(spec.kind, cache)
    train = data.train()
    info = DataInfo(
        len(label_map(train["pid"].to_list())),
        int(data.index["camid"].to_numpy().max()) + 1,
        train.height,
    )
    seed_everything(0)
    recipe = spec.build(cfg, info)
    cpu = torch.device("cpu")
    trainer = Trainer(recipe.model, Criterion(recipe.losses), cfg.training, device=cpu, seed=0)
    result = trainer.fit(train)
    test = evaluation_rows(data).head(infer)
    start = time.perf_counter()
    if spec.kind == "video":
        extract_tracklet_features(
            recipe.model,
            test["frames"].to_list(),
            test["camid"].to_list(),
            cfg.training.input,
            device=cpu,
            clip_length=cfg.training.eval.clip_length,
        )
    else:
        extract_features(
            recipe.model,
            test["path"].to_list(),
            test["camid"].to_list(),
            cfg.training.input,
            device=cpu,
            batch_size=cfg.training.eval.batch_size,
        )
    infer_s = time.perf_counter() - start
    inp, smp = cfg.training.input, cfg.training.sampler
    return {
        "method": method,
        "input": f"{inp.height}×{inp.width}",
        "batch": f"{smp.ids_per_batch}×{smp.instances_per_id}",
        "workers": cfg.training.num_workers,
        "train items/s": result.images_per_second,
        "train unit": "clips" if spec.kind == "video" else "images",
        "data wait %": 100 * result.data_wait_fraction,
        "infer items/s": test.height / infer_s,
        "infer unit": "tracklets" if spec.kind == "video" else "images",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--methods", default=DEFAULT_METHODS)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--infer", type=int, default=512)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    iters, infer = (4, 64) if args.quick else (args.iters, args.infer)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    cache: dict[str, ReIDData] = {}
    known = get_host().methods
    names = (
        sorted(known.names())
        if args.methods == "all"
        else [m.strip() for m in args.methods.split(",") if m.strip()]
    )
    unknown = [m for m in names if m not in known]
    if unknown:
        parser.error(f"unknown method(s): {', '.join(unknown)}")
    rows = [measure(m, iters, infer, cache) for m in names]
    table = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=1, tbl_hide_dataframe_shape=True):
        print(table)
    if args.csv:
        table.write_csv(args.csv)


if __name__ == "__main__":
    main()
