"""Gate 3: paper-trading grade, from what the paper trader recorded in the state store.

:class:`PaperRecord` is the interface: the equity snapshots (table ``equity``), the fills of the model's
orders (``fills`` joined with ``orders`` on the client order id), the emergency stops set during the period
(audit log ``flag:emergency_stop=True``), and optionally the market's equal-weight curve on the same
timestamps (for alpha). Build it with :meth:`PaperRecord.from_store` or directly from arrays/frames.

Eligibility: at least ``paper_min_days`` days between the first and last equity snapshot and at least
``paper_min_trades`` fills; before that the verdict is *pending* (not passed). Then six checks: win rate of
closed round trips, annualised Sharpe, max drawdown, alpha vs the market (CAGR difference), total return,
emergency stops. The grade is the best one whose bound (share of checks passed) is met, else F; only
``paper_eligible_grades`` (A, B) pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select

from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.gates.verdict import Verdict, check
from cappuccino_core.metrics import (
    alpha,
    max_drawdown,
    sharpe_ratio,
    simple_returns,
    total_return,
    trade_win_rate,
)
from cappuccino_core.state.schema import AuditLog, EquitySnapshot, FillRow, OrderRow
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore

GATE = "paper"
DAY_NS = 86_400 * 10**9
YEAR_NS = 365.25 * DAY_NS
FILL_COLUMNS = ("time", "asset", "side", "quantity", "price", "fee", "liquidity")


@dataclass(frozen=True)
class PaperRecord:
    """A candidate's paper-trading record: equity snapshots, fills, emergency stops and optionally the
    equal-weight market curve on the same timestamps (checked on creation)."""

    run_id: str
    times: np.ndarray  # (T,) int64 ns UTC of each equity snapshot, increasing
    equity: np.ndarray  # (T,) total equity (cash + positions marked to market), > 0
    fills: pl.DataFrame  # FILL_COLUMNS: one row per fill (metrics ledger columns)
    emergency_stops: int = 0
    market: np.ndarray | None = None  # (T,) equal-weight market equity on the same timestamps

    def __post_init__(self) -> None:
        t, e = np.asarray(self.times), np.asarray(self.equity, dtype=np.float64)
        if t.ndim != 1 or e.shape != t.shape:
            raise ValueError(f"paper record: times {t.shape} and equity {e.shape} must be the same (T,)")
        if t.size > 1 and (np.diff(t) <= 0).any():
            raise ValueError("paper record: equity snapshot times must be strictly increasing")
        if not np.isfinite(e).all() or (e <= 0).any():
            raise ValueError("paper record: equity must be finite and > 0")
        if self.market is not None and np.shape(self.market) != t.shape:
            raise ValueError(f"paper record: market curve {np.shape(self.market)} != equity {t.shape}")
        missing = [c for c in FILL_COLUMNS[1:6] if c not in self.fills.columns]
        if missing:
            raise ValueError(f"paper record: fills lack column(s) {missing}")

    @property
    def days(self) -> float:
        """Days from the first to the last equity snapshot (0 without snapshots)."""
        return float((self.times[-1] - self.times[0]) / DAY_NS) if self.times.size else 0.0

    @property
    def n_trades(self) -> int:
        """Number of fills in the record."""
        return self.fills.height

    @property
    def periods_per_year(self) -> float:
        """Snapshots per year from their median spacing (annualises the Sharpe)."""
        if self.times.size < 2:
            return float("nan")
        return float(YEAR_NS / np.median(np.diff(self.times)))

    @classmethod
    def from_store(
        cls, store: StateStore, run_id: str, broker: str | None = None, market: Any = None
    ) -> PaperRecord:
        """The model's paper period from the state store (``broker``: only that broker's rows).
        ``market``: None, an (T,) curve, or a callable ``times_ns -> (T,) curve``."""
        with store.session() as s:
            q_eq = select(EquitySnapshot).where(EquitySnapshot.model_run_id == run_id)
            q_fill = (
                select(FillRow)
                .join(OrderRow, OrderRow.client_order_id == FillRow.client_order_id)
                .where(OrderRow.model_run_id == run_id)
            )
            if broker is not None:
                q_eq = q_eq.where(EquitySnapshot.broker == broker)
                q_fill = q_fill.where(FillRow.broker == broker)
            eq = list(s.scalars(q_eq.order_by(EquitySnapshot.ts, EquitySnapshot.id)))
            fills = list(s.scalars(q_fill.order_by(FillRow.ts, FillRow.id)))
            times = np.array([_ns(r.ts) for r in eq], dtype=np.int64)
            stops = 0
            if eq:
                stops = len(
                    list(
                        s.scalars(
                            select(AuditLog.id).where(
                                AuditLog.action == f"flag:{EMERGENCY_STOP}=True",
                                AuditLog.ts >= eq[0].ts,
                                AuditLog.ts <= eq[-1].ts,
                            )
                        )
                    )
                )
            frame = pl.DataFrame(
                {
                    "time": [_ns(f.ts) for f in fills],
                    "asset": [f.asset for f in fills],
                    "side": [f.side.lower() for f in fills],
                    "quantity": [float(f.qty) for f in fills],
                    "price": [float(f.price) for f in fills],
                    "fee": [float(f.fee) for f in fills],
                    "liquidity": [f.liquidity.lower() for f in fills],
                },
                schema={"time": pl.Int64, "asset": pl.Utf8, "side": pl.Utf8, "quantity": pl.Float64,
                        "price": pl.Float64, "fee": pl.Float64, "liquidity": pl.Utf8},
            )  # fmt: skip
            equity = np.array([float(r.equity) for r in eq])
        # Several snapshots at one timestamp (one per broker call): keep the last.
        if times.size:
            keep = np.append(np.diff(times) != 0, True)
            times, equity = times[keep], equity[keep]
        curve = market(times) if callable(market) else market
        return cls(run_id, times, equity, frame, stops, None if curve is None else np.asarray(curve, float))


def _ns(ts: datetime) -> int:
    if ts.tzinfo is None:  # SQLite returns naive datetimes; the store writes UTC
        return int(np.datetime64(ts, "ns").astype(np.int64))
    return int(ts.timestamp() * 1_000_000) * 1000


def grade_for(share: float, cfg: GatesConfig) -> str:
    """The letter grade for ``share`` (the share of paper checks passed, 0..1): the best grade whose bound
    it reaches, else 'F'."""
    for grade, bound in sorted(cfg.paper_grades.items(), key=lambda kv: -kv[1]):
        if share >= bound - 1e-12:
            return grade
    return "F"


def grade_paper(record: PaperRecord, cfg: GatesConfig) -> Verdict:
    """Grade the paper period A-F; pending (not passed) until it is long and busy enough."""
    inputs = {"days": record.days, "trades": record.n_trades, "min_days": cfg.paper_min_days,
              "min_trades": cfg.paper_min_trades, "snapshots": int(record.times.size)}  # fmt: skip
    if record.days < cfg.paper_min_days or record.n_trades < cfg.paper_min_trades:
        reason = (
            f"{record.days:.2f} of {cfg.paper_min_days:g} days, {record.n_trades} of "
            f"{cfg.paper_min_trades} trades"
        )
        return Verdict(GATE, record.run_id, False, [], {"reason": reason, "grade": None}, inputs,
                       status="pending")  # fmt: skip
    ppy = record.periods_per_year
    eq = record.equity
    ret = float(total_return(eq))
    sharpe = float(sharpe_ratio(simple_returns(eq), ppy))
    dd = float(-max_drawdown(eq))
    win = trade_win_rate(record.fills)
    alp = float(alpha(eq, record.market, ppy)) if record.market is not None else float("nan")
    checks = [
        check("win_rate", win, ">=", cfg.paper_min_win_rate, "" if np.isfinite(win) else "no round trip"),
        check("sharpe", sharpe, ">", cfg.paper_min_sharpe),
        check("max_drawdown", dd, "<", cfg.paper_max_drawdown),
        check("alpha", alp, ">", cfg.paper_min_alpha, "" if record.market is not None else "no market curve"),
        check("total_return", ret, ">", cfg.paper_min_return),
        check("emergency_stops", float(record.emergency_stops), "<=", float(cfg.paper_max_emergency_stops)),
    ]  # fmt: skip
    share = sum(c.passed for c in checks) / len(checks)
    grade = grade_for(share, cfg)
    figures = {
        "grade": grade,
        "share_passed": share,
        "win_rate": win,
        "sharpe": sharpe,
        "max_drawdown": dd,
        "alpha": alp,
        "total_return": ret,
        "emergency_stops": record.emergency_stops,
        "days": record.days,
        "trades": record.n_trades,
        "eligible_grades": cfg.paper_eligible_grades,
    }
    passed = grade in cfg.paper_eligible_grades
    # The verdict passes on the grade (A/B), not on every check: keep the failed checks as the explanation.
    return Verdict(
        GATE, record.run_id, passed, checks, figures, inputs, status="passed" if passed else "failed"
    )
