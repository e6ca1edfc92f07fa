"""``agreid data``: generate synthetic dataset trees and summarize dataset trees.

The counting lives in :func:`agreid_core.data.summary.summarize`; this module only renders it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agreid_cli.ui import print_table
from agreid_core.data.dataset import ReIDData
from agreid_core.engine.run import DEFAULT_FORMAT, load_data
from agreid_core.plugins.host import get_host
from agreid_core.plugins.registry import UnknownNameError

data_app = typer.Typer(
    name="data", help="Inspect and generate datasets.", no_args_is_help=True, add_completion=False
)
console = Console()
err = Console(stderr=True, soft_wrap=True)

#: ``--kind`` values ``data synth`` knows, and whether each is available.
SYNTH_KINDS: dict[str, bool] = {"image": True, "video": True}
MAX_WARNINGS = 10


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@data_app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the dataset tree into.")],
    ids: Annotated[int, typer.Option("--ids", min=1, help="Number of identities.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: CPUs, at most 8).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="image (AG-ReID v1 layout) or video (AG-VPReID layout).")
    ] = "image",
) -> None:
    """Generate a synthetic aerial-ground dataset (image: AG-ReID v1; video: AG-VPReID)."""
    from agreid_core.data.synth import SynthConfig, generate_image_dataset

    if kind not in SYNTH_KINDS:
        raise _fail(f"unknown --kind {kind!r}; choose one of: {', '.join(SYNTH_KINDS)}")
    if not SYNTH_KINDS[kind]:
        raise _fail(f"--kind {kind}: synthetic {kind} datasets are not available yet")
    if kind == "video":
        _synth_video(out, ids, seed, workers)
        return
    try:
        summary = generate_image_dataset(out, SynthConfig(num_ids=ids, seed=seed), workers)
    except (FileExistsError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    table = Table(title=f"synthetic AG-ReID v1 tree: {summary.root}")
    table.add_column("folder")
    table.add_column("images", justify="right")
    for folder, count in summary.counts.items():
        table.add_row(folder, str(count))
    table.add_row("[bold]total[/]", f"[bold]{summary.total_images}[/]")
    print_table(table, console)
    split_ids = ", ".join(f"{split} {n}" for split, n in summary.ids.items())
    verb = "found existing tree" if summary.reused else "generated"
    console.print(f"identities: {split_ids}; {verb} in {summary.elapsed_s:.1f} s")


def _synth_video(out: Path, ids: int, seed: int, workers: int | None) -> None:
    from agreid_core.data.synth import SynthVideoConfig, generate_video_dataset

    try:
        summary = generate_video_dataset(out, SynthVideoConfig(num_ids=ids, seed=seed), workers)
    except (FileExistsError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    table = Table(title=f"synthetic AG-VPReID tree: {summary.root}")
    for col in ("folder", "tracklets", "frames"):
        table.add_column(col, justify="left" if col == "folder" else "right")
    for folder, count in summary.tracklets.items():
        table.add_row(folder, str(count), str(summary.frames[folder]))
    print_table(table, console)
    roles = ", ".join(f"{role} {n}" for role, n in summary.ids.items())
    verb = "found existing tree" if summary.reused else "generated"
    console.print(f"identities: {roles}; {verb} in {summary.elapsed_s:.1f} s")


def _protocols(data: ReIDData) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "query_subsets": list(p.query_subsets),
            "gallery_subsets": list(p.gallery_subsets),
            "query": data.rows_of(p.query_subsets).height,
            "gallery": data.rows_of(p.gallery_subsets).height,
        }
        for p in data.protocols
    ]


@data_app.command()
def info(
    path: Annotated[str, typer.Argument(help="Dataset folder, or `embedded` / `embedded-video`.")],
    dataset: Annotated[
        str | None, typer.Option(help=f"Dataset format of PATH (default: {DEFAULT_FORMAT}).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat loader warnings as errors.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Summarize a dataset: identities, images and cameras per split and platform."""
    from agreid_core.data.summary import TOTAL, summarize

    try:
        data = load_data(get_host(), path, dataset, strict)
    except (UnknownNameError, KeyError, ValueError, OSError) as exc:
        raise _fail(str(exc).strip('"')) from None
    for w in data.warnings[:MAX_WARNINGS]:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    if len(data.warnings) > MAX_WARNINGS:
        err.print(f"[yellow]… {len(data.warnings) - MAX_WARNINGS} more warnings[/]")
    summary = summarize(data)
    protocols = _protocols(data)
    if as_json:
        record = {
            "dataset": data.name,
            "root": str(data.root),
            "kind": data.kind,
            "summary": summary.to_dicts(),
            "protocols": protocols,
            "warnings": len(data.warnings),
        }
        print(json.dumps(record))
        return
    table = Table(title=f"{data.name} ({data.kind}) at {data.root}")
    for col in ("subset / split", "platform", "identities", "images", "frames", "cameras"):
        table.add_column(
            col, justify="left" if col in ("subset / split", "platform", "cameras") else "right"
        )
    for row in summary.iter_rows(named=True):
        total = row["subset"] == TOTAL and row["platform"] == TOTAL
        cells = [
            f"{row['split']} total" if total else f"{row['subset']} / {row['split']}",
            "all" if total else str(row["platform"]),
            str(row["identities"]),
            str(row["images"]),
            str(row["frames"]),
            ", ".join(str(c) for c in row["cameras"]),
        ]
        table.add_row(*[f"[bold]{c}[/]" for c in cells] if total else cells, end_section=total)
    print_table(table, console)
    ptable = Table(title="protocols")
    for col in ("protocol", "query", "gallery"):
        ptable.add_column(col, justify="left" if col == "protocol" else "right")
    for p in protocols:
        ptable.add_row(
            p["name"],
            f"{p['query']} ({', '.join(p['query_subsets'])})",
            f"{p['gallery']} ({', '.join(p['gallery_subsets'])})",
        )
    print_table(ptable, console)
