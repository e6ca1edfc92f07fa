"""The ``agreid`` command line (typer).

Commands turn into calls on agreid-core; methods, datasets and components come from the
plugin host, so installed third-party plugins appear everywhere a first-party one does.
"""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from agreid_cli.bench_command import bench
from agreid_cli.data_commands import data_app
from agreid_cli.tune_command import ConfigOption, config_overrides, tune
from agreid_cli.ui import (
    DataOption,
    DatasetOption,
    compact_results,
    console,
    err,
    eval_flags,
    print_results,
    print_table,
)
from agreid_cli.ui import fail as _fail
from agreid_cli.ui import progress as _progress
from agreid_core.plugins.host import get_host
from agreid_core.plugins.registry import KINDS, UnknownNameError

app = typer.Typer(
    name="agreid",
    help="Aerial-ground person re-identification: train, evaluate and benchmark methods.",
    no_args_is_help=True,
    add_completion=False,
)

PACKAGES = ("agreid-core", "agreid-models", "agreid-losses", "agreid-video", "agreid-cli")


def _versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _version_callback(value: bool) -> None:
    if value:
        for name, version in _versions().items():
            console.print(f"{name} {version}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        Optional[bool],  # noqa: UP045 - typer needs Optional here
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show versions and exit."
        ),
    ] = None,
) -> None:
    """Aerial-ground person re-identification: train, evaluate and benchmark methods."""


