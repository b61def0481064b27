"""``cappuccino train --report``: a study's top trials (objective, Sharpe vs equal weight, params, registry
version and roles) beside its PBO and DSR, read back from MLflow."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cappuccino_core.registry.roles import ModelVersionInfo, list_versions
from cappuccino_core.registry.tracking import RUN_TYPE_SUMMARY, TAG_RUN_TYPE, Tracking, as_tracking
from cappuccino_core.registry.trial_run import (
    METRIC_TEST_COST_SHARE,
    METRIC_TEST_TURNOVER,
    METRIC_TEST_ZERO_COST_SHARPE,
    STATE_COMPLETE,
    STATE_FAIL,
    STATE_PRUNED,
)
from cappuccino_core.registry.trials import TrialRecord, collect_trials, finite_or_none


def _short(value: str) -> str:
    """Display form of a stored param: 0.00030000000000000003 -> 0.0003 (the stored value stays exact)."""
    try:
        x = float(value)
    except ValueError:
        return value
    if x.is_integer() and "." not in value and "e" not in value.lower():
        return value
    return f"{x:.4g}"


@dataclass
class StudyReport:
    """What ``cappuccino train --report`` prints: the top trials beside the study's PBO and DSR."""

    study: str
    trials: list[TrialRecord]  # top trials, best objective first
    n_total: int
    n_complete: int
    n_pruned: int
    n_failed: int
    pbo: float | None
    dsr: float | None
    n_trials: int | None  # N used by the DSR
    summary_run_id: str | None
    versions: dict[str, ModelVersionInfo] = field(default_factory=dict)  # run id -> registered version
    notes: list[str] = field(default_factory=list)
    selection: str | None = None  # the selection gate's verdict (registry/selection.py)
    strategies: dict[str, float] = field(default_factory=dict)  # strategy -> CPCV objective, same splits

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per shown trial: objective, Sharpes, cost figures, params, registry version and
        roles."""
        out = []
        for t in self.trials:
            sh, ew = t.test_sharpe, t.test_ew_sharpe
            mv = self.versions.get(t.run_id)
            out.append(
                {
                    "trial": t.trial,
                    "run_id": t.run_id,
                    "objective": t.objective,
                    "sharpe": sh,
                    "ew_sharpe": ew,
                    "sharpe_minus_ew": None if sh is None or ew is None else sh - ew,
                    "zero_cost_sharpe": finite_or_none(t.metrics.get(METRIC_TEST_ZERO_COST_SHARPE)),
                    "turnover": finite_or_none(t.metrics.get(METRIC_TEST_TURNOVER)),
                    "cost_share": finite_or_none(t.metrics.get(METRIC_TEST_COST_SHARE)),
                    "params": dict(sorted(t.params.items())),
                    "version": mv.version if mv else None,
                    "roles": list(mv.roles) if mv else [],
                }
            )
        return out

    def to_table(self) -> Any:
        """The trials as a rich table (``cappuccino train --report``)."""
        from rich.table import Table

        def f(x: float | None, nd: int = 3) -> str:
            return "-" if x is None else f"{x:.{nd}f}"

        table = Table(title=f"Study {self.study}: top {len(self.trials)} trials", show_lines=False)
        table.add_column("trial", justify="right")
        table.add_column("run id")
        table.add_column("objective", justify="right")
        table.add_column("Sharpe", justify="right")
        table.add_column("EW Sharpe", justify="right")
        table.add_column("vs EW", justify="right")
        table.add_column("Sharpe w/o costs", justify="right")
        table.add_column("turnover/yr", justify="right")
        table.add_column("costs", justify="right")
        table.add_column("registry")
        table.add_column("params", overflow="fold")
        for r in self.rows():
            reg = (
                ""
                if r["version"] is None
                else f"v{r['version']}" + (f" ({', '.join(r['roles'])})" if r["roles"] else "")
            )
            table.add_row(
                str(r["trial"]),
                r["run_id"][:8],
                f(r["objective"]),
                f(r["sharpe"], 2),
                f(r["ew_sharpe"], 2),
                f(r["sharpe_minus_ew"], 2),
                f(r["zero_cost_sharpe"], 2),
                f(r["turnover"], 1),
                "-" if r["cost_share"] is None else f"{r['cost_share']:.1%}",
                reg,
                " ".join(f"{k}={_short(v)}" for k, v in r["params"].items()),
            )
        return table

    def headline(self) -> str:
        """One paragraph: trial counts, PBO, DSR and the selection verdict, read plainly."""

        def f(x: float | None) -> str:
            return "not computed" if x is None else f"{x:.3f}"

        # An interpretation only where the numbers support it: a low PBO says the in-sample ranking held
        # out of sample, not that any trial made money.
        verdict = ""
        best = self.trials[0].objective if self.trials else None
        if self.pbo is not None:
            if self.pbo >= 0.5:
                verdict = " (likely overfit)"
            elif best is not None and best <= 0:
                verdict = " (ranking held out of sample, but no trial beat equal weight)"
        return (
            f"trials: {self.n_total} ({self.n_complete} complete, {self.n_pruned} pruned, "
            f"{self.n_failed} failed) | PBO {f(self.pbo)}{verdict} | DSR of best {f(self.dsr)}"
            + (f" given N={self.n_trials}" if self.n_trials else "")
        )

    def synthetic_share_line(self) -> str | None:
        """The synthetic (CGE) share of each CPCV split's training rows, over the reported trials."""
        v = [x for t in self.trials for k, x in t.metrics.items() if k.endswith("/synthetic_share")]
        if not v:
            return None
        lo, hi = 100 * min(v), 100 * max(v)
        return f"synthetic share of split training rows: {lo:.1f}-{hi:.1f}% ({len(v)} splits)"

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        parts: list[Any] = [Text(self.headline(), style="bold"), self.to_table()]
        if share := self.synthetic_share_line():
            parts.append(Text(share))
        if self.strategies:
            bar = ", ".join(
                f"{k} {v:+.3f}" for k, v in sorted(self.strategies.items(), key=lambda kv: -kv[1])
            )
            parts.append(Text(f"strategies on the same CPCV splits (objective): {bar}"))
        if self.selection:
            style = "green" if self.selection.startswith("challenger") else "yellow"
            parts.append(Text(f"selection gate: {self.selection}", style=style))
        if self.summary_run_id is None:
            parts.append(
                Text("no study summary yet: PBO/DSR are computed when the study finishes", style="yellow")
            )
        for n in self.notes:
            parts.append(Text(f"note: {n}", style="yellow"))
        return Group(*parts)


