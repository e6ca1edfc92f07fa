"""Kaggle submission files of the two challenges, from a run's protocol rankings.

- **AG-ReID 2023** (``agreid2023``): ``image_id,person_id``; one row per query image of A→G
  then G→A; ``image_id`` the query file stem; ``person_id`` the identity string
  (``P0001T03220A1``: the file stem up to the camera code) of the top-1 gallery image,
  skipping the ``gallery_add_on`` distractors as the challenge's script does (they stay in
  the ranking, which matters with re-ranking).
- **AG-VPReID 2025** (``agvpreid2025``): ``row_id,query_tracklet,gallery_tracklets``;
  ``row_id`` 1-based and continuous over case 1 (A→G) then case 2 (G→A);
  ``gallery_tracklets`` the space-separated tracklet folder names of the top 10.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import polars as pl

from agreid_core.evaluation.protocol_eval import ProtocolRanking

SubmissionFormat = Literal["agreid2023", "agvpreid2025"]

#: Registered dataset name → the challenge whose submission format it can produce.
SUBMISSION_FORMATS: dict[str, SubmissionFormat] = {
    "agreid-challenge23": "agreid2023",
    "agreid-v1": "agreid2023",
    "agreid-v2": "agreid2023",
    "embedded": "agreid2023",
    "agvpreid": "agvpreid2025",
    "embedded-video": "agvpreid2025",
}
#: The challenges' protocol order in the merged file.
PROTOCOL_ORDER = ("A→G", "G→A")

_IDENTITY = re.compile(r"^(.+?)C-?\d+F")


def identity_string(path: str, pid: int) -> str:
    """The AG-ReID identity string of an image (``P0001T03220A1``), else ``str(pid)``."""
    match = _IDENTITY.match(Path(path).stem)
    return match.group(1) if match else str(pid)


def _ordered(rankings: list[ProtocolRanking]) -> list[ProtocolRanking]:
    by_name = {r.protocol.name: r for r in rankings}
    ordered = [by_name[n] for n in PROTOCOL_ORDER if n in by_name]
    return ordered + [r for r in rankings if r.protocol.name not in PROTOCOL_ORDER]


def agreid2023_submission(rankings: list[ProtocolRanking]) -> pl.DataFrame:
    """The AG-ReID 2023 ``image_id,person_id`` table (A→G rows, then G→A)."""
    image_ids: list[str] = []
    person_ids: list[str] = []
    for r in _ordered(rankings):
        best = r.top1_skipping_distractors
        top1 = (best if best is not None else r.top_index[:, 0]).tolist()
        g_paths, g_pids = r.gallery["path"].to_list(), r.gallery["pid"].to_list()
        image_ids.extend(Path(p).stem for p in r.query["path"].to_list())
        person_ids.extend(identity_string(g_paths[j], g_pids[j]) for j in top1)
    return pl.DataFrame({"image_id": image_ids, "person_id": person_ids})


def agvpreid2025_submission(rankings: list[ProtocolRanking], top: int = 10) -> pl.DataFrame:
    """The AG-VPReID 2025 ``row_id,query_tracklet,gallery_tracklets`` table."""
    queries: list[str] = []
    lists: list[str] = []
    for r in _ordered(rankings):
        names = r.gallery["tracklet"].to_list()
        queries.extend(r.query["tracklet"].to_list())
        lists.extend(" ".join(names[j] for j in row[:top]) for row in r.top_index.tolist())
    return pl.DataFrame(
        {
            "row_id": list(range(1, len(queries) + 1)),
            "query_tracklet": queries,
            "gallery_tracklets": lists,
        }
    )


def write_submission(
    dataset: str, rankings: list[ProtocolRanking], out_dir: Path, oracle: bool = False
) -> Path | None:
    """Write the challenge submission CSV for ``dataset`` (None when it has no challenge).

    The file is ``submission_<challenge>.csv``, or ``submission_<challenge>.oracle.csv`` when
    the ranking used test ground truth.
    """
    fmt = SUBMISSION_FORMATS.get(dataset)
    if fmt is None:
        return None
    table = (
        agreid2023_submission(rankings)
        if fmt == "agreid2023"
        else agvpreid2025_submission(rankings)
    )
    path = out_dir / f"submission_{fmt}{'.oracle' if oracle else ''}.csv"
    table.write_csv(path)
    return path
