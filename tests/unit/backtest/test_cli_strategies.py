"""`cappuccino backtest --policy <strategy>`: fitted on the bars before the window; every report shows the
strategies to beat on the same window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cappuccino_cli.main import app
from cappuccino_core.strategies import STRATEGIES


def test_cli_backtests_a_strategy_and_reports_all_of_them(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[paths]\ndata_root = "{tmp_path / "data"}"\nsample_dir = "{sample_dir}"\n'
        '[data]\nvenue = "binance"\ntickers = ["BTC/USDT", "ETH/USDT"]\ntimeframe = "1h"\n'
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "trend"
    args = ["backtest", "--config", str(cfg), "--sample", "--start", "2025-05-01", "--end", "2025-06-01"]
    result = CliRunner().invoke(app, [*args, "--policy", "trend", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fitted on" in result.output and "strategy buy_and_hold_btc" in result.output
    doc = json.loads((out / "metrics.json").read_text())
    rows = doc["strategies"]
    assert list(rows) == list(STRATEGIES)
    assert rows["trend"]["fitted"] is True and rows["trend"]["params"].startswith("fast=")
    # the report's own figures are the trend row's: the same strategy, the same fitted parameters
    assert rows["trend"]["sharpe"] == pytest.approx(doc["summary"]["sharpe"], rel=1e-12)
    assert "exempt from the position cap" in rows["buy_and_hold_btc"]["label"]
    assert rows["buy_and_hold_btc"]["fills"] == 1 and rows["cash"]["fills"] == 0
    assert doc["metadata"]["env"]["position_cap"] == 0.3  # trend is not exempt
    html = (out / "report.html").read_text()
    assert "Strategies to beat" in html and "this policy" in html

    bh = tmp_path / "bh"
    ok = CliRunner().invoke(app, [*args, "--policy", "buy_and_hold", "--out", str(bh)])
    assert ok.exit_code == 0, ok.output
    meta = json.loads((bh / "metrics.json").read_text())
    assert meta["metadata"]["env"]["position_cap"] == 1.0 and meta["metadata"]["env"]["cash_reserve"] == 0.0
    assert meta["summary"]["trades"]["n_fills"] == 1  # true buy-and-hold: one buy, never another trade
