"""Gate 2: one batched kernel run over all scenarios; each failure mode; outputs; the CGE -> dataset path."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from cappuccino_core.backtest.baselines import make_baseline
from cappuccino_core.backtest.runner import backtest
from cappuccino_core.cge.garch_fit import HourlyCalibration
from cappuccino_core.cge.generate import BUNDLED_CALIBRATION
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.env.toy import dataset_from_prices
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.gates import ScenarioBatch, run_stress, run_stress_gate, stress_dataset
from cappuccino_core.gates.stress_data import scenario_frames
from tests.env_presets import NO_BAND
from tests.unit.gates.policies import Constant

CFG = GatesConfig()
FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
ALL_IN = EnvConfig(**NO_BAND, position_cap=1.0, cash_reserve=0.0)
BARS = 50


def scenario_data(drifts: list[float]):
    """One segment of BARS bars per scenario, 2 assets, each with a constant per-bar growth."""
    paths = [100.0 * np.exp(d * np.arange(BARS))[:, None] * np.array([1.0, 2.0]) for d in drifts]
    segments = [(i * BARS, (i + 1) * BARS) for i in range(len(drifts))]
    return dataset_from_prices(np.concatenate(paths), lookback=2, segments=segments)


def ids_regimes(n: int):
    return np.arange(10, 10 + n), ["boom" if i % 2 else "bust" for i in range(n)]


def test_batched_run_equals_one_backtest_per_scenario() -> None:
    data = scenario_data([0.01, -0.005, 0.002])
    run = run_stress(make_baseline("equal_weight", data.tickers, ALL_IN), data, ALL_IN, FREE)
    assert run.equity.shape == (3, BARS - 1)  # lookback 2: BARS - 2 steps + the start
    for i, (s, e) in enumerate(data.segments):
        one = backtest(make_baseline("equal_weight", data.tickers, ALL_IN), data.slice(s, e), ALL_IN, FREE)
        np.testing.assert_allclose(run.equity[i], one.equity, rtol=1e-12)
    # equal weight, no costs: return = mean of the two assets' growth over BARS - 2 bars
    np.testing.assert_allclose(run.equity[:, -1] / 1e5, np.exp(np.array([0.01, -0.005, 0.002]) * (BARS - 2)))
    assert (run.fills == 2).all() and (run.fees == 0).all()


def test_a_good_policy_passes_and_writes_its_outputs(tmp_path) -> None:
    data = scenario_data([0.002, 0.003, -0.001, 0.001, 0.002])
    ids, regimes = ids_regimes(5)
    v, table = run_stress_gate(Constant(2, 0.5), data, ids, regimes, EnvConfig(**NO_BAND), CostsConfig(), CFG,
                               run_id="m", out_dir=tmp_path)  # fmt: skip
    assert v.passed, v.explain()
    assert table.columns[:7] == [
        "scenario_id",
        "regime",
        "total_return",
        "sharpe",
        "max_drawdown",
        "trades",
        "fees",
    ]
    assert table["scenario_id"].to_list() == ids.tolist() and (table["fees"] > 0).all()
    assert v.figures["profitable_share"] == pytest.approx(0.8)
    for name in ("scenarios_csv", "scenarios_parquet", "regimes_csv", "plot"):
        assert v.artifacts[name].is_file()
    assert pl.read_parquet(v.artifacts["scenarios_parquet"]).equals(table)
    assert set(pl.read_csv(v.artifacts["regimes_csv"])["regime"]) == {"boom", "bust"}


def test_flat_policy_fails_on_profitability_and_sharpe() -> None:
    data = scenario_data([0.002, -0.002])
    v, table = run_stress_gate(
        Constant(2, -1.0), data, *ids_regimes(2), EnvConfig(**NO_BAND), CostsConfig(), CFG
    )
    assert (table["total_return"] == 0).all() and (table["trades"] == 0).all()
    assert {c.name for c in v.failed_checks} == {"profitable_share", "median_sharpe"}
    assert "profitable_share = 0, needs >= 0.4" in v.explain()


def test_reckless_policy_fails_on_drawdown_and_ruin() -> None:
    data = scenario_data([0.004, 0.004, -0.06])  # one crash scenario: -94% over the path
    v, _ = run_stress_gate(Constant(2, 1.0), data, *ids_regimes(3), ALL_IN, FREE, CFG)
    failed = {c.name: c for c in v.failed_checks}
    assert set(failed) == {"worst_max_drawdown", "worst_loss"}
    assert failed["worst_loss"].value == pytest.approx(1 - np.exp(-0.06 * (BARS - 2)), rel=1e-9)
    assert failed["worst_loss"].note == "scenario 12"


def test_scenarios_become_one_segment_each_with_the_models_features() -> None:
    calib = HourlyCalibration.load(BUNDLED_CALIBRATION)
    rng = np.random.default_rng(0)
    tickers = ("BTC/USDT", "ETH/USDT")
    steps = 0.004 * rng.standard_normal((3, 400, 2))
    steps[:, 0] = 0.0
    prices = 100.0 * np.exp(np.cumsum(steps, axis=1))
    batch = ScenarioBatch(np.array([0, 1, 2]), ["a", "b", "a"], prices, tickers, datetime(2015, 1, 1), calib)
    frames, n = scenario_frames(batch, "1h", seed=0)
    spec = build_dataset({t: f.head(n) for t, f in frames.items()}, FeaturesConfig(), "1h").spec
    data = stress_dataset(batch, spec, seed=0)
    assert len(data.segments) == 3 and data.spec == spec
    seg_len = {e - s for s, e in data.segments}
    assert seg_len == {n - spec.warmup}
    # the close prices are the scenario paths (bar k closes at path point k + 1)
    s0, e0 = data.segments[1]
    np.testing.assert_allclose(data.prices[s0:e0], prices[1, spec.warmup + 1 :], rtol=1e-12)
    _, table = run_stress_gate(
        Constant(2, 0.5), data, batch.ids, batch.regimes, EnvConfig(**NO_BAND), CostsConfig(), CFG
    )
    assert table.height == 3 and (table["bars"] == n - spec.warmup - spec.lookback).all()


def test_a_15m_model_gets_sub_hour_bars_that_keep_the_hourly_path() -> None:
    """Sub-hour models are served: each hour becomes 4 bars of a Brownian bridge at the path's hourly
    volatility, ending exactly on every hourly close; a timeframe that neither divides nor is a multiple of
    the hour is refused with the reason."""
    calib = HourlyCalibration.load(BUNDLED_CALIBRATION)
    rng = np.random.default_rng(1)
    tickers = ("BTC/USDT", "ETH/USDT")
    steps = 0.004 * rng.standard_normal((2, 300, 2))
    steps[:, 0] = 0.0
    prices = 100.0 * np.exp(np.cumsum(steps, axis=1))
    batch = ScenarioBatch(np.array([0, 1]), ["a", "b"], prices, tickers, datetime(2015, 1, 1), calib)
    frames, n = scenario_frames(batch, "15m", seed=3)
    assert n == 4 * 299
    btc = frames["BTC/USDT"]
    assert btc.height == 2 * n
    assert (btc["time"].head(n).diff().drop_nulls() == timedelta(minutes=15)).all()
    closes = btc["close"].to_numpy()[:n]
    np.testing.assert_allclose(closes[3::4], prices[0, 1:, 0], rtol=1e-12)  # every 4th close: the hour's
    sub = np.diff(np.log(np.concatenate([[prices[0, 0, 0]], closes])))
    # bridge increments: variance per sub-bar ~ sigma^2 / 4, so the 15m vol is ~ half the hourly one
    assert np.std(sub) == pytest.approx(0.5 * np.std(steps[0, 1:, 0]), rel=0.15)
    vol = btc["volume"].to_numpy()[:n] * closes
    hourly = frames_1h = scenario_frames(batch, "1h", seed=3)[0]["BTC/USDT"]
    assert np.median(vol) == pytest.approx(np.median(frames_1h["volume"] * frames_1h["close"]) / 4, rel=0.3)
    again, _ = scenario_frames(batch, "15m", seed=3)
    assert again["BTC/USDT"].equals(btc)  # seeded: reproducible
    spec = build_dataset({t: f.head(n) for t, f in frames.items()}, FeaturesConfig(), "15m").spec
    data = stress_dataset(batch, spec, seed=3)
    assert len(data.segments) == 2 and hourly.height == 2 * 299
    with pytest.raises(ValueError, match=r"divides the hour.*uses 7m"):
        scenario_frames(batch, "7m", seed=0)
