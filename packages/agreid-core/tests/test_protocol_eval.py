"""Every protocol of every loader, on generated trees whose correct numbers are known by
construction; slices (altitude, distractors), oracle guards, masks, centroids, re-ranking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from agreid_core.config import EvalConfig
from agreid_core.data.dataset import LoadOptions, ReIDData
from agreid_core.data.datasets.agreid_challenge23 import load_agreid_challenge23
from agreid_core.data.datasets.agreid_v1 import load_agreid_v1
from agreid_core.data.datasets.agreid_v2 import load_agreid_v2
from agreid_core.data.datasets.agvpreid import load_agvpreid
from agreid_core.data.datasets.market1501 import load_market1501
from agreid_core.data.datasets.mars import load_g2a_vreid, load_mars
from agreid_core.evaluation.protocol_eval import ALL, FULL, NO_DISTRACTORS, evaluate_protocols
from agreid_core.evaluation.report import evaluation_rows

from . import test_agreid_challenge23 as ch23
from . import test_agreid_v2 as v2
from . import test_agvpreid as vp
from . import test_market1501 as market
from . import test_mars as mars
from .conftest import make_v1_tree, write_image


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREID_CACHE", str(tmp_path / "cache"))


def _files(root: Path, files: dict[str, list[str]]) -> Path:
    for i, (folder, names) in enumerate(files.items()):
        for j, name in enumerate(names):
            write_image(root / folder / name, seed=100 * i + j)
    return root


def _v1(tmp: Path) -> ReIDData:
    root = tmp / "AG-ReID"
    make_v1_tree(root)
    return load_agreid_v1(root, LoadOptions())


def _v2(tmp: Path) -> ReIDData:
    root = tmp / "AG-ReID.v2"
    for i, rel in enumerate(
        [*v2.TRAIN, v2.Q10, v2.Q10C, v2.Q10W, v2.Q11, v2.G10C, v2.G10W, v2.G10A, v2.G11C, v2.G11A]
    ):
        write_image(root / rel, seed=i)
    for stem, lines in v2.LISTS.items():
        (root / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    return load_agreid_v2(root, LoadOptions())


def _mars(tmp: Path) -> ReIDData:
    root = tmp / "MARS"
    mars.write_split(root, "train", mars.MARS_TRAIN, 4)
    mars.write_split(root, "test", mars.MARS_TEST, 4)
    mars.write_query(root, [1, 3])
    return load_mars(root, LoadOptions())


def _g2a(tmp: Path) -> ReIDData:
    root = tmp / "G2A"
    mars.write_split(root, "train", mars.G2A_TRAIN, 5)
    mars.write_split(root, "test", mars.G2A_TEST, 5)
    mars.write_query(root, [1, 3])
    mars.write_query(root, [2, 4], "query_IDX_A2G")
    return load_g2a_vreid(root, LoadOptions())


LOADERS: dict[str, Callable[[Path], ReIDData]] = {
    "agreid-v1": _v1,
    "agreid-v2": _v2,
    "agreid-challenge23": lambda t: load_agreid_challenge23(
        _files(t / "AG-ReID", ch23.FILES), LoadOptions()
    ),
    "market1501": lambda t: load_market1501(
        _files(t / "Market-1501-v15.09.15", market.FILES), LoadOptions()
    ),
    "agvpreid": lambda t: load_agvpreid(vp.make_tree(t / "AG-VPReID"), LoadOptions()),
    "mars": _mars,
    "g2a-vreid": _g2a,
}


def constructed_features(test: pl.DataFrame) -> tuple[torch.Tensor, set[int]]:
    """One-hot identity features; every third test row is given a decoy identity instead.

    Returns the features and the set of corrupted rows.
    """
    pids = sorted(set(test["pid"].to_list()))
    dim = len(pids) + 1
    feats = torch.zeros(test.height, dim)
    corrupted: set[int] = set()
    for row, pid in enumerate(test["pid"].to_list()):
        slot = pids.index(pid)
        if row % 3 == 0:
            slot = (slot + 1) % len(pids)
            corrupted.add(row)
        feats[row, slot] = 1.0
    return feats, corrupted


def brute_force(
    dist: np.ndarray, qp: list[int], gp: list[int], qc: list[int], gc: list[int]
) -> tuple[float, float, int]:
    """Per-query Market-1501 R1 and mAP (percent) and the number of valid queries."""
    hits, aps = [], []
    for i in range(len(qp)):
        order = np.argsort(dist[i], kind="stable")
        keep = [j for j in order if not (gp[j] == qp[i] and gc[j] == qc[i])]
        match = np.array([gp[j] == qp[i] for j in keep])
        if not match.any():
            continue
        ranks = np.flatnonzero(match)
        aps.append(np.mean([(k + 1) / (r + 1) for k, r in enumerate(ranks)]))
        hits.append(float(match[0]))
    return 100 * float(np.mean(hits)), 100 * float(np.mean(aps)), len(hits)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_every_protocol_matches_the_construction(name: str, tmp_path: Path) -> None:
    data = LOADERS[name](tmp_path)
    test = evaluation_rows(data)
    feats, corrupted = constructed_features(test)
    result = evaluate_protocols(data, test, feats, EvalConfig(), method="constructed")
    table = result.table
    main = table.filter((pl.col("altitude") == ALL) & (pl.col("gallery") == FULL))
    assert main["protocol"].to_list()[: len(data.protocols)] == [p.name for p in data.protocols]
    for proto in data.protocols:
        q = test.filter(pl.col("subset").is_in(list(proto.query_subsets)))
        g = test.filter(pl.col("subset").is_in(list(proto.gallery_subsets)))
        qp, gp = q["pid"].to_list(), g["pid"].to_list()
        qc, gc = q["camid"].to_list(), g["camid"].to_list()
        valid = [
            i
            for i in range(q.height)
            if any(gp[j] == qp[i] and gc[j] != qc[i] for j in range(g.height))
        ]
        # by construction: an uncorrupted valid query ranks its identity first
        rows = q["row"].to_list()
        correct = [i for i in valid if rows[i] not in corrupted or _decoy_absent(i, q, g, feats)]
        row = main.filter(pl.col("protocol") == proto.name).row(0, named=True)
        assert row["queries"] == len(valid)
        assert row["skipped"] == q.height - len(valid)
        qf = feats[torch.as_tensor(q["row"].cast(pl.Int64).to_numpy().copy())]
        gf = feats[torch.as_tensor(g["row"].cast(pl.Int64).to_numpy().copy())]
        dist = (1 - qf @ gf.T).numpy()
        r1, m_ap, n = brute_force(dist, qp, gp, qc, gc)
        assert n == len(valid)
        assert row["R1"] == pytest.approx(r1, abs=1e-9)
        assert row["mAP"] == pytest.approx(m_ap, abs=1e-6)
        assert row["R1"] <= 100 * len(correct) / len(valid) + 1e-9
    if len(data.protocols) > 1:
        overall = table.filter(pl.col("protocol") == "overall").row(0, named=True)
        proto_rows = main.filter(pl.col("protocol") != "overall")
        assert overall["queries"] == proto_rows["queries"].sum()
        expect = (proto_rows["R1"] * proto_rows["queries"]).sum() / proto_rows["queries"].sum()
        assert overall["R1"] == pytest.approx(expect)


def _decoy_absent(i: int, q: pl.DataFrame, g: pl.DataFrame, feats: torch.Tensor) -> bool:
    """A corrupted query whose decoy identity is not in the gallery still ranks right."""
    qf = feats[int(q["row"][i])]
    gf = feats[torch.as_tensor(g["row"].cast(pl.Int64).to_numpy().copy())]
    return not bool(((gf @ qf) > 0.5).any())


def test_uncorrupted_features_give_perfect_scores(tmp_path: Path) -> None:
    data = LOADERS["agreid-challenge23"](tmp_path)
    test = evaluation_rows(data)
    pids = sorted(set(test["pid"].to_list()))
    feats = torch.nn.functional.one_hot(
        torch.as_tensor([pids.index(p) for p in test["pid"].to_list()]), len(pids)
    ).float()
    table = evaluate_protocols(data, test, feats, EvalConfig(), method="m").table
    assert table["R1"].to_list() == [100.0] * table.height
    assert table["mAP"].to_list() == [100.0] * table.height


def test_altitude_and_distractor_slices(tmp_path: Path) -> None:
    data = LOADERS["agvpreid"](tmp_path)
    test = evaluation_rows(data)
    feats, _ = constructed_features(test)
    table = evaluate_protocols(data, test, feats, EvalConfig(), method="m").table
    for proto in ("A→G", "G→A"):
        rows = table.filter((pl.col("protocol") == proto) & (pl.col("gallery") == FULL))
        assert sorted(rows["altitude"].to_list()) == ["120 m", "80 m", ALL]
        alt = rows.filter(pl.col("altitude") != ALL)
        whole = rows.filter(pl.col("altitude") == ALL).row(0, named=True)
        assert alt["queries"].sum() == whole["queries"]
        weighted = (alt["R1"] * alt["queries"]).sum() / alt["queries"].sum()
        assert weighted == pytest.approx(whole["R1"])
    # one overall row per altitude (Tables 4-5): A→G and G→A of that altitude, query-weighted
    overall = table.filter(pl.col("protocol") == "overall")
    assert overall["altitude"].to_list() == [ALL, "80 m", "120 m"]
    for altitude in ("80 m", "120 m"):
        parts = table.filter(
            (pl.col("protocol") != "overall")
            & (pl.col("altitude") == altitude)
            & (pl.col("gallery") == FULL)
        )
        assert parts["protocol"].to_list() == ["A→G", "G→A"]
        row = overall.filter(pl.col("altitude") == altitude).row(0, named=True)
        assert row["queries"] == parts["queries"].sum()
        for metric in ("R1", "mAP"):
            expect = (parts[metric] * parts["queries"]).sum() / parts["queries"].sum()
            assert row[metric] == pytest.approx(expect)
    # case 2's gallery holds an aerial distractor identity (3065) that no query has
    nd = table.filter((pl.col("protocol") == "G→A") & (pl.col("gallery") == NO_DISTRACTORS))
    assert nd.height == 1
    assert table.filter(
        (pl.col("protocol") == "A→G") & (pl.col("gallery") == NO_DISTRACTORS)
    ).is_empty()


def test_distractors_only_change_the_full_gallery_row(tmp_path: Path) -> None:
    data = LOADERS["agreid-challenge23"](tmp_path)
    test = evaluation_rows(data)
    pids = sorted(set(test["pid"].to_list()))
    feats = torch.nn.functional.one_hot(
        torch.as_tensor([pids.index(p) for p in test["pid"].to_list()]), len(pids)
    ).float()
    # every A→G query is made identical to the add-on distractor: it ranks first
    add_on = test.filter(pl.col("subset") == "gallery_add_on/exp3_aerial_to_ground")
    queries = test.filter(pl.col("subset") == "exp3_aerial_to_ground/query")
    for r in queries["row"].to_list():
        feats[r] = feats[r] + 2 * feats[int(add_on["row"][0])]
    table = evaluate_protocols(data, test, feats, EvalConfig(), method="m").table
    a2g = table.filter(pl.col("protocol") == "A→G")
    full = a2g.filter(pl.col("gallery") == FULL).row(0, named=True)
    clean = a2g.filter(pl.col("gallery") == NO_DISTRACTORS).row(0, named=True)
    assert full["R1"] == 0.0 and clean["R1"] == 100.0


def test_altitude_tables_have_the_video_report_layout(tmp_path: Path) -> None:
    from agreid_core.engine.bench import altitude_tables

    data = LOADERS["agvpreid"](tmp_path)
    test = evaluation_rows(data)
    feats, _ = constructed_features(test)
    a = evaluate_protocols(data, test, feats, EvalConfig(), method="a").table
    b = evaluate_protocols(data, test, torch.rand_like(feats), EvalConfig(), method="b").table
    tables = altitude_tables([("a", a), ("b", b)])
    assert list(tables) == [ALL, "80 m", "120 m"]
    protocols = ("A→G", "G→A", "overall")
    # Table 3: R1/R5/R10/mAP per protocol; Tables 4-5: R1/mAP per protocol at one altitude
    assert tables[ALL].columns == ["method"] + [
        f"{p} {m}" for p in protocols for m in ("R1", "R5", "R10", "mAP")
    ]
    assert tables["80 m"].columns == ["method"] + [
        f"{p} {m}" for p in protocols for m in ("R1", "mAP")
    ]
    assert tables[ALL]["method"].to_list() == ["a", "b"]
    for altitude, table in tables.items():
        for i, results in enumerate((a, b)):
            for p in protocols:
                row = results.filter(
                    (pl.col("protocol") == p)
                    & (pl.col("altitude") == altitude)
                    & (pl.col("gallery") == FULL)
                ).row(0, named=True)
                assert table[f"{p} mAP"][i] == row["mAP"]
    # image datasets have no altitude rows: no extra tables
    ch = LOADERS["agreid-challenge23"](tmp_path / "ch")
    ch_test = evaluation_rows(ch)
    ch_feats, _ = constructed_features(ch_test)
    image = evaluate_protocols(ch, ch_test, ch_feats, EvalConfig(), method="c").table
    assert altitude_tables([("c", image)]) == {}


def test_video_leaderboard_counts_clips_and_tracklets(tmp_path: Path) -> None:
    from agreid_core.engine.bench import leaderboard
    from agreid_core.engine.run import RunOutcome
    from agreid_core.engine.trainer import TrainResult

    data = LOADERS["agvpreid"](tmp_path)
    test = evaluation_rows(data)
    feats, _ = constructed_features(test)
    table = evaluate_protocols(data, test, feats, EvalConfig(), method="m").table
    train = TrainResult(
        epochs=1,
        steps=2,
        seconds=4.0,
        images_per_second=8.0,
        data_wait_fraction=0.25,
        final_loss=1.0,
    )
    outcome = RunOutcome(results=table, train=train, output_dir=tmp_path, config={})
    board = leaderboard([("m", "cpu", outcome)], "video")
    assert board["train clips/s"].to_list() == [8.0]
    assert "infer tracklets/s" in board.columns and "train img/s" not in board.columns
    assert board["data wait %"].to_list() == [25.0]
    overall_80 = table.filter((pl.col("protocol") == "overall") & (pl.col("altitude") == "80 m"))
    assert board["overall 80 m R1"].to_list() == overall_80["R1"].to_list()
    assert board.columns[-7:-5] == ["overall 120 m R1", "overall 120 m mAP"]
    assert "train img/s" in leaderboard([("m", "cpu", outcome)]).columns  # image default