@app.command()
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List installed plugins: package, version, what each contributes, load errors."""
    host = get_host()
    records = [
        {
            "name": p.name,
            "package": p.package,
            "version": p.version,
            "status": p.status,
            "contributes": p.contributions,
            "error": p.error,
        }
        for p in host.plugins.values()
    ]
    clashes = [
        f"{c.kind[:-1]} {c.name!r}: kept {c.kept_plugin}, ignored {c.rejected_plugin}"
        for c in host.clashes
    ]
    if as_json:
        console.print_json(json.dumps({"plugins": records, "clashes": clashes}))
        return
    table = Table(title="agreid plugins")
    for col in ("plugin", "package", "version", "status", "contributes / error"):
        table.add_column(col, overflow="fold")
    for p in host.plugins.values():
        status = {
            "ok": "[green]ok[/]",
            "error": "[red]error[/]",
            "disabled": "[yellow]disabled[/]",
        }[p.status]
        table.add_row(p.name, p.package, p.version, status, p.error or p.summary)
    print_table(table)
    for line in clashes:
        console.print(f"[yellow]name clash:[/] {line}")


@app.command("list")
def list_components(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")],
) -> None:
    """List registered components of one kind."""
    host = get_host()
    if kind not in KINDS:
        raise _fail(str(UnknownNameError("kinds", kind, list(KINDS))))
    table = Table(title=f"agreid {kind}")
    table.add_column("name")
    table.add_column("plugin")
    table.add_column("summary", overflow="fold")
    for entry in host.registries[kind]:
        table.add_row(entry.name, entry.plugin, str(getattr(entry.value, "summary", "")))
    print_table(table)


@app.command()
def run(
    method: Annotated[
        str, typer.Option(help="Registered method name (see `agreid list methods`).")
    ] = "bot",
    profile: Annotated[
        str | None, typer.Option(help="Profile: cpu, paper, … (default: the method's).")
    ] = None,
    data: DataOption = None,
    dataset: DatasetOption = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Override the profile's epochs.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: runs/<method>-<profile>-<time>)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config field: KEY=VALUE (repeatable)."),
    ] = None,
    rerank: Annotated[
        bool, typer.Option(help="k-reciprocal re-ranking at evaluation (k1 20, k2 6, λ 0.3).")
    ] = False,
    flip: Annotated[bool, typer.Option(help="Horizontal-flip test-time augmentation.")] = False,
    oracle: Annotated[
        bool,
        typer.Option(
            help="Allow evaluation options that read test ground truth (centroid gallery, "
            "annotated-attribute masks); their results are labelled oracle."
        ),
    ] = False,
    config: ConfigOption = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Continue the interrupted run in this folder from its last checkpoint "
            "(method, profile, data, seed and overrides come from its config.json)."
        ),
    ] = None,
) -> None:
    """Train a method and evaluate it on every protocol of the dataset."""
    from agreid_core.config import apply_overrides
    from agreid_core.engine.run import default_data, load_data, resume_arguments, run_method

    host = get_host()
    eval_overrides = eval_flags(rerank=rerank, flip=flip, oracle=oracle)
    if resume is not None:
        try:
            saved = resume_arguments(resume)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        method, profile, data, dataset = (
            saved["method"],
            saved["profile"],
            saved["data"],
            saved["dataset"],
        )
        seed, device, epochs, output = saved["seed"], saved["device"], saved["epochs"], resume
        set_, eval_overrides = saved["overrides"], []
        console.print(f"resuming {method} ({profile}) in {resume}")
    try:
        spec = host.methods.get(method, host.failed_hint())
        prof = profile or spec.default_profile
        data = data or default_data(host, [method])
        apply_overrides(  # fail on a bad --set / --config before loading any data
            spec.config(prof), [*eval_overrides, *config_overrides(config), *(set_ or [])]
        )
        if data.startswith("embedded") and dataset is None:
            console.print("Preparing the embedded synthetic dataset (generated once, then cached)…")
        loaded = load_data(host, data, dataset)
    except (UnknownNameError, KeyError, ValueError) as exc:
        raise _fail(str(exc).strip('"')) from None
    for w in loaded.warnings[:10]:
        err.print(f"[yellow]warning:[/] {w}", highlight=False)
    if len(loaded.warnings) > 10:
        err.print(f"[yellow]… {len(loaded.warnings) - 10} more warnings[/]")
    out = output or Path("runs") / f"{method}-{prof}-{time.strftime('%Y%m%d-%H%M%S')}"
    console.print(
        f"method [bold]{method}[/] · profile [bold]{prof}[/] · data [bold]{loaded.name}[/] "
        f"({loaded.train().height} train images) · output {out}"
    )
    with _progress() as progress:
        train_task = progress.add_task("train", total=None, info="")
        test_rows = loaded.rows_of(
            sorted({s for p in loaded.protocols for s in (*p.query_subsets, *p.gallery_subsets)})
        ).height
        eval_task = progress.add_task("evaluate", total=test_rows, info="", visible=False)

        def on_step(epoch: int, step: int, loss: float) -> None:
            progress.update(train_task, completed=step, info=f"epoch {epoch + 1} loss {loss:.3f}")

        def on_eval(n: int) -> None:
            progress.update(eval_task, advance=n, visible=True)

        try:
            outcome = run_method(
                host,
                method,
                loaded,
                profile=prof,
                output_dir=out,
                epochs=epochs,
                seed=seed,
                device=device,
                overrides=[*eval_overrides, *config_overrides(config), *(set_ or [])],
                resume=resume is not None,
                on_step=on_step,
                on_eval_batch=on_eval,
            )
        except (UnknownNameError, KeyError, ValueError) as exc:
            raise _fail(str(exc).strip('"')) from None
        progress.update(train_task, total=outcome.train.steps)
    shown, caption = compact_results(outcome.results)
    print_results(shown, f"{method} ({prof}) on {loaded.name}")
    if caption:
        console.print(caption)
    if outcome.files:
        console.print("wrote " + ", ".join(p.name for p in outcome.files.values()))
    console.print(
        f"trained {outcome.train.steps} steps in {outcome.train.seconds:.0f} s "
        f"({outcome.train.images_per_second:.1f} images/s, "
        f"{100 * outcome.train.data_wait_fraction:.0f}% of the time waiting for data); "
        f"results, config and weights in {out}"
    )


@app.command()
def evaluate(
    features: Annotated[
        Path, typer.Option(help="npz with query/gallery features, pids and camids.")
    ],
    metric: Annotated[str, typer.Option(help="cosine or euclidean.")] = "cosine",
    rerank: Annotated[
        bool, typer.Option(help="Apply k-reciprocal re-ranking (k1=20, k2=6, λ=0.3).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Evaluate features computed elsewhere (standard Market-1501 protocol)."""
    from agreid_cli.evaluate_npz import evaluate_npz

    try:
        result = evaluate_npz(features, metric=metric, rerank=rerank)
    except (ValueError, KeyError, OSError) as exc:
        raise _fail(str(exc).strip('"')) from None
    if as_json:
        print(json.dumps(result.as_dict()))
        return
    console.print(
        f"Rank-1 {100 * result.rank(1):.2f}  Rank-5 {100 * result.rank(5):.2f}  "
        f"Rank-10 {100 * result.rank(10):.2f}  mAP {100 * result.mAP:.2f}  mINP {100 * result.mINP:.2f}  "
        f"({result.num_valid} queries, {result.num_skipped} without a valid match skipped)"
    )


app.command()(bench)
app.command()(tune)
app.add_typer(data_app, name="data", help="Inspect and generate datasets.")


def main() -> None:
    """Console-script entry point."""
    app()
