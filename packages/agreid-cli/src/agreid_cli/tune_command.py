"""``agreid tune``: MFHO multi-fidelity hyper-parameter search (Hyperband over epochs).

Also the helpers for ``agreid run --config FILE`` (a profile file written by ``agreid tune``):
:data:`ConfigOption` and :func:`config_overrides`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from agreid_cli.ui import DataOption, DatasetOption, console, err, fail, print_results
from agreid_core.plugins.host import get_host
from agreid_core.plugins.registry import UnknownNameError

#: ``agreid run``'s ``--config`` option: a profile file of ``--set`` overrides.
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help='A profile file (TOML/JSON with `set = ["KEY=VALUE", …]`, e.g. the best.toml '
        "of `agreid tune`); its overrides come before any --set.",
    ),
]


def config_overrides(path: Path | None) -> list[str]:
    """The ``--set`` overrides of the profile file ``path`` (none when ``path`` is None);
    exits with an error message when the file cannot be read."""
    if path is None:
        return []
    from agreid_core.tuning.search import load_profile

    try:
        return load_profile(path).overrides
    except ValueError as exc:
        raise fail(str(exc)) from None


def tune(
    method: Annotated[
        str | None, typer.Option(help="Registered method name (required unless --resume).")
    ] = None,
    space: Annotated[
        list[str] | None,
        typer.Option(
            help="A searched field, KEY=DISTRIBUTION: loguniform(LOW,HIGH), uniform(LOW,HIGH[,STEP]), "
            "int(LOW,HIGH[,STEP]), logint(LOW,HIGH), choice(A,B,…); or a TOML/JSON space file "
            "(repeatable).",
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(
            min=1, help="Trials in the study (default 20; with --resume: raise the budget)."
        ),
    ] = None,
    min_epochs: Annotated[int, typer.Option(min=1, help="Lowest fidelity (epochs).")] = 1,
    max_epochs: Annotated[
        int, typer.Option(min=1, help="Highest fidelity: every trial's schedule length.")
    ] = 9,
    reduction_factor: Annotated[int, typer.Option(min=2, help="Hyperband's η.")] = 3,
    pruner: Annotated[str, typer.Option(help="hyperband, sha (successive halving) or none.")] = (
        "hyperband"
    ),
    sampler: Annotated[str, typer.Option(help="random (as in Hyperband) or tpe.")] = "random",
    profile: Annotated[
        str | None, typer.Option(help="Profile: cpu, paper, … (default: the method's).")
    ] = None,
    data: DataOption = None,
    dataset: DatasetOption = None,
    val_fraction: Annotated[
        float, typer.Option(help="Training identities held out; their mAP is the objective.")
    ] = 0.1,
    output: Annotated[
        Path | None, typer.Option(help="Search folder (default: runs/tune-<method>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of every trial.")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Fixed config override for every trial: KEY=VALUE."),
    ] = None,
    keep_checkpoints: Annotated[
        bool, typer.Option(help="Keep each trial's resumable state after it ends.")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue the search in --output (settings from its tune.json; only --trials "
            "may change): an interrupted trial resumes from its last epoch."
        ),
    ] = False,
) -> None:
    """MFHO: multi-fidelity hyper-parameter optimisation (AG-VPReID 2025 challenge, Appendix A.4).

    Random configurations of --space are trained for up to --max-epochs epochs; after each epoch
    the validation mAP (identities held out of the TRAINING split, never the test set) is
    reported to a Hyperband pruner (Optuna), which stops poor trials early at low fidelity and
    lets promising ones reach higher fidelity. The study lives in OUTPUT/study.db (SQLite), so
    an interrupted search continues with --resume. Writes OUTPUT/trials.csv / .parquet and
    the best configuration as OUTPUT/best.toml (for `agreid run --config`) and
    best_command.txt.
    """
    try:
        from agreid_core.engine.run import default_data, load_data
        from agreid_core.tuning.search import (
            TrialReport,
            TuneSettings,
            load_settings,
            require_optuna,
            run_search,
            settings_with,
        )
        from agreid_core.tuning.space import build_space

        require_optuna()
    except ImportError as exc:
        raise fail(str(exc)) from None

    host = get_host()
    try:
        if resume:
            if output is None:
                raise ValueError("--resume needs --output, the folder of the search to continue")
            settings = load_settings(output)
            if trials is not None:
                settings = settings_with(settings, trials=trials)
        else:
            if method is None:
                raise ValueError("--method is required (unless --resume)")
            if not space:
                raise ValueError("--space is required: KEY=DISTRIBUTION or a space file")
            if pruner not in ("hyperband", "sha", "none"):
                raise ValueError(f"--pruner must be hyperband, sha or none, got {pruner!r}")
            if sampler not in ("random", "tpe"):
                raise ValueError(f"--sampler must be random or tpe, got {sampler!r}")
            settings = TuneSettings(
                method=method,
                space=build_space(space),
                trials=trials or 20,
                min_epochs=min_epochs,
                max_epochs=max_epochs,
                profile=profile,
                reduction_factor=reduction_factor,
                pruner=pruner,  # type: ignore[arg-type]
                sampler=sampler,  # type: ignore[arg-type]
                seed=seed,
                device=device,
                val_fraction=val_fraction,
                overrides=tuple(set_ or ()),
                data=data or "",
                dataset=dataset,
                keep_checkpoints=keep_checkpoints,
            )
        data_name = settings.data or default_data(host, [settings.method])
        loaded = load_data(host, data_name, settings.dataset)
    except (UnknownNameError, KeyError, ValueError) as exc:
        raise fail(str(exc).strip('"')) from None
    out = output or Path("runs") / f"tune-{settings.method}"
    console.print(
        f"MFHO search: method [bold]{settings.method}[/] · data [bold]{loaded.name}[/] · "
        f"{settings.trials} trials · epochs {settings.min_epochs}…{settings.max_epochs} "
        f"(η {settings.reduction_factor}, {settings.pruner}, {settings.sampler} sampling) · "
        f"output {out}" + (" · resuming" if resume else "")
    )
    for line in settings.space.describe():
        console.print(f"  {line}", highlight=False)

    def started(number: int, params: dict[str, Any]) -> None:
        shown = ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.4g}" if isinstance(v, float) else
                          f"{k.rsplit('.', 1)[-1]}={v}" for k, v in params.items())  # fmt: skip
        console.print(f"trial {number}: {shown}", highlight=False)

    def finished(r: TrialReport) -> None:
        value = "–" if r.value is None else f"{r.value:.2f}"
        extra = f" ({r.error})" if r.error else ""
        console.print(
            f"trial {r.number}: {r.state} after {r.epochs} epoch(s), val mAP {value}{extra}",
            highlight=False,
        )

    try:
        outcome = run_search(
            host,
            loaded,
            settings,
            out,
            resume=resume,
            on_trial_start=started,
            on_trial=finished,
        )
    except (UnknownNameError, KeyError, ValueError) as exc:
        raise fail(str(exc).strip('"')) from None
    except KeyboardInterrupt:
        err.print(f"interrupted; continue with: agreid tune --output {out} --resume")
        raise typer.Exit(130) from None
    shown = outcome.table.drop("error").with_columns(
        pl.col(k).map_elements(lambda v: f"{v:.4g}", return_dtype=pl.Utf8)
        for k in settings.space.keys
        if outcome.table[k].dtype == pl.Float64
    )
    print_results(shown, f"MFHO trials: {settings.method} on {loaded.name}")
    if outcome.best is None:
        raise fail("no trial completed; no best configuration written", code=1)
    console.print(
        f"best: trial {outcome.best.number}, val mAP {outcome.best.value:.2f}; profile "
        f"{outcome.files['profile']} (agreid run --config), command in "
        f"{outcome.files['command']}"
    )
