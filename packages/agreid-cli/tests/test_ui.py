from __future__ import annotations

import io

import polars as pl
import pytest
from rich.console import Console

from agreid_cli import ui


def _wide() -> pl.DataFrame:
    cols = {f"protocol {i} R1": [float(i)] for i in range(14)}
    return pl.DataFrame({"method": ["tfclip-ag-vpreid"], **cols})


def test_tables_keep_their_natural_width_in_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(ui, "console", Console(file=out, width=80))
    ui.print_results(_wide(), "leaderboard", drop=())
    text = out.getvalue()
    assert "…" not in text  # nothing squeezed into ellipses
    assert "tfclip-ag-vpreid" in text and "protocol 13 R1" in text and "13.00" in text
    assert max(len(line) for line in text.splitlines()) > 80


def test_tables_fit_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    terminal = Console(file=out, width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(ui, "console", terminal)
    ui.print_results(_wide(), "leaderboard", drop=())
    lines = out.getvalue().splitlines()
    assert lines and max(len(line) for line in lines) <= 80  # rich fits it to the terminal
