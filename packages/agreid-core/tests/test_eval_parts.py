"""Gallery centroids, soft-biometric masks, oracle labelling, re-ranked distance blocks,
submission files, figures and tracklet pooling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from agreid_core.config import EvalConfig, InputConfig
from agreid_core.data.dataset import LoadOptions, ProtocolSpec, ReIDData
from agreid_core.data.datasets.agreid_challenge23 import load_agreid_challenge23
from agreid_core.data.datasets.agvpreid import load_agvpreid
from agreid_core.data.index import make_index
from agreid_core.evaluation.aggregation import mean_by_group
from agreid_core.evaluation.attribute_mask import (
    AttributePenalty,
    attribute_matrix,
    parse_attribute_weights,
)
from agreid_core.evaluation.extract import chunk_clips, extract_tracklet_features
from agreid_core.evaluation.protocol_eval import evaluate_protocols
from agreid_core.evaluation.report import evaluate_model, evaluation_rows, write_evaluation
from agreid_core.evaluation.rerank import k_reciprocal_rerank
from agreid_core.evaluation.scoring import QueryGalleryDistances, RerankOptions, top_k
from agreid_core.evaluation.submission import agreid2023_submission, agvpreid2025_submission
from agreid_core.method import EMBEDDING

from . import test_agreid_challenge23 as ch23
from . import test_agvpreid as vp
from .test_protocol_eval import _files


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGREID_CACHE", str(tmp_path / "cache"))


def test_mean_by_group_hand_computed() -> None:
    f = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0], [0.0, 4.0]])
    out = mean_by_group(f, np.array([7, 7, 8, 7]), np.array([0, 0, 0, 1]))
    assert out.first_member.tolist() == [0, 2, 3]
    assert out.sizes.tolist() == [2, 1, 1]
    assert torch.equal(out.features, torch.tensor([[2.0, 1.0], [5.0, 5.0], [0.0, 4.0]]))


def test_attribute_penalty_only_known_disagreeing_pairs() -> None:
    q = torch.tensor([[0, 1], [-1, 2]])
    g = torch.tensor([[0, 1], [1, 1], [1, -1], [-1, -1]])
    pen = AttributePenalty(q, g, [0.2, 0.1])(0, 2)
    expect = torch.tensor([[0.0, 0.2, 0.2, 0.0], [0.1, 0.1, 0.0, 0.0]])
    assert torch.allclose(pen, expect)


def test_parse_attribute_weights() -> None:
    assert parse_attribute_weights(["gender:0.2", " age : 0.1"]) == {"gender": 0.2, "age": 0.1}
    for bad in ("gender", "gender:x", ":0.2", "age:-1"):
        with pytest.raises(ValueError, match="name:weight|>= 0"):
            parse_attribute_weights([bad])


def test_attribute_matrix_nulls_are_unknown_and_missing_is_named() -> None:
    rows = pl.DataFrame({"attr_gender": [1, None, 0], "attr_age": [2, 3, None]})
    assert attribute_matrix(rows, ["gender", "age"]).tolist() == [[1, 2], [-1, 3], [0, -1]]
    with pytest.raises(KeyError, match="ethnicity"):
        attribute_matrix(rows, ["ethnicity"])


def _toy_data(attrs: bool = True) -> tuple[ReIDData, pl.DataFrame, Tensor]:
    """1 query (pid 1, cam 0), gallery: pid 2 and pid 1 equally close, both cam 1."""
    rows = [
        {"path": "q.jpg", "pid": 1, "camid": 0, "subset": "q", "split": "test"},
        {"path": "g2.jpg", "pid": 2, "camid": 1, "subset": "g", "split": "test"},
        {"path": "g1.jpg", "pid": 1, "camid": 1, "subset": "g", "split": "test"},
        {"path": "g1b.jpg", "pid": 1, "camid": 1, "subset": "g", "split": "test"},
    ]
    if attrs:
        for r, gender in zip(rows, [0, 1, 0, None], strict=True):
            r["attr_gender"] = gender
    index = make_index(rows)
    data = ReIDData("toy", Path("."), "image", index, (ProtocolSpec("q→g", ("q",), ("g",)),))
    feats = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, 0.6], [0.6, 0.8]])
    return data, evaluation_rows(data), feats


def test_oracle_options_need_the_oracle_flag_and_are_labelled() -> None:
    data, test, feats = _toy_data()
    for cfg in (EvalConfig(centroid_gallery=True), EvalConfig(attribute_mask="oracle")):
        with pytest.raises(ValueError, match=r"oracle=true"):
            evaluate_protocols(data, test, feats, cfg, method="m")
    plain = evaluate_protocols(data, test, feats, EvalConfig(), method="m").table
    assert plain["R1"][0] == 0.0  # tie broken by gallery order: pid 2 first
    masked = evaluate_protocols(
        data,
        test,
        feats,
        EvalConfig(attribute_mask="oracle", attribute_penalty=("gender:0.2",), oracle=True),
        method="m",
    )
    assert masked.table["R1"][0] == 100.0  # the disagreeing gender pushes pid 2 down
    assert masked.table["oracle"][0] is True and masked.oracle == ("attribute-mask(oracle)",)


def test_centroid_gallery_uses_identity_camera_means() -> None:
    data, test, _ = _toy_data(attrs=False)
    feats = torch.tensor([[1.0, 0.0], [0.95, 0.3122], [0.6, 0.8], [1.0, 0.0]])
    plain = evaluate_protocols(data, test, feats, EvalConfig(), method="m")
    assert plain.table["R1"][0] == 100.0  # g1b is identical to the query
    ev = evaluate_protocols(
        data, test, feats, EvalConfig(centroid_gallery=True, oracle=True), method="m"
    )
    ranking = ev.rankings[0]
    assert ranking.gallery["path"].to_list() == ["g2.jpg", "g1.jpg"]  # representatives
    # pid 1's centroid (0.8, 0.4) has cosine 0.894 to the query, pid 2 has 0.95
    assert ranking.top_index[0].tolist() == [0, 1]
    assert ev.table["R1"][0] == 0.0 and ev.table["oracle"][0] is True


def test_predicted_attribute_mask_needs_model_output() -> None:
    data, test, feats = _toy_data()
    with pytest.raises(ValueError, match="attribute_labels"):
        evaluate_protocols(data, test, feats, EvalConfig(attribute_mask="predicted"), method="m")
    labels = torch.tensor([[0], [1], [0], [-1]])
    ev = evaluate_protocols(
        data,
        test,
        feats,
        EvalConfig(attribute_mask="predicted", attribute_penalty=("gender:0.5",)),
        method="m",
        attribute_labels=labels,
        attribute_names=("gender",),
    )
    assert ev.table["R1"][0] == 100.0 and ev.oracle == ()  # predicted: not oracle


def test_reranked_blocks_equal_the_reranker_and_penalty_adds() -> None:
    gen = torch.Generator().manual_seed(0)
    q, g = torch.randn(7, 5, generator=gen), torch.randn(30, 5, generator=gen)
    dense = k_reciprocal_rerank(q, g, 5, 3, 0.3)
    src = QueryGalleryDistances(q, g, rerank=RerankOptions(5, 3, 0.3), block_rows=3)
    assert src.reranked and torch.equal(src.dense(), dense)
    pen = QueryGalleryDistances(q, g, penalty=lambda a, b: torch.ones(b - a, 30), block_rows=2)
    plain = QueryGalleryDistances(q, g)
    assert torch.allclose(pen.dense(), plain.dense() + 1)


def test_top_k_stable_and_excluding() -> None:
    block = torch.tensor([[0.5, 0.25, 0.25, 0.0]])
    d, i = top_k(block, 3)
    assert i.tolist() == [[3, 1, 2]] and d.tolist() == [[0.0, 0.25, 0.25]]
    _, i = top_k(block, 2, torch.tensor([False, False, False, True]))
    assert i.tolist() == [[1, 2]]


def _ch23(tmp_path: Path) -> ReIDData:
    return load_agreid_challenge23(_files(tmp_path / "AG-ReID", ch23.FILES), LoadOptions())


def test_agreid2023_submission_skips_add_on_gallery(tmp_path: Path) -> None:
    data = _ch23(tmp_path)
    test = evaluation_rows(data)
    feats = torch.rand(test.height, 4, generator=torch.Generator().manual_seed(1))
    add_on = test.filter(pl.col("subset").str.starts_with("gallery_add_on"))["row"].to_list()
    for r in test.filter(pl.col("subset").str.ends_with("/query"))["row"].to_list():
        feats[r] = feats[add_on[0]]  # the A→G distractor is every A→G query's nearest item
    ev = evaluate_protocols(data, test, feats, EvalConfig(), method="m")
    a2g = ev.rankings[0]
    assert a2g.gallery["subset"][int(a2g.top_index[0, 0])].startswith("gallery_add_on")
    sub = agreid2023_submission(ev.rankings)
    queries = test.filter(pl.col("subset").str.ends_with("/query"))
    assert sub.columns == ["image_id", "person_id"] and sub.height == queries.height
    assert sub["image_id"][0] == "P0010T04150A1C0F00010"
    assert all(p.startswith("P00") and "C" not in p for p in sub["person_id"].to_list())
    assert "P0099T05010A0" not in sub["person_id"].to_list()  # add-on never submitted


def test_agvpreid2025_submission_and_figures(tmp_path: Path) -> None:
    data = load_agvpreid(vp.make_tree(tmp_path / "AG-VPReID"), LoadOptions())
    test = evaluation_rows(data)
    feats = torch.rand(test.height, 4, generator=torch.Generator().manual_seed(2))
    cfg = EvalConfig(ranked_list_queries=2, ranked_list_top_k=3)
    ev = evaluate_protocols(data, test, feats, cfg, method="m")
    sub = agvpreid2025_submission(ev.rankings)
    assert sub.columns == ["row_id", "query_tracklet", "gallery_tracklets"]
    assert sub["row_id"].to_list() == list(range(1, 5))  # 2 case-1 + 2 case-2 queries
    assert sub["query_tracklet"].to_list()[:2] == ["tracklet_11", "tracklet_12"]
    assert [len(s.split()) for s in sub["gallery_tracklets"].to_list()] == [2, 2, 3, 3]
    files = write_evaluation(ev, data.name, tmp_path / "run", cfg, method="m")
    for key in ("results_csv", "results_parquet", "cmc_csv", "submission", "cmc_png"):
        assert files[key].is_file(), key
    assert pl.read_csv(files["submission"]).height == 4
    cmc = pl.read_csv(files["cmc_csv"])
    assert set(cmc["protocol"].to_list()) == {"A→G", "G→A"}
    with Image.open(files["ranked_list_a2g"]) as img:
        img.load()
        # query + top-2 (the A→G gallery has 2 tracklets), 2 query rows
        assert img.size == (3 * (64 + 8 + 4) + 12, 20 + 2 * (128 + 8 + 4))
    with Image.open(files["cmc_png"]) as img:
        assert img.size == (600, 400)


def test_oracle_submission_file_is_labelled(tmp_path: Path) -> None:
    data = _ch23(tmp_path)
    test = evaluation_rows(data)
    feats = torch.rand(test.height, 4, generator=torch.Generator().manual_seed(3))
    honest = EvalConfig(plots=True)
    first = write_evaluation(
        evaluate_protocols(data, test, feats, honest, method="m"),
        data.name,
        tmp_path / "run",
        honest,
        method="m",
    )
    assert first["submission"].name == "submission_agreid2023.csv"
    (tmp_path / "run" / "model.safetensors").write_bytes(b"weights")  # not an eval output
    cfg = EvalConfig(centroid_gallery=True, oracle=True, plots=False)
    ev = evaluate_protocols(data, test, feats, cfg, method="m")
    files = write_evaluation(ev, data.name, tmp_path / "run", cfg, method="m")
    assert files["submission"].name == "submission_agreid2023.oracle.csv"
    assert pl.read_csv(files["results_csv"])["oracle"].all()
    # the re-evaluation left no file of the honest one behind (stale submission, plots)
    left = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert left == [
        "cmc.csv",
        "model.safetensors",
        "results.csv",
        "results.parquet",
        "submission_agreid2023.oracle.csv",
    ]


def test_chunk_clips_covers_every_frame_once() -> None:
    frames = torch.arange(5).view(5, 1, 1, 1).float()
    clips = chunk_clips(frames, 2)
    assert clips.shape == (3, 2, 1, 1, 1)
    assert clips.flatten().tolist() == [0, 1, 2, 3, 4, 0]


class MeanColour(nn.Module):
    """Embeds an image (or a clip) as its mean colour; ``input_kind`` set per test."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.input_kind = kind

    def forward(self, x: Tensor, camids: Tensor | None = None) -> dict[str, Tensor]:
        dims = (1, 3, 4) if x.ndim == 5 else (2, 3)
        return {EMBEDDING: x.mean(dim=dims)}


