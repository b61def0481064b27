"""The monitor (a deployment on a schedule): every live and paper model against its own backtest,
heartbeats and data freshness, retrain triggers (degradation, account growth, data drift) and the daily
summary. Alerts go through the notifier; demotions through the arena's referee; a triggered retrain is a
run of the retrain deployment started through the Prefect API."""

from __future__ import annotations

from prefect import flow

from tasks.common import emergency_stopped, logger, record_stage, settings_for
from tasks.evidence import publish
from tasks.monitor import monitor_evidence, monitor_pass


@flow(name="monitor")
def monitor(config: str | None = None, dry_run: bool = False) -> list[str]:
    """One monitor pass; the emergency stop halts it.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        dry_run: Assess and alert, but demote nothing and start no retrain.
    """
    settings = settings_for(config)
    if emergency_stopped(settings):
        logger().warning("monitor: emergency stop set; nothing decided")
        return ["halted: emergency stop"]
    evidence = monitor_evidence(settings)
    lines = monitor_pass(settings, evidence, dry_run)
    publish("monitor-checks", "Monitor", "\n".join(f"- {x}" for x in lines), f"{len(lines)} lines")
    if not dry_run:
        record_stage(settings, "monitor", "done", lines=lines)
    for line in lines:
        logger().info("monitor: %s", line)
    return lines
