"""Gates: backtest, CGE stress and paper grade for each candidate (verdicts in the state store + MLflow).
Publishes the `gates-verdicts` artifact: every verdict with its failed checks, and whether any candidate
passed."""

from __future__ import annotations

from prefect import flow

from cappuccino_core.config import Settings
from tasks.common import logger, record_stage, settings_for
from tasks.evidence import gates_markdown, publish
from tasks.stages import run_gates


def candidates(settings: Settings, limit: int = 5) -> list[str]:
    """Registered versions that never entered the arena (newest first): the gates' input."""
    from cappuccino_core.gates.candidates import new_candidates

    return new_candidates(settings, limit)


@flow(name="gates")
def gates(config: str | None = None, run_ids: list[str] | None = None) -> dict:
    """Run every enabled gate on each candidate and store the verdicts.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        run_ids: MLflow run ids of the models to gate; empty: the registered models that never entered
            the arena (newest first, at most five).
    """
    from cappuccino_core.gates.record import admitted
    from cappuccino_core.state import StateStore

    settings = settings_for(config)
    ids = run_ids if run_ids is not None else candidates(settings)
    out = run_gates(settings, ids)
    passed = admitted(StateStore(settings.paths.state_url), ids, settings.gates.enabled)
    md = gates_markdown(out, passed)
    summary = md.split("\n", 1)[0].strip("*")
    publish("gates-verdicts", "Gate verdicts", md, summary)
    record_stage(settings, "gates", "done", models=len(out), passed=len(passed))
    if out and not passed:
        logger().warning("gates: %s", summary)
    else:
        logger().info("gates: %s", summary)
    return out
