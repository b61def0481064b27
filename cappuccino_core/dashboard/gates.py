"""Gates page: every candidate's latest verdict per gate, each failed check's figure and threshold, and the
stress gate's results by regime (all from the ``gate_verdicts`` table the gates write)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cappuccino_core.state.schema import GateVerdict
from cappuccino_core.state.store import StateStore

GATE_ORDER = ("backtest", "stress", "paper")


@dataclass(frozen=True)
class GateResult:
    """One gate's latest verdict for one model."""

    gate: str
    passed: bool
    status: str  # passed | failed | pending
    ts: datetime
    explanation: str
    checks: list[dict[str, Any]]  # {name, value, op, threshold, passed, note}
    failed: list[dict[str, Any]]  # the failed checks only
    by_regime: list[dict[str, Any]] = field(default_factory=list)  # stress only
    grade: str | None = None  # paper only


@dataclass
class Candidate:
    """One model's stored gate verdicts (gate name -> its newest result) and the time of its latest one."""

    run_id: str
    gates: dict[str, GateResult]
    last: datetime

    @property
    def verdict(self) -> str:
        """'passed' when every stored gate passed, 'pending' when one is pending and none failed, else
        'failed'."""
        states = [g.status for g in self.gates.values()]
        if any(not g.passed and g.status != "pending" for g in self.gates.values()):
            return "failed"
        return "pending" if "pending" in states else "passed"


def _result(row: GateVerdict) -> GateResult:
    figures = dict(row.figures or {})
    checks = list(figures.get("checks") or [])
    failed = [c for c in checks if not c.get("passed")]
    if not checks and row.failures:  # verdicts written without the checks list: the failures table
        failed = [{"name": k, **v} for k, v in row.failures.items()]
    return GateResult(
        gate=row.gate,
        passed=bool(row.passed),
        status=str(figures.get("status") or ("passed" if row.passed else "failed")),
        ts=row.ts,
        explanation=str(figures.get("explanation") or ""),
        checks=checks,
        failed=failed,
        by_regime=list(figures.get("by_regime") or []),
        grade=figures.get("grade"),
    )


def candidates(store: StateStore, limit: int = 200) -> list[Candidate]:
    """The models with stored verdicts, most recent first; per gate the newest verdict."""
    with store.session() as s:
        rows = list(s.scalars(select(GateVerdict).order_by(GateVerdict.id)))
    out: dict[str, Candidate] = {}
    for r in rows:  # in write order: a later verdict of the same gate replaces the earlier one
        c = out.setdefault(r.run_id, Candidate(r.run_id, {}, r.ts))
        c.gates[r.gate] = _result(r)
        c.last = max(c.last, r.ts)
    ordered = sorted(out.values(), key=lambda c: c.last, reverse=True)[:limit]
    for c in ordered:
        c.gates = dict(sorted(c.gates.items(), key=lambda kv: _gate_rank(kv[0])))
    return ordered


def _gate_rank(gate: str) -> int:
    return GATE_ORDER.index(gate) if gate in GATE_ORDER else len(GATE_ORDER)


def verdict_counts(cands: list[Candidate]) -> dict[str, dict[str, int]]:
    """{gate: {passed, failed, pending}} over the candidates' latest verdicts."""
    out: dict[str, dict[str, int]] = {}
    for c in cands:
        for g, r in c.gates.items():
            d = out.setdefault(g, {"passed": 0, "failed": 0, "pending": 0})
            d[r.status if r.status in d else ("passed" if r.passed else "failed")] += 1
    return dict(sorted(out.items(), key=lambda kv: _gate_rank(kv[0])))
