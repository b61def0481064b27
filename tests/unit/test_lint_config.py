"""`make lint` is the one lint command: CI runs it before the tests, pre-commit runs the same three checks,
and mypy covers every package (tasks and flows included)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _lint_recipe() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    m = re.search(r"^lint:.*\n((?:\t.*\n)+)", text, re.M)
    assert m, "no lint target in the Makefile"
    return [line.strip() for line in m.group(1).splitlines()]


def test_make_lint_runs_ruff_format_check_and_mypy() -> None:
    recipe = " ; ".join(_lint_recipe())
    assert "ruff check $(LINT_PATHS)" in recipe
    assert "ruff format --check $(LINT_PATHS)" in recipe
    assert "mypy" in recipe
    paths = re.search(r"^LINT_PATHS := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert paths and {"cappuccino_core", "cappuccino_cli", "tasks", "flows", "tests"} <= set(
        paths.group(1).split()
    )


def test_mypy_covers_every_package() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(cfg["tool"]["mypy"]["packages"])
    shipped = set(cfg["tool"]["setuptools"]["packages"]["find"]["include"])
    assert (
        packages
        == {p.rstrip("*") for p in shipped}
        == {"cappuccino_core", "cappuccino_cli", "tasks", "flows"}
    )


def test_ci_lints_before_testing() -> None:
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make lint" in steps and "make test" in steps
    assert steps.index("make lint") < steps.index("make test")


def test_pre_commit_runs_the_same_checks() -> None:
    doc = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    entries = [h["entry"] for repo in doc["repos"] for h in repo["hooks"]]
    assert any(e.startswith(".venv/bin/ruff check") for e in entries)
    assert any(e.startswith(".venv/bin/ruff format --check") for e in entries)
    assert ".venv/bin/mypy" in entries  # the whole configured package list, as make lint