@pytest.mark.parametrize("kind", ["image", "video"])
def test_tracklet_features_are_temporal_means(kind: str, tmp_path: Path) -> None:
    paths = []
    for i, value in enumerate([0, 60, 120]):
        p = tmp_path / f"f{i}.png"
        Image.new("RGB", (8, 16), (value, value, value)).save(p)
        paths.append(str(p))
    inp = InputConfig(height=16, width=8, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    feats = extract_tracklet_features(
        MeanColour(kind), [paths, paths[:1]], [0, 1], inp, device=torch.device("cpu"), clip_length=2
    )
    # image: mean of the three frames; video: clips [f0, f1], [f2, f0], mean of clip means
    expect = 60 / 255 if kind == "image" else (30 / 255 + 60 / 255) / 2
    assert feats.shape == (2, 3)
    assert feats[0, 0].item() == pytest.approx(expect, abs=1e-5)
    assert feats[1, 0].item() == pytest.approx(0.0, abs=1e-6)


def test_evaluate_model_reports_throughput(tmp_path: Path) -> None:
    data = _ch23(tmp_path)
    inp = InputConfig(height=16, width=8, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    out = evaluate_model(
        MeanColour("image"), data, inp, EvalConfig(), method="m", device=torch.device("cpu")
    )
    assert out.items == evaluation_rows(data).height and out.items_per_second > 0
    assert set(out.table["protocol"].to_list()) == {"A→G", "G→A", "overall"}


def test_registered_evaluators_select_their_protocols(tmp_path: Path) -> None:
    from agreid_core.engine.run import select_protocols
    from agreid_core.plugins.host import get_host

    host = get_host()
    for name in ("agreid-v1", "agreid-v2", "agreid-challenge23", "agvpreid", "market1501"):
        assert name in host.evaluators
    assert host.evaluators.get("agreid-v2").protocols == ("A→C", "A→W", "C→A", "W→A")
    data = _ch23(tmp_path)
    auto = select_protocols(host, data)  # the evaluator named like the dataset
    assert [p.name for p in auto.protocols] == ["A→G", "G→A"]
    only = select_protocols(host, data, "agreid-g2a")
    assert [p.name for p in only.protocols] == ["G→A"]
    with pytest.raises(ValueError, match=r"agreid-v2 needs protocol\(s\) \['A→C'"):
        select_protocols(host, data, "agreid-v2")
