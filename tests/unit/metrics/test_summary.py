"""summarize(): the figures of one equity curve in one dataclass, JSON/MLflow-ready."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cappuccino_core.metrics import PerformanceSummary, sharpe_ratio, simple_returns, summarize

EQUITY = [100.0, 110.0, 99.0, 108.9]
LEDGER = {
    "time": [0, 1, 2, 3],
    "asset": ["BTC/USD", "BTC/USD", "ETH/USD", "ETH/USD"],
    "side": ["buy", "sell", "buy", "sell"],
    "quantity": [1.0, 1.0, 2.0, 1.0],
    "price": [50.0, 60.0, 10.0, 9.0],
    "fee": [0.5, 0.6, 0.2, 0.09],
    "liquidity": ["taker", "maker", "taker", "taker"],
}


def test_hand_example_fields() -> None:
    s = summarize(EQUITY, "1h")
    assert s.n_bars == 3
    assert s.total_return == pytest.approx(0.089)
    assert s.sharpe == pytest.approx(27.027764, rel=1e-6)  # see test_ratios for the hand computation
    assert s.sortino == pytest.approx(54.055527, rel=1e-6)
    assert s.sharpe_per_bar == pytest.approx(0.2886751, rel=1e-6)
    assert s.max_drawdown == pytest.approx(-0.1)
    assert s.max_drawdown_duration_bars == 2
    assert s.bar_win_rate == pytest.approx(2 / 3)
    assert s.bars_per_year == 8766.0
    assert 0.0 <= s.psr <= 1.0
    assert s.trades is None and s.benchmarks == {}


def test_with_ledger_and_benchmarks() -> None:
    bench = {"equal_weight": [100.0, 101.0, 102.0, 103.0], "btc_hold": [100.0, 90.0, 95.0, 99.0]}
    s = summarize(EQUITY, "1h", ledger=LEDGER, benchmarks=bench)
    assert s.trades is not None
    # BTC: 60 - 50 - 0.5 - 0.6 = 8.9 (win); ETH: 9 - 10 - 0.09 - 0.1 = -1.19 (loss)
    assert s.trades.n_round_trips == 2 and s.trades.trade_win_rate == 0.5
    assert s.trades.realized_pnl == pytest.approx(7.71)
    assert s.trades.fees_paid == pytest.approx(1.39)
    assert s.trades.maker_fees == pytest.approx(0.6) and s.trades.taker_fees == pytest.approx(0.79)
    # traded notional 50 + 60 + 20 + 9 = 139 over mean equity 104.475
    assert s.trades.turnover == pytest.approx(139 / np.mean(EQUITY))
    ew = s.benchmarks["equal_weight"]
    assert ew.total_return == pytest.approx(0.03)
    assert ew.sharpe == pytest.approx(sharpe_ratio(simple_returns(bench["equal_weight"]), "1h"))
    assert ew.alpha == pytest.approx(s.annual_return - ew.annual_return)


def test_to_dict_is_standard_json_and_round_trips() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0], "1d", ledger=LEDGER, benchmarks={"ew": [1.0, 1.1, 1.2, 1.3]})
    assert math.isnan(s.calmar)  # no drawdown
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)  # NaN / inf were turned into null
    assert d["calmar"] is None
    back = PerformanceSummary.from_dict(json.loads(text))
    assert back.sharpe == s.sharpe and back.trades == s.trades and back.benchmarks == s.benchmarks
    assert math.isnan(back.calmar)


def test_flat_metrics_for_mlflow() -> None:
    s = summarize(EQUITY, "1h", ledger=LEDGER, benchmarks={"equal_weight": [100.0, 101.0, 102.0, 103.0]})
    m = s.flat_metrics()
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values())
    assert m["sharpe"] == s.sharpe
    assert m["equal_weight.alpha"] == s.benchmarks["equal_weight"].alpha
    assert m["trades.fees_paid"] == pytest.approx(1.39)
    assert "timeframe" not in m


def test_errors() -> None:
    with pytest.raises(ValueError, match="align"):
        summarize(EQUITY, "1h", benchmarks={"ew": [1.0, 2.0]})
    with pytest.raises(ValueError, match="one equity curve"):
        summarize(np.ones((2, 5)), "1h")
    with pytest.raises(ValueError, match="at least 2"):
        summarize([100.0], "1h")


def test_two_points_is_undefined_but_not_an_error() -> None:
    s = summarize([100.0, 101.0], "1h")
    assert s.total_return == pytest.approx(0.01)
    assert math.isnan(s.sharpe) and math.isnan(s.psr)
