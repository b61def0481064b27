"""`cappuccino trade paper --broker local`: a replayed week through the full loop, the real alpaca-py client
against the in-process loopback exchange; the report is printed and written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cappuccino_core.state.schema import FillRow, OrderRow
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.factory import sample_files
from cappuccino_core.trading.loop.replay import load_closes
from cappuccino_core.trading.loop.session import SUMMARY_KEYS, paper_session, run_paper


def test_local_week_places_real_orders_and_reports(settings, sample_dir) -> None:  # type: ignore[no-untyped-def]
    rep = run_paper(settings, "local", 7, "baseline")
    assert rep["broker"] == "local:alpaca-paper" and rep["bars_replayed"] == 168
    assert rep["fills"] > 0 and rep["seconds"] < 30  # a week of 1h bars x 6 assets, well under a minute
    store = StateStore(settings.paths.state_url)
    with store.session() as s:
        orders = list(s.scalars(select(OrderRow).where(OrderRow.model_run_id == rep["session"])))
        n_fills = s.scalar(select(func.count()).select_from(FillRow))
    assert orders and {o.broker for o in orders} == {"alpaca-paper"}
    assert {o.asset for o in orders} <= {"BTC/USD", "ETH/USD", "SOL/USD", "LINK/USD", "LTC/USD", "ADA/USD"}
    assert all(o.status in ("filled", "rejected", "canceled") for o in orders)  # reconciled, none left open
    assert all(o.broker_order_id for o in orders if o.status == "filled")  # ids the venue gave back
    assert n_fills == rep["fills"] == sum(o.status == "filled" for o in orders)
    # equal weight over the same 168 bars, by hand from the sample
    bars = load_closes(sample_files(settings))
    c = bars.close[-168:]
    assert rep["equal_weight_return"] == pytest.approx(float(np.mean(c[-1] / c[0]) - 1))
    assert rep["excess_return"] == pytest.approx(rep["total_return"] - rep["equal_weight_return"])
    assert rep["fees"] == pytest.approx(rep["volume"] * settings.costs.taker_fee)  # taker fills at the tier
    saved = json.loads(Path(rep["report_path"]).read_text())
    assert Path(rep["report_path"]).parent == Path(settings.paths.reports_dir) / "trading"
    assert saved["fills"] == rep["fills"] and saved["win_rate"] == pytest.approx(rep["win_rate"])


def test_paper_session_summary_and_cli(settings, sample_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = paper_session(settings, days=1)
    assert set(out) == set(SUMMARY_KEYS) and out["bars_replayed"] == 24
    cfg = tmp_path / "cappuccino.toml"
    cfg.write_text(
        f'[paths]\nsample_dir = "{settings.paths.sample_dir}"\n'
        f'state_url = "sqlite:///{tmp_path / "cli.db"}"\nreports_dir = "{tmp_path / "cli_reports"}"\n'
    )
    from cappuccino_cli.main import app

    r = CliRunner().invoke(app, ["trade", "paper", "--broker", "local", "--days", "1", "-c", str(cfg)])
    assert r.exit_code == 0, r.output
    assert '"broker": "local:alpaca-paper"' in r.output and "maker_ratio" in r.output
    assert len(list((tmp_path / "cli_reports" / "trading").glob("paper_local_*.json"))) == 1
