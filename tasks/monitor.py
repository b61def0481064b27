"""Tasks of the monitor flow: the evidence (data freshness, feature drift, account figures), the monitor
pass itself, and the launcher that starts the retrain deployment through the Prefect API."""

from __future__ import annotations

from typing import Any

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from cappuccino_core.config import Settings


def deployment_launcher(name: str, parameters: dict[str, Any]) -> str:
    """Start deployment ``name`` ("flow/deployment") on the Prefect API; returns the flow run id. Does not
    wait for the run (a worker picks it up)."""
    from prefect.deployments import run_deployment

    run: Any = run_deployment(name, parameters=parameters, timeout=0, as_subflow=False)
    return str(run.id)


def drift_stats(settings: Settings) -> dict[str, float] | None:
    """Per-feature drift (``retrain.drift_metric``) of the newest ``retrain.drift_recent_bars`` bars against
    the training window (the bars before the holdout)."""
    from cappuccino_core.training.data import holdout_time
    from tasks.data import build_features

    ds = build_features.fn(settings)
    r = settings.retrain
    return dataset_drift(
        ds, holdout_time(settings, settings.data.timeframe), r.drift_recent_bars, r.drift_metric
    )


def dataset_drift(ds: Any, cut_ns: int | None, recent_n: int, metric: str) -> dict[str, float] | None:
    """{ticker:feature: statistic} of the last ``recent_n`` rows of ``ds`` against the rows before
    ``cut_ns`` (the training window; without a holdout: the rows before the recent ones)."""
    from cappuccino_core.monitor import feature_drift

    cut = int(np.searchsorted(ds.times, cut_ns)) if cut_ns is not None else ds.n_bars - recent_n
    if cut < 10 or ds.n_bars - cut < 2:
        return None
    T, N, F = ds.features.shape
    names = [f"{t}:{f}" for t in ds.tickers for f in ds.spec.feature_names]
    flat = ds.features.reshape(T, N * F)
    return feature_drift(flat[:cut], flat[max(cut, T - recent_n) :], names, metric)


@task(name="monitor-evidence", timeout_seconds=600, cache_policy=NO_CACHE)
def monitor_evidence(settings: Settings) -> dict[str, Any]:
    """Stale symbols, drift statistics (None when the data cannot say) and the training capital."""
    from tasks.common import logger
    from tasks.data import data_window

    windows = data_window(settings)
    drift = None
    if settings.retrain.on_data_drift:
        try:
            drift = drift_stats(settings)
        except Exception as exc:  # no data yet and the like: the other checks still run
            logger().warning("monitor: no drift statistics: %s", exc)
    return {"windows": windows, "drift": drift, "training_capital": settings.env.initial_cash}


@task(name="monitor-pass", timeout_seconds=900, cache_policy=NO_CACHE)
def monitor_pass(settings: Settings, evidence: dict[str, Any], dry_run: bool = False) -> list[str]:
    """Every live and paper model against its backtest; alerts, demotions and retrain triggers."""
    from cappuccino_core.arena import MlflowRoleBook, Referee
    from cappuccino_core.monitor import MonitorInputs, run_monitor
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state import StateStore
    from tasks.notify import flow_notifier

    notifier = flow_notifier(settings)
    roles = MlflowRoleBook(Tracking.from_settings(settings))
    ref = Referee(StateStore(settings.paths.state_url), roles, "flow:monitor", dry_run, notifier)
    inputs = MonitorInputs(
        timeframe=settings.data.timeframe,
        stale=evidence["windows"],
        drift=evidence["drift"],
        training_capital=evidence["training_capital"],
        launcher=deployment_launcher,
    )
    report = run_monitor(ref, settings.monitor, settings.retrain, settings.notify, notifier, inputs)
    return report.lines()
