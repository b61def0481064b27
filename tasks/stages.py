"""Tasks for augment (CGE), training, gates and the arena; each calls the core and returns a summary dict."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from cappuccino_core.config import Settings


@task(name="cge-scenarios", timeout_seconds=3600, cache_policy=NO_CACHE)
def cge_scenarios(settings: Settings, force: bool = False) -> dict[str, Any]:
    """Generate the frozen scenario set, or reuse it when its config hash matches (deterministic: a failure
    is not transient, so no retry)."""
    from cappuccino_core.cge.generate import generate, spec_from_settings
    from cappuccino_core.progress import ProgressMeter
    from tasks.progress import PrefectProgress

    spec = spec_from_settings(settings)
    meter = ProgressMeter("cge scenarios", spec.n_scenarios, [PrefectProgress("augment")], min_interval_s=5.0)
    sset, reused = generate(spec, settings.cge.output_dir, force=force, progress=meter.advance)
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
    shards: int | None = None,
    config: str | None = None,
) -> dict[str, Any]:
    """One Optuna phase: ``workers`` processes (one per Optuna worker) share the study up to its limit;
    with ``shards``, that many `train-shard` flow runs on the work pool do (``workers`` processes each,
    ``config`` read on their worker). Failed/stale trials are retried inside the study (heartbeat +
    RetryFailedTrialCallback); the train flow, not this task, retries a failed phase."""
    from cappuccino_core.training.study import run_phase
    from tasks.progress import PrefectProgress

    runner = None
    if shards:
        from tasks.shards import dispatch_shards

        def runner(limit: int) -> list[int | None]:
            prefix = settings.training.experiment
            return dispatch_shards(config, prefix, phase, shards, workers, max_splits)

    rep = run_phase(
        settings,
        phase,
        trials=trials,
        workers=workers,
        max_splits=max_splits,
        progress=PrefectProgress("train"),
        runner=runner,
    )
    summary = rep.summary
    return {
        "phase": phase,
        "study": rep.study,
        "states": dict(rep.states),
        "best": rep.best["value"] if rep.best else None,
        "best_params": rep.best["params"] if rep.best else None,
        "all_terminal_with_reason": rep.all_terminal_with_reason,
        "exit_codes": list(rep.worker_exitcodes or []),
        "pbo": summary.pbo if summary is not None else None,
        "dsr": summary.dsr if summary is not None else None,
        "registered": [v.run_id for v in summary.registered] if summary is not None else [],
        # phase 2: the selection gate's verdict (challenger and its numbers, or why there is none)
        "selection": summary.selection.verdict() if summary is not None and summary.selection else None,
    }


@task(name="gates", timeout_seconds=6 * 3600, cache_policy=NO_CACHE)
def run_gates(settings: Settings, run_ids: list[str]) -> dict[str, Any]:
    """Every gate for each candidate: {run_id: {gate: True | False | "pending" | "skipped", ...}}.
    Deterministic over stored data: no retry."""
    from cappuccino_core.gates import run_all_gates
    from tasks.notify import flow_notifier
    from tasks.progress import PrefectProgress

    notifier, progress = flow_notifier(settings), PrefectProgress("gates")
    return {rid: run_all_gates(rid, settings, notifier=notifier, progress=progress) for rid in run_ids}


@task(name="arena-hill", timeout_seconds=6 * 3600, cache_policy=NO_CACHE)
def arena_hill(settings: Settings, run_ids: list[str], dry_run: bool = False) -> list[str]:
    """King of the hill over held-out windows for the given registered candidates and the configured
    supervised ensemble (``[arena] ensemble``)."""
    from cappuccino_core.arena.contest import hill_contest
    from tasks.evidence import arena_markdown, publish
    from tasks.notify import flow_notifier

    report = hill_contest(settings, run_ids, dry_run, notifier=flow_notifier(settings))
    publish("arena-bouts", "Arena", arena_markdown(report), f"champion {report.champion}")
    return report.lines()


@task(name="arena-sandbox-live", timeout_seconds=600, cache_policy=NO_CACHE)
def arena_review(settings: Settings, dry_run: bool = False) -> list[str]:
    from cappuccino_core.arena import MlflowRoleBook, Referee, arena_config, review_live, review_sandbox
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state import StateStore
    from tasks.notify import flow_notifier

    cfg = arena_config(settings)
    ref = Referee(
        StateStore(settings.paths.state_url),
        MlflowRoleBook(Tracking.from_settings(settings)),
        actor="flow:arena",
        dry_run=dry_run,
        notifier=flow_notifier(settings),
    )
    sb = review_sandbox(ref, cfg, settings.data.timeframe)
    return [*sb.decisions, review_live(ref, cfg, settings.data.timeframe)]


@task(name="trade-tick", retries=0, timeout_seconds=900, cache_policy=NO_CACHE)
def trade_tick(settings: Settings, dry_run: bool = False, confirm_live: bool = False) -> str:
    """One bar of the production model on the configured paper broker, or live when the model holds the
    ``live`` role, live trading is enabled and ``confirm_live`` is given (capital from the arena's ramp).
    Any broker that can touch real money (``coinbase``, also via ``CAPPUCCINO_TRADING__BROKER``) passes the
    live guard (:func:`check_live`) or the tick raises LiveRefused. Never cached, never retried here:
    orders carry deterministic client ids, and the next tick reconciles."""
    from cappuccino_core.arena import MlflowRoleBook, Referee, live_status
    from cappuccino_core.registry import Tracking, get_role
    from cappuccino_core.state import StateStore
    from cappuccino_core.trading.brokers.factory import canonical_name
    from cappuccino_core.trading.brokers.live_guard import LiveRefused, live_endpoint
    from cappuccino_core.trading.loop.live import check_live
    from cappuccino_core.trading.loop.session import live_tick
    from cappuccino_core.trading.routing import hourly_broker

    trk = Tracking.from_settings(settings)
    prod = get_role("production", tracking=trk)
    if prod is None:
        return "no production model yet"
    ref = Referee(StateStore(settings.paths.state_url), MlflowRoleBook(trk), actor="flow:trade", dry_run=True)
    live = live_status(ref)
    broker = hourly_broker(settings.trading, prod.run_id, live.run_id, live.capital_fraction)
    grant, fraction = None, 1.0
    if live_endpoint(settings, canonical_name(broker)) is not None:  # real money: the one live guard
        try:
            grant = check_live(settings.trading, ref, confirm=confirm_live, model=prod.run_id)
        except LiveRefused as exc:
            if dry_run:
                return f"dry run: live refused for {broker}: {exc}"
            raise
        fraction = grant.capital_fraction
    if dry_run:
        return f"dry run: would trade {prod.run_id} on {broker} with {fraction:.0%} of capital"
    return str(live_tick(settings, prod.run_id, fraction, broker=broker, grant=grant))


@task(name="paper-session", retries=0, timeout_seconds=1800, cache_policy=NO_CACHE)
def paper_session(settings: Settings, model: str, days: float = 2.0) -> dict[str, Any]:
    """A short paper session of ``model`` through the real Alpaca SDK against the loopback exchange."""
    from cappuccino_core.trading.loop.session import run_paper, summary

    return summary(run_paper(settings, broker="local", days=days, model=model))


@task(name="baseline-backtests", timeout_seconds=900, cache_policy=NO_CACHE)
def baseline_backtests(settings: Settings) -> dict[str, dict[str, Any]]:
    """Equal weight and buy-and-hold on the held-out window (the backtest gate's: from the training holdout
    start on) through the kernel, with the configured costs; an HTML report each."""
    from pathlib import Path

    import numpy as np

    from cappuccino_core.backtest.baselines import make_baseline
    from cappuccino_core.backtest.with_report import backtest_with_report
    from cappuccino_core.gates import held_out_dataset
    from tasks.data import build_features

    full = build_features.fn(settings)
    window = held_out_dataset(settings, full.spec)
    # The strategies in each report are fitted on the bars before the window (the window's first decision
    # bar is its lookback - 1'th row).
    cut = int(np.searchsorted(full.times, window.times[window.spec.lookback - 1]))
    history = full.slice(0, cut)
    out: dict[str, dict[str, Any]] = {}
    for name in ("equal_weight", "buy_and_hold"):
        policy = make_baseline(name, window.tickers, settings.env)
        out_dir = Path(settings.paths.reports_dir) / f"backtest-{name}"
        res, files = backtest_with_report(
            policy, window, settings.env, settings.costs, out_dir, name, history=history
        )
        s = res.summary
        out[name] = {"return": s.total_return, "sharpe": s.sharpe, "max_drawdown": s.max_drawdown,
                     "fees": res.fees, "report": str(files.html)}  # fmt: skip
    return out
