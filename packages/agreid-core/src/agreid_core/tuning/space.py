"""Search spaces over dotted config keys, for ``agreid tune`` (MFHO).

A space maps config fields (``training.optim.lr``) to a distribution:

* ``loguniform(LOW,HIGH)`` / ``uniform(LOW,HIGH)`` / ``uniform(LOW,HIGH,STEP)``: floats;
* ``int(LOW,HIGH)`` / ``int(LOW,HIGH,STEP)`` / ``logint(LOW,HIGH)``: integers, both ends included;
* ``choice(A,B,…)``: categorical; items are read as int, float, bool or string (quotes
  optional, bracketed items such as ``(30,60)`` stay one string).

Spaces come from CLI strings (``training.optim.lr=loguniform(1e-4,1e-2)``) or from a TOML / JSON
file whose leaves are such strings or tables ``{type = "float", low = …, high = …, log = true}``
(``type``: ``float``, ``int`` or ``categorical`` with ``choices = […]``). Nested tables are joined
with dots, so ``[training.optim] lr = "loguniform(1e-4,1e-2)"`` and
``"training.optim.lr" = "loguniform(1e-4,1e-2)"`` are the same; a top-level ``space`` table, if
present, is the space. This module does not import optuna.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agreid_core.config import apply_overrides, get_field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

Choice = int | float | bool | str
Kind = Literal["float", "int", "categorical"]

_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Param:
    """One searched config field and its distribution.

    ``kind`` ``float`` / ``int`` use ``low``…``high`` (both included), optionally on a log scale or
    on a grid of ``step``; ``categorical`` uses ``choices``.
    """

    key: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Choice, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"{self.key}: a categorical parameter needs at least one choice")
            return
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"{self.key}: need LOW <= HIGH, got {self.low} and {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"{self.key}: a log-scale range needs LOW > 0, got {self.low}")
        if self.log and self.step is not None:
            raise ValueError(f"{self.key}: a log-scale range cannot have a step")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"{self.key}: step must be > 0, got {self.step}")
        if self.kind == "int" and not all(
            float(v).is_integer() for v in (self.low, self.high, self.step or 1)
        ):
            raise ValueError(f"{self.key}: an int range needs integer LOW, HIGH and STEP")

    def format(self, value: object) -> str:
        """``value`` as the VALUE of a ``--set KEY=VALUE`` override."""
        if self.kind == "int":
            return str(int(value))  # type: ignore[call-overload]
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return repr(value)
        return str(value)

    def override(self, value: object) -> str:
        """The ``KEY=VALUE`` override that sets this field to ``value``."""
        return f"{self.key}={self.format(value)}"

    def describe(self) -> str:
        """The distribution in the CLI notation (``loguniform(0.0001,0.01)``)."""
        if self.kind == "categorical":
            return "choice(" + ",".join(self.format(c) for c in self.choices) + ")"
        lo, hi = _num(self.low, self.kind), _num(self.high, self.kind)
        name = {"int": "int", "float": "uniform"}[self.kind]
        name = f"log{name}" if self.log else name
        step = f",{_num(self.step, self.kind)}" if self.step is not None else ""
        return f"{name}({lo},{hi}{step})"

    def values_to_check(self) -> tuple[object, ...]:
        """Values that must all be valid for the field: the range ends or every choice."""
        if self.kind == "categorical":
            return self.choices
        if self.kind == "int":
            return (int(self.low), int(self.high))
        return (self.low, self.high)


def _num(value: float, kind: Kind) -> str:
    return str(int(value)) if kind == "int" else repr(float(value))


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of :class:`Param` with distinct keys."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        keys = [p.key for p in self.params]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"search space names {', '.join(dupes)} more than once")

    @property
    def keys(self) -> list[str]:
        """The searched config keys, in order."""
        return [p.key for p in self.params]

    def overrides(self, values: Mapping[str, object]) -> list[str]:
        """``KEY=VALUE`` overrides for one configuration (``values`` by key)."""
        return [p.override(values[p.key]) for p in self.params]

    def check(self, cfg: object) -> None:
        """Raise ``KeyError`` / ``ValueError`` unless every key is a field of ``cfg`` that accepts
        every range end or choice (tried with the same conversion ``--set`` uses)."""
        for p in self.params:
            get_field(cfg, p.key)
            for v in p.values_to_check():
                apply_overrides(cfg, [p.override(v)])

    def describe(self) -> list[str]:
        """One ``KEY=DISTRIBUTION`` line per parameter."""
        return [f"{p.key}={p.describe()}" for p in self.params]


def split_arguments(text: str) -> list[str]:
    """Split ``text`` at commas outside brackets and quotes; items are stripped."""
    items: list[str] = []
    depth, quote, current = 0, "", []
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if quote or depth:
        raise ValueError(f"unbalanced brackets or quotes in {text!r}")
    items.append("".join(current).strip())
    return items if items != [""] else []


def _choice(text: str) -> Choice:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            continue
    return text


def _number(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a number") from None


def parse_distribution(key: str, spec: str) -> Param:
    """The :class:`Param` for ``key`` from a distribution string such as ``uniform(0.2,0.5)``."""
    m = _CALL.match(spec)
    if m is None:
        raise ValueError(
            f"{key}: cannot read {spec!r}; expected loguniform(LOW,HIGH), uniform(LOW,HIGH[,STEP]), "
            "int(LOW,HIGH[,STEP]), logint(LOW,HIGH) or choice(A,B,…)"
        )
    name, args = m.group(1).lower(), split_arguments(m.group(2))
    if name in ("choice", "categorical"):
        return Param(key, "categorical", choices=tuple(_choice(a) for a in args))
    shapes = {"loguniform": (2,), "uniform": (2, 3), "int": (2, 3), "randint": (2, 3),
              "logint": (2,)}  # fmt: skip
    if name not in shapes:
        raise ValueError(f"{key}: unknown distribution {name!r}; use one of {', '.join(shapes)}")
    if len(args) not in shapes[name]:
        raise ValueError(f"{key}: {name} takes {' or '.join(map(str, shapes[name]))} arguments")
    nums = [_number(key, a) for a in args]
    step = nums[2] if len(nums) == 3 else None
    kind: Kind = "float" if name in ("loguniform", "uniform") else "int"
    return Param(key, kind, nums[0], nums[1], log=name.startswith("log"), step=step)


def parse_assignment(text: str) -> Param:
    """A :class:`Param` from ``KEY=DISTRIBUTION`` (the ``--space`` CLI form)."""
    key, sep, spec = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=DISTRIBUTION, got {text!r}")
    return parse_distribution(key.strip(), spec.strip())


def _from_table(key: str, table: Mapping[str, Any]) -> Param:
    kind = str(table.get("type", "")).lower()
    unknown = set(table) - {"type", "low", "high", "log", "step", "choices"}
    if unknown:
        raise ValueError(f"{key}: unknown field(s) {', '.join(sorted(unknown))}")
    if kind == "categorical":
        choices = table.get("choices")
        if not isinstance(choices, list):
            raise ValueError(f"{key}: a categorical parameter needs a list `choices`")
        for c in choices:
            if not isinstance(c, int | float | bool | str):
                raise ValueError(f"{key}: choice {c!r} is not a number, boolean or string")
        return Param(key, "categorical", choices=tuple(choices))
    if kind not in ("float", "int"):
        raise ValueError(f"{key}: type must be float, int or categorical, got {kind!r}")
    if "low" not in table or "high" not in table:
        raise ValueError(f"{key}: a {kind} parameter needs `low` and `high`")
    step = table.get("step")
    return Param(
        key,
        "float" if kind == "float" else "int",
        float(table["low"]),
        float(table["high"]),
        log=bool(table.get("log", False)),
        step=None if step is None else float(step),
    )


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[Param]:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, str):
            yield parse_distribution(key, value)
        elif isinstance(value, Mapping) and "type" in value:
            yield _from_table(key, value)
        elif isinstance(value, Mapping):
            yield from _flatten(value, key)
        else:
            raise ValueError(f"{key}: expected a distribution string or table, got {value!r}")


def space_from_mapping(table: Mapping[str, Any]) -> SearchSpace:
    """A space from a parsed TOML / JSON document (see the module docstring)."""
    inner = table.get("space", table)
    if not isinstance(inner, Mapping):
        raise ValueError("`space` must be a table of KEY = DISTRIBUTION entries")
    return SearchSpace(tuple(_flatten(inner)))


def read_document(path: Path) -> dict[str, Any]:
    """Parse ``path`` as JSON (``.json``) or TOML (anything else); ``ValueError`` names the file.

    TOML needs Python ≥ 3.11 (``tomllib``) or the ``tomli`` package."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror})") from None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    else:
        if tomllib is None:  # pragma: no cover - Python 3.10 without tomli
            raise ValueError(f"{path}: reading TOML needs `pip install tomli`; or use JSON")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a table / object at the top level")
    return doc


def load_space_file(path: Path) -> SearchSpace:
    """Read a ``.toml`` or ``.json`` search-space file; errors name the file."""
    doc = read_document(path)
    try:
        return space_from_mapping(doc)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def build_space(items: Iterable[str]) -> SearchSpace:
    """A space from ``--space`` arguments: each a ``KEY=DISTRIBUTION`` string or the path of a
    TOML / JSON file; later entries may not repeat a key."""
    params: list[Param] = []
    for item in items:
        candidate = Path(item)
        if "=" not in item or (
            candidate.suffix.lower() in (".toml", ".json") and candidate.is_file()
        ):
            params.extend(load_space_file(candidate).params)
        else:
            params.append(parse_assignment(item))
    if not params:
        raise ValueError("the search space is empty; pass --space KEY=DISTRIBUTION or a file")
    return SearchSpace(tuple(params))
