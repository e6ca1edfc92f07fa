"""Developer sessions: ``nox -s tests typecheck lint build bench``.

Torch environments are large (~6 GB), so the sessions run in the *active* environment
(``venv_backend="none"``) instead of one virtualenv each: create it once with
``bash scripts/setup-env.sh`` (what CI does) and activate it. Only ``build`` makes a fresh
virtualenv, to prove the wheels install and import on their own.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = ["agreid-core", "agreid-losses", "agreid-models", "agreid-video", "agreid-cli"]
nox.options.sessions = ["lint", "typecheck", "tests"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _src_dirs() -> list[str]:
    return [f"packages/{p}/src" for p in PACKAGES]


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run every test suite (packages/*/tests and tests/), slow tests included."""
    session.run(sys.executable, "-m", "pytest", *session.posargs, env={"HF_HUB_OFFLINE": "1"})


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over all packages."""
    session.run(sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", *_src_dirs())


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    targets = ["packages", "tests", "benchmarks", "noxfile.py", "conftest.py"]
    session.run(sys.executable, "-m", "ruff", "check", *targets)
    session.run(sys.executable, "-m", "ruff", "format", "--check", *targets)


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build every package's wheel, install them into a fresh venv, import each, run the CLI.

    The fresh venv reaches third-party dependencies (torch, timm, …) of the active
    environment through a ``.pth`` path entry, so no second copy of torch is installed;
    the agreid packages themselves come only from the freshly built wheels.
    """
    dist = Path(tempfile.mkdtemp(prefix="agreid-dist-"))
    venv = Path(tempfile.mkdtemp(prefix="agreid-venv-"))
    try:
        for pkg in PACKAGES:
            session.run(
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--no-isolation",
                "--outdir",
                str(dist),
                f"packages/{pkg}",
            )
        wheels = sorted(str(p) for p in dist.glob("*.whl"))
        if len(wheels) != len(PACKAGES):
            session.error(f"expected {len(PACKAGES)} wheels, got {wheels}")
        session.run(sys.executable, "-m", "venv", str(venv))
        py = venv / "bin" / "python"
        site = session.run(
            str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", silent=True
        )
        parent_site = session.run(
            sys.executable,
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            silent=True,
        )
        assert isinstance(site, str) and isinstance(parent_site, str)
        Path(site.strip(), "_agreid_parent_env.pth").write_text(parent_site.strip() + "\n")
        session.run(str(py), "-m", "pip", "install", "--no-deps", "--no-index", *wheels)
        check = (
            "import importlib, pathlib, sys\n"
            "for m in ['agreid_core', 'agreid_losses', 'agreid_models', 'agreid_video', 'agreid_cli']:\n"
            "    mod = importlib.import_module(m)\n"
            "    assert pathlib.Path(mod.__file__).is_relative_to(sys.prefix), (m, mod.__file__)\n"
            "    assert (pathlib.Path(mod.__file__).parent / 'py.typed').is_file(), m\n"
            "    print(m, mod.__version__, 'from', mod.__file__)\n"
        )
        session.run(str(py), "-c", check)
        session.run(str(venv / "bin" / "agreid"), "--version")
        session.run(str(venv / "bin" / "agreid"), "list", "methods")
    finally:
        shutil.rmtree(dist, ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Benchmarks (prints tables). ``nox -s bench -- --quick`` for a smoke run."""
    env = {
        "HF_HUB_OFFLINE": "1",
        "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295",
    }
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run(sys.executable, str(script), *session.posargs, env=env)
