"""The CGE stress gate runs the supervised ensemble: supervised features on the scenarios' synthetic OHLCV
(per scenario, stored statistics), forecasts keyed by the stress dataset's row, the same kernel run and
thresholds as the RL stress gate; it passes and fails where hand reasoning says it must."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from cappuccino_core.cge.garch_fit import HourlyCalibration
from cappuccino_core.cge.generate import BUNDLED_CALIBRATION
from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.supervised_set import build_supervised, supervised_frame_features
from cappuccino_core.gates import ScenarioBatch
from cappuccino_core.gates.stress_data import scenario_frames
from cappuccino_core.supervised.ensemble import forecast_table
from cappuccino_core.supervised.stress import ensemble_stress_data, run_ensemble_stress
from cappuccino_core.supervised.synthetic import planted_frames
from cappuccino_core.supervised.tracking import SupervisedModel

TICKERS = ("BTC/USDT", "ETH/USDT")
CFG = SupervisedConfig(lookback=4, vol_short=4, vol_long=12, epochs=1, patience=1, batch_size=64,
                       lstm_hidden=8, transformer_d_model=8, transformer_heads=2, embargo=2)  # fmt: skip
SMALL = FeaturesConfig(indicators=[{"name": "close"}, {"name": "rsi", "params": {"timeperiod": 5}}])


class ConstantLogit(nn.Module):
    """A Transformer-shaped unit, (B, L, N, F) -> (B, N), saying P(up) = sigmoid(logit) on every bar."""

    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = logit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], x.shape[2]), self.logit)


def _spec() -> Any:
    return build_supervised(planted_frames(300, TICKERS, seed=2), SMALL, CFG, "1h", fit_end=200).spec


def _batch(drifts: list[float], hours: int = 300, seed: int = 0) -> ScenarioBatch:
    rng = np.random.default_rng(seed)
    steps = np.array(drifts)[:, None, None] + 0.004 * rng.standard_normal((len(drifts), hours + 1, 2))
    steps[:, 0] = 0.0
    prices = 100.0 * np.exp(np.cumsum(steps, axis=1))
    regimes = ["crisis" if d < 0 else "normal" for d in drifts]
    calib = HourlyCalibration.load(BUNDLED_CALIBRATION)
    return ScenarioBatch(np.arange(len(drifts)), regimes, prices, TICKERS, datetime(2015, 1, 1), calib)


def test_forecasts_are_built_per_scenario_on_the_synthetic_bars_and_keyed_by_row() -> None:
    from cappuccino_core.supervised.fit import pick_device
    from cappuccino_core.supervised.pipeline import train_kind

    sup = build_supervised(planted_frames(300, TICKERS, seed=2), SMALL, CFG, "1h", fit_end=200)
    model = SupervisedModel("lstm", train_kind("lstm", sup, CFG, device=pick_device("cpu"),
                                               score_test=False).models, sup.spec)  # fmt: skip
    batch = _batch([0.001, -0.002, 0.0])
    data, (table,) = ensemble_stress_data([model], batch, None, seed=4)
    assert len(data.segments) == 3
    frames, n = scenario_frames(batch, "1h", seed=4)  # the same seeded bars the gate builds
    for i, (s, e) in enumerate(data.segments):
        alone = forecast_table(model, {t: f.slice(i * n, n) for t, f in frames.items()}, synthetic_ok=True)
        np.testing.assert_allclose(table.p_up[s:e], alone.at(data.times[s:e]), rtol=1e-12)
        assert np.isfinite(table.p_up[s + CFG.lookback - 1 : e]).all()  # a forecast on every decision bar
    # the scenarios repeat the clock: a time lookup would hand scenario 0's forecasts to the others
    (s0, e0), (s1, e1) = data.segments[:2]
    assert (data.times[s0:e0] == data.times[s1:e1]).all()
    assert not np.allclose(table.p_up[s0 + 5 : e0], table.p_up[s1 + 5 : e1])
    # the features read every OHLCV column of the synthetic bars, finite, none set aside
    first = {t: f.slice(0, n) for t, f in frames.items()}
    one = supervised_frame_features(first, sup.spec, synthetic_ok=True)
    assert np.isfinite(one.features).all() and one.features.shape[2] == sup.features.shape[2]
    with pytest.raises(ValueError, match="real bars only"):
        supervised_frame_features(first, sup.spec)


def _stress(settings: Any, logit: float, drifts: list[float]) -> Any:
    model = SupervisedModel("transformer", [ConstantLogit(logit)], _spec(), run_id="t")
    return run_ensemble_stress(settings, [model], batch=_batch(drifts))


def test_confident_up_ensemble_passes_on_rising_scenarios(settings) -> None:
    v = _stress(settings, 2.2, [0.002] * 5)  # P(up) = 0.90: high tier, long at the cap on every bar
    assert v.gate == "ensemble_stress" and v.passed, v.explain()
    assert v.figures["profitable_share"] == 1.0 and v.figures["median_sharpe"] > 0
    assert v.figures["signals"] == v.figures["high_tier_signals"] == v.figures["forecasts"] > 0
    assert v.inputs["ensemble"] == "ensemble(transformer 1.00)"


def test_the_same_ensemble_fails_when_a_scenario_crashes(settings) -> None:
    # -1% an hour for 300 h; held at 30% per asset (rebalanced every bar), the account loses ~0.6% an hour:
    # 0.994 ** ~290 decision bars = 0.17, a drawdown of ~0.83 (fees aside): > 25%, < the 90% ruin line
    v = _stress(settings, 2.2, [0.002, 0.002, 0.002, -0.01])
    assert not v.passed
    failed = {c.name: c for c in v.failed_checks}
    assert set(failed) == {"worst_max_drawdown"}
    assert failed["worst_max_drawdown"].value == pytest.approx(0.83, abs=0.05)
    assert failed["worst_max_drawdown"].note == "scenario 3"


def test_an_ensemble_below_the_threshold_never_trades_and_fails(settings) -> None:
    v = _stress(settings, 0.4, [0.002, 0.002, -0.002])  # P(up) = 0.60 < 0.75: no signal, no buy
    assert v.figures["signals"] == 0 and v.figures["mean_trades"] == 0
    assert {c.name for c in v.failed_checks} == {"profitable_share", "median_sharpe"}
