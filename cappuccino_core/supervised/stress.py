"""The CGE stress gate for the supervised ensemble: the same scenarios, bars, kernel run and thresholds as the
RL policies' stress gate (``gates/stress.py``), with the :class:`EnsemblePolicy` deciding.

Bars: every scenario's OHLCV comes from ``gates.stress_data.scenario_frames`` (``cge.augment.synthetic_bars``
around the hourly CGE path, the set's hourly calibration; sub-hour timeframes by its Brownian bridge), the
same bars an RL policy is stressed on. The supervised features are built per scenario from those bars by each
model's stored FeatureSpec (stored normalisation statistics), every one of them from the bars as on real
data; none is set to a neutral value. What they read is a model of the market, not data: high and low are
the exact extremes of a Brownian bridge at the path's volatility (so the Corwin-Schultz spread estimate reads
a range model, with no bid-ask bounce), and volume is the calibration's regression on |return|, volatility,
hour and weekday plus its fitted noise (so the volume ratio, dollar volume and Amihud slippage estimate
follow that regression, not real order flow). Sessions, hour and weekday come from the set's clock.

The kernel's dataset is the RL member's stress dataset (its FeatureSpec), or without one the supervised
spec's TA-Lib part; the forecasts are keyed by that dataset's rows (every scenario repeats the set's clock).
A row without a forecast (warm-up) leaves the RL member's vote alone, as in the ensemble everywhere. The
per-hour signal caps are risk rules of the bar loop and the backtester; the stress kernel runs without the
risk manager, for the ensemble as for every RL policy. Verdict ``ensemble_stress``, stored for every
member's run (state store, MLflow tags and artifacts), shown by ``cappuccino gates show``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.config import Settings
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.features.spec import FeatureSpec, FeatureSpecMismatch
from cappuccino_core.features.supervised_set import ta_spec
from cappuccino_core.gates.stress import run_stress_gate
from cappuccino_core.gates.stress_data import (
    ScenarioBatch,
    frames_dataset,
    latest_set,
    load_batch,
    scenario_frames,
)
from cappuccino_core.gates.verdict import Verdict
from cappuccino_core.supervised.ensemble import EnsemblePolicy, ForecastTable, forecast_table
from cappuccino_core.supervised.members import check_alignment
from cappuccino_core.supervised.signals import SignalBoard
from cappuccino_core.supervised.tracking import SupervisedModel
from cappuccino_core.supervised.weights import ensemble_weights_for

GATE = "ensemble_stress"


def scenario_forecast(
    model: SupervisedModel, frames: dict[str, pl.DataFrame], n_bars: int, data: MarketDataset
) -> ForecastTable:
    """``model``'s P(up) on every row of the stress dataset ``data`` (segment i = scenario i = frame rows
    ``[i x n_bars, (i + 1) x n_bars)``), keyed by row; NaN where the model has no full window yet."""
    p = np.full((data.n_bars, len(model.spec.tickers)), np.nan)
    for i, (s, e) in enumerate(data.segments):
        part = {t: f.slice(i * n_bars, n_bars) for t, f in frames.items()}
        p[s:e] = forecast_table(model, part, synthetic_ok=True).at(data.times[s:e])
    return ForecastTable(model.kind, np.arange(data.n_bars, dtype=np.int64), p)


def ensemble_stress_data(
    models: Sequence[SupervisedModel], batch: ScenarioBatch, rl_spec: FeatureSpec | None, seed: int
) -> tuple[MarketDataset, list[ForecastTable]]:
    """The kernel's dataset over ``batch`` (the RL member's features, else the supervised TA-Lib part) and
    each model's row-keyed forecasts on the same bars."""
    if not models:
        raise ValueError("the ensemble stress gate needs at least one supervised model")
    tickers, tf = tuple(models[0].spec.tickers), models[0].spec.timeframe
    check_alignment(models, tickers, tf)
    if rl_spec is not None and (tuple(rl_spec.tickers) != tickers or rl_spec.timeframe != tf):
        raise FeatureSpecMismatch(
            f"the RL member trades {list(rl_spec.tickers)} on {rl_spec.timeframe} bars; the supervised "
            f"members forecast {list(tickers)} on {tf} bars"
        )
    sub = batch.subset(tickers, None, None)
    frames, n_bars = scenario_frames(sub, tf, seed)
    data = frames_dataset(frames, n_bars, sub.n_scenarios, rl_spec or ta_spec(models[0].spec))
    return data, [scenario_forecast(m, frames, n_bars, data) for m in models]


