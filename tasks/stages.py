"""Tasks for augment (CGE), training, gates and the arena; each calls the core and returns a summary dict."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from cappuccino_core.config import Settings
from tasks.common import logger, optional


@task(name="cge-scenarios", retries=1, retry_delay_seconds=10, timeout_seconds=3600, cache_policy=NO_CACHE)
def cge_scenarios(settings: Settings, force: bool = False) -> dict[str, Any]:
    """Generate the frozen scenario set, or reuse it when its config hash matches."""
    from cappuccino_core.cge.generate import generate, spec_from_settings

    spec = spec_from_settings(settings)
    sset, reused = generate(spec, settings.cge.output_dir, force=force)
    return {
        "path": str(sset.path) if hasattr(sset, "path") else str(settings.cge.output_dir),
        "scenarios": sset.n_scenarios,
        "reused": reused,
    }


@task(name="train-phase", retries=0, timeout_seconds=24 * 3600, cache_policy=NO_CACHE)
def train_phase(
    settings: Settings,
    phase: int,
    trials: int | None,
    workers: int | None,
    max_splits: int | None = None,
    inject_failure: bool = False,
) -> dict[str, Any]:
    """One Optuna phase: ``workers`` processes (one per Optuna worker) share the study up to its limit.
    Failed/stale trials are retried inside the study (heartbeat + RetryFailedTrialCallback).
    ``inject_failure``: fail before any work (fault injection; the train flow's retry must recover)."""
    if inject_failure:
        raise RuntimeError(f"injected failure in train-phase {phase} (fault injection)")
    from cappuccino_core.training.study import run_phase

    rep = run_phase(settings, phase, trials=trials, workers=workers, max_splits=max_splits)
    return {
        "phase": phase,
        "states": dict(rep.states),
        "best": getattr(rep, "best_value", None),
        "exit_codes": list(rep.worker_exitcodes or []),
    }


@task(name="gates", retries=1, retry_delay_seconds=30, timeout_seconds=6 * 3600, cache_policy=NO_CACHE)
def run_gates(settings: Settings, run_ids: list[str]) -> dict[str, Any]:
    """Every gate for each candidate; {run_id: {gate: passed}} (empty when the gates stage is absent)."""
    run_all = optional("cappuccino_core.gates", "run_all_gates")
    if run_all is None:
        logger().warning("gates: cappuccino_core.gates.run_all_gates is not available; step skipped")
        return {}
    out: dict[str, Any] = {}
    for rid in run_ids:
        res = run_all(rid, settings)
        out[rid] = res if isinstance(res, dict) else getattr(res, "__dict__", str(res))
    return out


@task(name="arena-hill", timeout_seconds=6 * 3600, cache_policy=NO_CACHE)
def arena_hill(settings: Settings, run_ids: list[str], dry_run: bool = False) -> list[str]:
    """King of the hill over held-out windows for the given registered candidates."""
    from cappuccino_core.arena import MlflowRoleBook, Referee, arena_config, run_hill, windows
    from cappuccino_core.registry import Tracking, load_policy
    from cappuccino_core.state import StateStore
    from tasks.data import build_features

    cfg = arena_config(settings)
    data = build_features.fn(settings)
    held = data.slice(int(data.n_bars * (1 - settings.training.holdout_fraction)), data.n_bars)
    trk = Tracking.from_settings(settings)
    ref = Referee(
        StateStore(settings.paths.state_url), MlflowRoleBook(trk), actor="flow:arena", dry_run=dry_run
    )
    report = run_hill(
        run_ids,
        lambda r: load_policy(r, held, trk),
        held,
        windows(held, cfg.window_bars),
        settings.env,
        settings.costs,
        cfg,
        ref,
    )
    return report.lines()


@task(name="arena-sandbox-live", timeout_seconds=600, cache_policy=NO_CACHE)
def arena_review(settings: Settings, dry_run: bool = False) -> list[str]:
    from cappuccino_core.arena import MlflowRoleBook, Referee, arena_config, review_live, review_sandbox
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state import StateStore

    cfg = arena_config(settings)
    ref = Referee(
        StateStore(settings.paths.state_url),
        MlflowRoleBook(Tracking.from_settings(settings)),
        actor="flow:arena",
        dry_run=dry_run,
    )
    sb = review_sandbox(ref, cfg, settings.data.timeframe)
    return [*sb.decisions, review_live(ref, cfg, settings.data.timeframe)]


@task(name="trade-tick", retries=0, timeout_seconds=900, cache_policy=NO_CACHE)
def trade_tick(settings: Settings, dry_run: bool = False) -> str:
    """One bar of the trader (never cached, never retried: orders are idempotent but not repeated here)."""
    tick = optional("cappuccino_core.trading.loop", "run_tick")
    if tick is None:
        logger().warning("trade: cappuccino_core.trading.loop.run_tick is not available; step skipped")
        return "skipped: trading loop not available"
    return str(tick(settings, dry_run=dry_run))
