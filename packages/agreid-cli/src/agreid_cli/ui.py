"""Console output shared by the commands: rich consoles, progress bars, result tables."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

#: ``--data`` of the commands that train: a generated dataset's name or a dataset folder.
DataOption = Annotated[
    str | None,
    typer.Option(
        help="Dataset: a generated one (default: `embedded` for image methods, `embedded-video` "
        "for video methods) or the path of a dataset tree."
    ),
]
#: ``--dataset``: the format to read a ``--data`` folder as.
DatasetOption = Annotated[
    str | None, typer.Option(help="Dataset format of --data PATH (default: agreid-v1).")
]

console = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error and return the ``typer.Exit`` to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def progress() -> Progress:
    """A progress display with a free-text ``info`` field per task."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def eval_flags(*, rerank: bool, flip: bool, oracle: bool) -> list[str]:
    """The ``--set`` overrides that the ``--rerank/--flip/--oracle`` flags stand for."""
    flags = {"rerank": rerank, "flip": flip, "oracle": oracle}
    return [f"training.eval.{k}=true" for k, v in flags.items() if v]


def compact_results(results: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The columns worth printing of a results table, and a caption of the constant ones.

    ``altitude`` / ``gallery`` are kept only when they vary; ``oracle`` only when set; the
    evaluation options go to the caption.
    """
    drop = ["method", "dataset", "eval", "mINP"]
    for col in ("altitude", "gallery"):
        if col in results.columns and results[col].n_unique() == 1:
            drop.append(col)
    if "oracle" in results.columns and not results["oracle"].any():
        drop.append("oracle")
    caption = ""
    if "eval" in results.columns and results.height:
        caption = f"evaluation: {results['eval'][0]}"
    return results.drop([c for c in drop if c in results.columns]), caption


def print_results(
    results: pl.DataFrame, title: str, drop: tuple[str, ...] = ("method", "dataset")
) -> None:
    """Print a results DataFrame as a rich table (floats with two decimals)."""
    results = results.drop([c for c in drop if c in results.columns])
    table = Table(title=title)
    for col in results.columns:
        table.add_column(col, justify="right" if results[col].dtype.is_numeric() else "left")
    for row in results.iter_rows():
        table.add_row(
            *["" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
        )
    print_table(table)


def print_table(table: Table, out: Console | None = None) -> None:
    """Print ``table`` on ``out`` (default: the shared console): fitted to the terminal by
    rich, or at its natural width when the output is a file or a pipe, where squeezing a
    wide leaderboard to 80 columns would leave only ellipses."""
    out = out or console
    if out.is_terminal:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update(width=10_000), table).maximum
    width = out.width
    out.width = max(width, natural)
    try:
        out.print(table)
    finally:
        out.width = width
