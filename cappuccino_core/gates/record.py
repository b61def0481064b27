"""Store a verdict: the state database (always) and the model's MLflow run / registered version (mirror).

State store: ``record_verdict(run_id, gate, passed, inputs, figures, failures)``; the verdict's time is the
row's timestamp. MLflow: tags ``gate.<gate>.passed|status|time|explanation`` (and ``gate.paper.grade``) on
the run and, when the run has a registered version, on that version; the verdict JSON and the gate's files
as run artifacts under ``gates/<gate>/``. A tracking failure is reported, never hides the stored verdict.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cappuccino_core.gates.verdict import Verdict, write_json
from cappuccino_core.state.store import StateStore

log = logging.getLogger(__name__)


def verdict_tags(v: Verdict) -> dict[str, str]:
    """MLflow tags for verdict ``v``: ``gate.<gate>.passed``, ``.status``, ``.time``, ``.explanation`` (cut
    to 4900 characters) and ``.grade`` where graded."""
    tags = {
        f"gate.{v.gate}.passed": str(v.passed).lower(),
        f"gate.{v.gate}.status": v.status,
        f"gate.{v.gate}.time": v.time.isoformat(),
        f"gate.{v.gate}.explanation": v.explain()[:4900],
    }
    if v.figures.get("grade"):
        tags[f"gate.{v.gate}.grade"] = str(v.figures["grade"])
    return tags


def save_verdict(v: Verdict, store: StateStore, out_dir: Path | None = None) -> Path | None:
    """Into the state store; also ``verdict.json`` under ``out_dir`` when given (returned)."""
    d = v.to_dict()
    figures = {**d["figures"], "status": v.status, "checks": d["checks"], "explanation": d["explanation"],
               "artifacts": d["artifacts"]}  # fmt: skip
    store.record_verdict(v.run_id, v.gate, v.passed, d["inputs"], figures, d["failures"])
    if out_dir is None:
        return None
    path = write_json(out_dir / "verdict.json", d)
    v.artifacts.setdefault("verdict", path)
    return path


def mirror_to_mlflow(v: Verdict, tracking: Any) -> bool:
    """Tags and artifacts on the run (and its registered version, if any). False when MLflow refused."""
    from cappuccino_core.registry import RoleError, log_run_artifact, tag_run, tag_version

    try:
        tags = verdict_tags(v)
        tag_run(v.run_id, tags, tracking)
        for path in v.artifacts.values():
            log_run_artifact(v.run_id, path, f"gates/{v.gate}", tracking)
        with contextlib.suppress(RoleError):  # not registered (yet): the run carries the tags
            tag_version(v.run_id, tags, tracking=tracking)
        return True
    except Exception as exc:  # the stored verdict stands; say why the mirror failed
        log.warning("gate %s of %s: MLflow mirror failed: %s", v.gate, v.run_id, exc)
        return False


def passed_gates(store: StateStore, run_id: str, required: tuple[str, ...] = ("backtest", "stress")) -> bool:
    """True when the latest stored verdict of every ``required`` gate for ``run_id`` passed.

    The arena admits models that passed the backtest and stress gates; the paper grade (which needs days of
    paper trading) decides the live green light, not entry to the arena.
    """
    latest: dict[str, bool] = {}
    for v in sorted(store.verdicts(run_id), key=lambda r: r.id):
        latest[v.gate] = bool(v.passed)
    return all(latest.get(g, False) for g in required)


ARENA_ENTRY_GATES = ("backtest", "stress")


def arena_entry_gates(enabled: Sequence[str]) -> tuple[str, ...]:
    """The gates a candidate must pass to enter the arena: the enabled ones among backtest and stress (the
    paper grade decides the live green light later, not arena entry)."""
    from cappuccino_core.gates.base import GATES

    return tuple(g for g in enabled if g in ARENA_ENTRY_GATES or (g in GATES and GATES.get(g).arena_entry))


def admitted(store: StateStore, run_ids: Sequence[str], enabled: Sequence[str]) -> list[str]:
    """``run_ids`` (order kept) whose latest verdicts pass every arena-entry gate of ``enabled``."""
    required = arena_entry_gates(enabled)
    return [r for r in run_ids if passed_gates(store, r, required)]
