"""The backtest report: files exist, the HTML shows and links the PNGs, metrics.json matches summarize()."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cappuccino_core.backtest import report as report_mod
from cappuccino_core.backtest.report import write_report
from cappuccino_core.metrics import standard_benchmarks, summarize

T = 500
TICKERS = ["BTC/USD", "ETH/USD", "LINK/USD"]


@pytest.fixture(scope="module")
def run() -> dict:
    rng = np.random.default_rng(0)
    prices = np.exp(np.cumsum(rng.normal(0, 0.01, (T, 3)), axis=0)) * np.array([60000.0, 3000.0, 20.0])
    times = np.datetime64("2025-01-01T00:00", "ns") + np.arange(T) * np.timedelta64(1, "h")
    equity = 100_000 * np.exp(np.cumsum(rng.normal(0.0001, 0.004, T)))
    benches = standard_benchmarks(prices, TICKERS, 100_000.0)
    ledger = pl.DataFrame(
        {
            "time": pl.Series(times[[1, 5, 9, 12, 20]]).dt.replace_time_zone("UTC"),
            "asset": ["BTC/USD", "ETH/USD", "BTC/USD", "ETH/USD", "LINK/USD"],
            "side": ["BUY", "BUY", "SELL", "SELL", "BUY"],
            "quantity": [0.1, 1.0, 0.05, 0.5, 10.0],
            "price": [60000.0, 3000.0, 61000.0, 2900.0, 20.0],
            "fee": [72.0, 36.0, 36.6, 17.4, 2.4],
            "liquidity": ["TAKER", "MAKER", "TAKER", "TAKER", "MAKER"],
        }
    )
    return {"times": times, "equity": equity, "benches": benches, "ledger": ledger}


def test_files_html_and_json(tmp_path: Path, run: dict) -> None:
    out = tmp_path / "reports" / "bt-1"
    files = write_report(
        out,
        run["equity"],
        run["times"].astype("int64"),  # MarketDataset.times: int64 ns since the epoch
        "1h",
        benchmarks=run["benches"],
        ledger=run["ledger"],
        title="PPO <trial 7>",
        metadata={"model_id": "abc123", "taker_fee": 0.012},
    )
    assert files.directory == out
    for name in ("report.html", "metrics.json", "equity.png", "drawdown.png", "trades.png"):
        p = out / name
        assert p.is_file() and p.stat().st_size > 0, name
    for png in files.pngs.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    html = files.html.read_text()
    for name in ("equity.png", "drawdown.png", "trades.png", "metrics.json"):
        assert f'href="{name}"' in html
    assert html.count("data:image/png;base64,") == 3  # self-contained
    assert "PPO &lt;trial 7&gt;" in html and "<trial 7>" not in html  # escaped
    assert "equal_weight" in html and "btc_hold" in html and "LINK/USD" in html
    assert "sqrt(8766)" in html  # the annualisation convention is stated

    doc = json.loads(files.metrics_json.read_text())
    expected = summarize(run["equity"], "1h", ledger=run["ledger"], benchmarks=run["benches"]).to_dict()
    assert doc["summary"] == json.loads(json.dumps(expected))
    assert doc["start"] == "2025-01-01T00:00:00Z"
    assert doc["end"] == "2025-01-21T19:00:00Z"
    assert doc["metadata"] == {"model_id": "abc123", "taker_fee": 0.012}
    assert doc["per_asset"]["ETH/USD"]["round_trips"] == 1
    assert doc["summary"]["trades"]["fees_paid"] == pytest.approx(164.4)


def test_times_in_any_utc_form_agree(tmp_path: Path, run: dict) -> None:
    forms = [
        run["times"],
        pl.Series(run["times"]).dt.replace_time_zone("UTC"),
        pd.DatetimeIndex(run["times"]).tz_localize("UTC").tz_convert("Europe/Berlin"),
    ]
    for i, t in enumerate(forms):
        files = write_report(tmp_path / f"r{i}", run["equity"], t, "1h")
        doc = json.loads(files.metrics_json.read_text())
        assert (doc["start"], doc["end"]) == ("2025-01-01T00:00:00Z", "2025-01-21T19:00:00Z")


def test_without_ledger(tmp_path: Path, run: dict) -> None:
    files = write_report(tmp_path / "r", run["equity"], run["times"], "1h", benchmarks=run["benches"])
    assert set(files.pngs) == {"equity", "drawdown"}
    assert not (tmp_path / "r" / "trades.png").exists()
    assert "No trade ledger" in files.html.read_text()
    assert json.loads(files.metrics_json.read_text())["summary"]["trades"] is None


def test_rewrite_replaces_atomically_and_leaves_no_temp(tmp_path: Path, run: dict) -> None:
    out = tmp_path / "r"
    write_report(out, run["equity"], run["times"], "1h", ledger=run["ledger"])
    assert (out / "trades.png").exists()
    write_report(out, run["equity"], run["times"], "1h")  # no ledger this time: old trades.png must go
    assert not (out / "trades.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_failure_keeps_the_previous_report(
    tmp_path: Path, run: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r"
    write_report(out, run["equity"], run["times"], "1h", title="first")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("plot failed")

    monkeypatch.setattr(report_mod, "_plot_drawdown", boom)
    with pytest.raises(RuntimeError, match="plot failed"):
        write_report(out, run["equity"], run["times"], "1h", title="second")
    assert json.loads((out / "metrics.json").read_text())["title"] == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_bad_inputs(tmp_path: Path, run: dict) -> None:
    with pytest.raises(ValueError, match="one time per equity point"):
        write_report(tmp_path / "r", run["equity"], run["times"][:-1], "1h")
    with pytest.raises(ValueError, match="increasing"):
        write_report(tmp_path / "r", run["equity"], run["times"][::-1], "1h")
    with pytest.raises(ValueError, match="benchmark"):
        write_report(tmp_path / "r", run["equity"], run["times"], "1h", benchmarks={"ew": run["equity"][:-1]})
    assert not (tmp_path / "r").exists()
