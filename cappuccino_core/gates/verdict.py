"""A gate's verdict: named checks (figure, comparison, threshold), the figures behind them, its inputs.

A failed gate explains itself: :meth:`Verdict.explain` names every failed check with its figure and its
threshold ("stress: median_sharpe = -0.41, needs > 0"). A check whose figure is missing (NaN) fails, with
that said, never passes silently.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cappuccino_core.common.atomic import atomic_write_text

Op = Literal[">", ">=", "<", "<=", "=="]
_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
}


@dataclass(frozen=True)
class Check:
    """One threshold test of a gate: ``value`` ``op`` ``threshold``, whether it passed, and a note."""

    name: str
    value: float
    op: Op
    threshold: float
    passed: bool
    note: str = ""

    def describe(self) -> str:
        """Human-readable ``name = value, needs op threshold (note)`` (value n/a when not finite)."""
        v = "n/a" if not math.isfinite(self.value) else f"{self.value:.4g}"
        text = f"{self.name} = {v}, needs {self.op} {self.threshold:.4g}"
        return f"{text} ({self.note})" if self.note else text

    def to_dict(self) -> dict[str, Any]:
        """The check as a JSON-safe dict (non-finite value or threshold -> None)."""
        return {
            "name": self.name,
            "value": _safe(self.value),
            "op": self.op,
            "threshold": _safe(self.threshold),
            "passed": self.passed,
            "note": self.note,
        }


def check(name: str, value: float, op: Op, threshold: float, note: str = "") -> Check:
    """A check of ``value op threshold``; a non-finite value fails and says so."""
    v = float(value)
    if not math.isfinite(v):
        return Check(name, v, op, float(threshold), False, note or "figure not available")
    return Check(name, v, op, float(threshold), bool(_OPS[op](v, float(threshold))), note)


@dataclass
class Verdict:
    """A gate's decision on one run: passed, failed or pending, with its checks, figures, inputs, the
    artifacts it wrote and when (UTC)."""

    gate: str  # "backtest" | "stress" | "paper"
    run_id: str
    passed: bool
    checks: list[Check]
    figures: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)  # name -> file written by the gate
    status: Literal["passed", "failed", "pending"] = "failed"
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_checks(
        cls, gate: str, run_id: str, checks: list[Check], figures: dict[str, Any], inputs: dict[str, Any]
    ) -> Verdict:
        """A verdict that passes when there is at least one check and every check passed."""
        ok = bool(checks) and all(c.passed for c in checks)
        return cls(gate, run_id, ok, checks, figures, inputs, status="passed" if ok else "failed")

    @property
    def failed_checks(self) -> list[Check]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]

    def failures(self) -> dict[str, Any]:
        """{check name: {value, op, threshold, message}} of every failed check (empty when it passed)."""
        return {c.name: {**c.to_dict(), "message": c.describe()} for c in self.failed_checks}

    def explain(self) -> str:
        """One-line explanation: why it is pending, passed (with any missed checks), or FAILED with the
        failed checks."""
        if self.status == "pending":
            return f"{self.gate}: pending ({self.figures.get('reason', 'not enough data yet')})"
        grade = f"grade {self.figures['grade']}, " if self.figures.get("grade") else ""
        if self.passed:
            extra = "; ".join(c.describe() for c in self.failed_checks)
            return f"{self.gate}: passed ({grade}{len(self.checks)} checks)" + (
                f"; missed: {extra}" if extra else ""
            )
        return f"{self.gate}: FAILED: {grade}" + "; ".join(c.describe() for c in self.failed_checks)

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-safe dict, with its failures and explanation."""
        return _safe(
            {
                "gate": self.gate,
                "run_id": self.run_id,
                "passed": self.passed,
                "status": self.status,
                "time": self.time.isoformat(),
                "checks": [c.to_dict() for c in self.checks],
                "failures": self.failures(),
                "figures": self.figures,
                "inputs": self.inputs,
                "artifacts": {k: str(v) for k, v in self.artifacts.items()},
                "explanation": self.explain(),
            }
        )


def _safe(x: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, paths and datetimes -> str."""
    if isinstance(x, dict):
        return {str(k): _safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_safe(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, (Path, datetime)):
        return str(x)
    return x


def write_json(path: Path, payload: Any) -> Path:
    """Write JSON atomically (temp file in the same folder, then os.replace)."""
    return atomic_write_text(path, json.dumps(_safe(payload), indent=2, sort_keys=True))
