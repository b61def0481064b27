"""Gate 3: the PaperRecord read back from the state store tables, pending / A / F grades, grade bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.gates import PaperRecord, grade_paper
from cappuccino_core.gates.paper import grade_for
from cappuccino_core.state.schema import AuditLog, EquitySnapshot, FillRow, OrderRow
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore

CFG = GatesConfig()
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def record_paper(store: StateStore, run_id: str, days: int, growth: float, win: bool) -> None:
    """Hourly equity growing by ``growth`` per hour (+ small wiggle); 12 buy/sell round trips."""
    hours = days * 24
    with store.session() as s:
        for h in range(hours + 1):
            eq = 1e5 * (1 + growth) ** h * (1 + 0.001 * (-1) ** h)
            s.add(EquitySnapshot(broker="alpaca", model_run_id=run_id, ts=T0 + timedelta(hours=h),
                                 equity=eq, cash=eq / 2))  # fmt: skip
        for k in range(12):
            for j, side in enumerate(("buy", "sell")):
                cid = f"{run_id}-{k}-{side}"
                ts = T0 + timedelta(hours=10 * k + j)
                s.add(
                    OrderRow(
                        client_order_id=cid,
                        broker="alpaca",
                        model_run_id=run_id,
                        bar_time=ts,
                        asset="BTC/USD",
                        side=side,
                        qty=0.1,
                        order_type="market",
                        status="filled",
                    )
                )
                price = 100.0 if side == "buy" else (110.0 if win else 90.0)
                s.add(FillRow(broker="alpaca", trade_id=cid, client_order_id=cid, asset="BTC/USD", side=side,
                           qty=0.1, price=price, fee=0.01, liquidity="TAKER", ts=ts))  # fmt: skip
    store.set_flag("other", True, "test")  # unrelated flags do not count


def market(times: np.ndarray) -> np.ndarray:
    return np.full(times.shape, 1e5)  # the market went nowhere


def test_a_good_paper_period_gets_an_a(tmp_path) -> None:
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    record_paper(store, "good", days=8, growth=0.0002, win=True)
    rec = PaperRecord.from_store(store, "good", market=market)
    assert rec.days == 8.0 and rec.n_trades == 24 and rec.emergency_stops == 0
    assert rec.periods_per_year == pytest.approx(8766.0)
    v = grade_paper(rec, CFG)
    assert v.passed and v.figures["grade"] == "A" and v.figures["win_rate"] == 1.0, v.explain()


def test_a_losing_period_with_an_emergency_stop_gets_an_f(tmp_path) -> None:
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    record_paper(store, "bad", days=8, growth=-0.001, win=False)
    store.set_flag(EMERGENCY_STOP, True, "operator", "drawdown")
    rec = PaperRecord.from_store(store, "bad", market=market)
    # the flag was set now, after the recorded period: it only counts inside [first, last] snapshot
    assert rec.emergency_stops == 0
    with store.session() as s:  # one set during the period counts
        s.add(
            AuditLog(
                ts=T0 + timedelta(days=2),
                actor="operator",
                action=f"flag:{EMERGENCY_STOP}=True",
                subject=EMERGENCY_STOP,
            )
        )
    rec = PaperRecord.from_store(store, "bad", market=market)
    assert rec.emergency_stops == 1
    v = grade_paper(rec, CFG)
    assert not v.passed and v.figures["grade"] == "F"
    assert {c.name for c in v.failed_checks} == {
        "win_rate",
        "sharpe",
        "max_drawdown",
        "alpha",
        "total_return",
        "emergency_stops",
    }
    assert "emergency_stops = 1, needs <= 0" in v.explain()


def test_too_short_or_too_quiet_is_pending(tmp_path) -> None:
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    record_paper(store, "young", days=3, growth=0.001, win=True)
    v = grade_paper(PaperRecord.from_store(store, "young"), CFG)
    assert v.status == "pending" and not v.passed and "3.00 of 7 days" in v.explain()


@pytest.mark.parametrize(("passed", "grade"), [(6, "A"), (5, "B"), (4, "C"), (3, "D"), (2, "F"), (0, "F")])
def test_grade_bounds(passed: int, grade: str) -> None:
    assert grade_for(passed / 6, CFG) == grade


def test_bad_records_are_refused() -> None:
    import polars as pl

    fills = pl.DataFrame({c: [] for c in ("asset", "side", "quantity", "price", "fee")})
    with pytest.raises(ValueError, match="strictly increasing"):
        PaperRecord("x", np.array([2, 1]), np.array([1.0, 1.0]), fills)
    with pytest.raises(ValueError, match="equity must be finite"):
        PaperRecord("x", np.array([1, 2]), np.array([1.0, np.nan]), fills)
