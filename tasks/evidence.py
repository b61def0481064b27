"""Evidence in Prefect: each stage publishes a markdown artifact (a table a person reads in the UI).

The builders (``*_markdown``) are plain functions over the stage's summary, tested without Prefect;
:func:`publish` creates the artifact when called inside a flow or task run (outside one it only logs).
Artifact keys name the stage (``ingest-data-window``, ``train-study``, ``gates-verdicts``, ``arena-bouts``) so
the UI's Artifacts page keeps one history per stage across runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tasks.common import logger


def _cell(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.4g}"  # an age of 12530 h, not 1.253e+04
    return str(x).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; ``|`` and newlines inside cells are escaped."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def publish(key: str, title: str, body: str, description: str) -> str:
    """Create the markdown artifact ``key`` (``# title`` then ``body``) in the current run; returns the
    markdown. Outside a flow/task run (a plain call in a test) nothing is sent to the API."""
    from prefect.context import FlowRunContext, TaskRunContext

    markdown = f"# {title}\n\n{body}\n"
    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        logger().info("%s (not in a run: no artifact)\n%s", key, markdown)
        return markdown
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=markdown, key=key, description=description)
    return markdown


def data_window_markdown(window: Sequence[Mapping[str, Any]], source: str, added: int) -> str:
    """``window``: one row per symbol with first/last bar, bars, age (hours) and ``stale``."""
    rows = [
        (w["symbol"], w["timeframe"], w["first"], w["last"], w["bars"], w["age_h"],
         "STALE" if w["stale"] else "fresh")
        for w in window
    ]  # fmt: skip
    table = markdown_table(
        ["symbol", "timeframe", "first bar", "last bar", "bars", "age (h)", "status"], rows
    )
    return f"Source: **{source}**, {added} new bars stored.\n\n{table}"


def study_markdown(phases: Sequence[Mapping[str, Any]]) -> str:
    """One row per training phase: study, trials by state, best objective, PBO, DSR, registered models."""
    rows = [
        (
            p.get("study"),
            ", ".join(f"{k} {v}" for k, v in sorted((p.get("states") or {}).items())) or "none",
            p.get("best"),
            p.get("pbo"),
            p.get("dsr"),
            len(p.get("registered") or []),
        )
        for p in phases
    ]
    table = markdown_table(["study", "trials by state", "best objective", "PBO", "DSR", "registered"], rows)
    verdicts = [
        f"- `{p.get('study')}` selection gate: {p['selection']}" for p in phases if p.get("selection")
    ]
    return "\n".join([table, "", *verdicts]) if verdicts else table


def gates_markdown(verdicts: Mapping[str, Mapping[str, Any]], passed: Sequence[str]) -> str:
    """Every candidate's gate outcomes with the failed checks; a headline when no candidate passed."""
    if not verdicts:
        return "**No candidate to gate**: no new registered model (the study's selection gate says why)."
    rows = []
    for rid, v in verdicts.items():
        why = v.get("explanations") or {}
        for gate, outcome in v.items():
            if gate == "explanations":
                continue
            shown = {True: "passed", False: "FAILED"}.get(outcome, outcome)
            rows.append((rid[:12], gate, shown, why.get(gate, "")))
    head = (
        f"**{len(passed)} of {len(verdicts)} candidates passed every required gate.**"
        if passed
        else f"**Every candidate was rejected ({len(verdicts)} gated, none passed).**"
    )
    return head + "\n\n" + markdown_table(["candidate", "gate", "outcome", "checks"], rows)


def arena_markdown(report: Any) -> str:
    """A :class:`cappuccino_core.arena.HillReport`: champion, every bout, every challenger vs production,
    every role change."""
    dry = "DRY RUN: " if report.dry_run else ""
    head = f"{dry}Champion **{report.champion}** ({report.champion_wins} wins)."
    head += "".join(f"\n\n{n}" for n in getattr(report, "notes", []))
    bouts = markdown_table(
        ["incumbent", "challenger", "window", "winner", "rule"],
        [
            (
                b.incumbent.model[:12],
                b.challenger.model[:12],
                f"{b.window[0]}-{b.window[1]}",
                b.winner,
                b.reason,
            )
            for b in report.bouts
        ],
    )
    if report.production is None:
        vs_prod = "No production model yet: the challengers played the champion only."
    else:
        vs_prod = f"Production: **{report.production}**.\n\n" + markdown_table(
            ["challenger", "production", "window", "winner", "rule"],
            [
                (
                    b.challenger.model[:12],
                    b.incumbent.model[:12],
                    f"{b.window[0]}-{b.window[1]}",
                    "challenger" if b.winner == b.challenger.model else "production",
                    b.reason,
                )
                for b in report.production_bouts
            ],
        )
        if report.held_back:
            vs_prod += "\n\nNot promoted (lost to production): " + ", ".join(report.held_back)
    changes = markdown_table(
        ["model", "action", "role after", "reason"],
        [(t.run_id[:12], t.action, t.role, t.reason) for t in report.transitions],
    )
    halted = "\n\n**HALTED by the emergency stop.**" if report.halted else ""
    return (
        f"{head}\n\n## Bouts\n\n{bouts}\n\n## Challengers vs production\n\n{vs_prod}"
        f"\n\n## Role changes\n\n{changes}{halted}"
    )