def study_report(
    study_name: str,
    tracking: Tracking | Any | None = None,
    *,
    top: int = 10,
    registered_model_name: str | None = None,
) -> StudyReport:
    """The study's top trials (by objective) and its latest PBO/DSR summary, read from MLflow."""
    trk = as_tracking(tracking)
    client = trk.activate()
    records = collect_trials(study_name, trk)
    complete = [r for r in records if r.state == STATE_COMPLETE and r.objective is not None]
    pbo = dsr = None
    n_trials: int | None = None
    summary_run_id: str | None = None
    selection: str | None = None
    strategies: dict[str, float] = {}
    notes: list[str] = []
    exp_id = trk.get_experiment_id(study_name)
    if exp_id is not None:
        found = client.search_runs(
            [exp_id],
            filter_string=f"tags.{TAG_RUN_TYPE} = '{RUN_TYPE_SUMMARY}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if found:
            s = found[0]
            summary_run_id = s.info.run_id
            pbo = finite_or_none(s.data.metrics.get("pbo"))
            dsr = finite_or_none(s.data.metrics.get("dsr"))
            nt = finite_or_none(s.data.metrics.get("n_trials"))
            n_trials = int(nt) if nt is not None else None
            if s.data.tags.get("notes"):
                notes = s.data.tags["notes"].split("; ")
            selection = s.data.tags.get("selection")
            strategies = json.loads(s.data.tags.get("strategies", "{}"))
    else:
        notes.append(f"no MLflow experiment for study {study_name}")
    versions: dict[str, ModelVersionInfo] = {}
    try:
        for v in list_versions(tracking=trk, name=registered_model_name, study=study_name):
            versions.setdefault(v.run_id, v)
    except Exception:  # no registered model yet
        pass
    return StudyReport(
        study=study_name,
        trials=complete[:top],
        n_total=len(records),
        n_complete=len(complete),
        n_pruned=sum(r.state == STATE_PRUNED for r in records),
        n_failed=sum(r.state == STATE_FAIL for r in records),
        pbo=pbo,
        dsr=dsr,
        n_trials=n_trials,
        summary_run_id=summary_run_id,
        versions=versions,
        notes=notes,
        selection=selection,
        strategies=strategies,
    )
