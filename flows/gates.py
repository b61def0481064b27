"""Gates: backtest, CGE stress and paper grade for each candidate (verdicts in the state store + MLflow)."""

from __future__ import annotations

from prefect import flow

from tasks.common import record_stage, settings_for
from tasks.stages import run_gates


def candidates(settings, limit: int = 5) -> list[str]:
    """Registered versions that never entered the arena (newest first): the gates' input."""
    from cappuccino_core.arena import standings
    from cappuccino_core.registry import Tracking, list_versions
    from cappuccino_core.state import StateStore

    done = {r.run_id for r in standings(StateStore(settings.paths.state_url))}
    vs = list_versions(tracking=Tracking.from_settings(settings))
    return [v.run_id for v in vs if v.run_id not in done][:limit]


@flow(name="gates")
def gates(config: str | None = None, run_ids: list[str] | None = None) -> dict:
    settings = settings_for(config)
    out = run_gates(settings, run_ids if run_ids is not None else candidates(settings))
    record_stage(settings, "gates", "done", models=len(out))
    return out