def run_ensemble_stress(
    settings: Settings,
    models: Sequence[SupervisedModel],
    *,
    rl: Any = None,
    rl_ref: str | None = None,
    batch: ScenarioBatch | None = None,
    out_dir: Path | None = None,
    progress: Any = None,
) -> Verdict:
    """Stress the ensemble of ``models`` (and the RL policy ``rl``, a loaded policy with ``.spec``, or the
    registered ``rl_ref``) over the configured scenario set (or ``batch``), cut to ``gates.stress_*``;
    the verdict (not stored: :func:`record_ensemble_verdict`), its outputs under ``out_dir`` when given."""
    cfg = settings.gates
    if rl is None and rl_ref is not None:
        from cappuccino_core.registry import Tracking, load_policy, model_spec

        trk = Tracking.from_settings(settings)
        rl = load_policy(rl_ref, model_spec(rl_ref, trk), trk)
    if batch is None:
        batch = load_batch(cfg.stress_scenario_set or latest_set(settings.cge.output_dir))
    tickers = tuple(models[0].spec.tickers) if models else batch.tickers
    batch = batch.subset(tickers, cfg.stress_max_scenarios, cfg.stress_max_hours)
    data, tables = ensemble_stress_data(models, batch, getattr(rl, "spec", None), cfg.stress_bars_seed)
    weights = ensemble_weights_for(settings, models, rl is not None)
    board = SignalBoard(cfg.supervised_confidence_threshold, cfg.supervised_high_tier, keep_events=False)
    ens = EnsemblePolicy(tables, weights.weights, rl=rl, board=board, tickers=tickers, by_row=True)
    members = {m.kind: m.run_id for m in models} | ({"rl": rl_ref or getattr(rl, "run_id", "")} if rl else {})
    v, _ = run_stress_gate(
        ens, data, batch.ids, batch.regimes, settings.env, settings.costs, cfg, out_dir=out_dir,
        inputs={"scenario_set": batch.source, "ensemble": ens.name, "members": members,
                "weights": weights.to_dict()}, progress=progress,
    )  # fmt: skip
    v.figures.update(
        forecasts=board.n_forecasts, signals=board.n_signal, high_tier_signals=board.n_high,
        signal_share=board.n_signal / board.n_forecasts if board.n_forecasts else 0.0,
        forecast_coverage=_coverage(tables, data),
    )  # fmt: skip
    return replace(v, gate=GATE)


def _coverage(tables: Sequence[ForecastTable], data: MarketDataset) -> dict[str, float]:
    """Share of the dataset's (row, asset) cells each member has a forecast for."""
    return {t.name: float(np.isfinite(t.p_up).mean()) if data.n_bars else 0.0 for t in tables}


def record_ensemble_verdict(v: Verdict, settings: Settings, run_ids: Sequence[str]) -> list[str]:
    """Store ``v`` for every member run in ``run_ids`` (state store; MLflow tags and artifacts when
    ``gates.mirror_to_mlflow``); the ids it was stored for."""
    from cappuccino_core.gates.record import mirror_to_mlflow, save_verdict
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state.store import StateStore

    store = StateStore(settings.paths.state_url)
    trk = Tracking.from_settings(settings)
    done = []
    for rid in dict.fromkeys(r for r in run_ids if r):
        mine = replace(v, run_id=rid, artifacts=dict(v.artifacts))
        out = Path(settings.paths.reports_dir) / settings.gates.reports_subdir / rid / GATE
        save_verdict(mine, store, out)
        if settings.gates.mirror_to_mlflow:
            mirror_to_mlflow(mine, trk)
        done.append(rid)
    return done
