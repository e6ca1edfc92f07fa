"""``agreid bench``: run several registered methods on one dataset and print a leaderboard."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from agreid_cli.ui import (
    DataOption,
    DatasetOption,
    console,
    err,
    eval_flags,
    fail,
    print_results,
    progress,
)
from agreid_core.plugins.host import get_host
from agreid_core.plugins.registry import UnknownNameError


def bench(
    methods: Annotated[
        str, typer.Option(help="Comma-separated registered method names (plugins included).")
    ],
    data: DataOption = None,
    dataset: DatasetOption = None,
    profile: Annotated[str, typer.Option(help="Profile every method runs with.")] = "cpu",
    epochs: Annotated[int | None, typer.Option(min=1, help="Override every method's epochs.")] = (
        None
    ),
    output: Annotated[
        Path | None, typer.Option(help="Bench folder (default: runs/bench-<time>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config field of every method: KEY=VALUE."),
    ] = None,
    rerank: Annotated[bool, typer.Option(help="k-reciprocal re-ranking at evaluation.")] = False,
    flip: Annotated[bool, typer.Option(help="Horizontal-flip test-time augmentation.")] = False,
    oracle: Annotated[
        bool, typer.Option(help="Allow evaluation options that read test ground truth.")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue an interrupted bench in --output: finished runs are re-evaluated, "
            "an interrupted one continues from its last checkpoint, the rest start."
        ),
    ] = False,
    ablate: Annotated[
        list[str] | None,
        typer.Option(
            help="A boolean config field to flip in an extra run per method (repeatable), "
            "e.g. training.eval.rerank or pseudo_labels; evaluation options re-evaluate the "
            "base run's weights instead of retraining."
        ),
    ] = None,
) -> None:
    """Train and evaluate several methods on one dataset; print and save the leaderboard.

    Each method gets its own run folder inside the bench folder; the leaderboard (one row per
    method, R1/mAP per protocol, throughput) is written as leaderboard.csv / .parquet. On data
    with flight altitudes the tables of the AG-VPReID2025 report follow (all altitudes with
    R1/R5/R10/mAP, then one per altitude), written as leaderboard_<altitude>.csv.
    """
    from agreid_core.engine.bench import (
        altitude_tables,
        check_same_run,
        leaderboard,
        plan_variants,
    )
    from agreid_core.engine.run import RunOutcome, default_data, load_data, run_method
    from agreid_core.evaluation.plots import slug
    from agreid_core.evaluation.protocol_eval import ALL

    host = get_host()
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not names:
        raise fail("--methods needs at least one method name")
    overrides = [*eval_flags(rerank=rerank, flip=flip, oracle=oracle), *(set_ or [])]
    try:
        variants = plan_variants(host, names, profile, ablate or [], overrides)
        loaded = load_data(host, data or default_data(host, names), dataset)
    except (UnknownNameError, KeyError, ValueError) as exc:
        raise fail(str(exc).strip('"')) from None
    if resume and output is None:
        raise fail("--resume needs --output: the folder of the interrupted bench")
    out = output or Path("runs") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    if resume:  # every saved run must be the one asked for, before anything trains
        for variant in variants:
            folder = out / variant.folder
            if variant.reuses is None and (folder / "config.json").is_file():
                expected = {
                    "method": variant.method,
                    "profile": profile,
                    "dataset": loaded.name,
                    "seed": seed,
                    "epochs": epochs,
                    "overrides": [*overrides, *variant.overrides],
                }
                try:
                    check_same_run(folder, expected)
                except ValueError as exc:
                    raise fail(str(exc)) from None
    outcomes: list[tuple[str, str, RunOutcome]] = []
    folders: dict[str, Path] = {}
    failed: list[str] = []
    for variant in variants:
        folder = out / variant.folder
        reuse = variant.reuses is not None and variant.reuses in folders
        if reuse:  # same training, other evaluation options: re-evaluate the base weights
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(folders[str(variant.reuses)], folder)
        console.print(
            f"[bold]{variant.label}[/] ({profile}) on {loaded.name}"
            + (" — re-evaluating the base run's weights" if reuse else "")
        )
        with progress() as bar:
            task = bar.add_task("train", total=None, info="")

            def on_step(epoch: int, step: int, loss: float, task: TaskID = task) -> None:
                bar.update(task, completed=step, info=f"epoch {epoch + 1} loss {loss:.3f}")

            try:
                outcome = run_method(
                    host,
                    variant.method,
                    loaded,
                    profile=profile,
                    output_dir=folder,
                    epochs=epochs,
                    seed=seed,
                    device=device,
                    overrides=[*overrides, *variant.overrides],
                    on_step=on_step,
                    resume=reuse or resume,
                )
            except (UnknownNameError, KeyError, ValueError, RuntimeError) as exc:
                err.print(f"[bold red]{variant.label} failed:[/] {exc}", highlight=False)
                failed.append(variant.label)
                continue
        folders[variant.label] = folder
        outcomes.append((variant.label, profile, outcome))
    if outcomes:
        board = leaderboard(outcomes, loaded.kind)
        out.mkdir(parents=True, exist_ok=True)
        board.write_csv(out / "leaderboard.csv")
        board.write_parquet(out / "leaderboard.parquet")
        print_results(board, f"leaderboard: {loaded.name}, profile {profile}", drop=("profile",))
        for altitude, table in altitude_tables([(n, o.results) for n, _, o in outcomes]).items():
            name = "all altitudes" if altitude == ALL else altitude
            table.write_csv(out / f"leaderboard_{slug(name)}.csv")
            print_results(table, f"{loaded.name}, {name} (profile {profile})", drop=())
        console.print(f"leaderboard and runs in {out}")
    if failed:
        raise fail(f"{len(failed)} run(s) failed: {', '.join(failed)}", code=1)
