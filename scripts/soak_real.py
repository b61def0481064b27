"""The 72-hour soak with trained forecasters (the README's figure in section 3b).

Trains the LSTM and the Transformer (configured hyperparameters, no Optuna) on real 5m BTC/USDT bars that end
a day before the soak's window (``--real-dir``, e.g. ``../shared/data/real``: ``BINANCE_BTCUSDT_5m.*``),
gates and registers them in a throwaway MLflow store, reads them back as the CLI does, then runs
``supervised.soak.soak`` over the sample's newest ``--hours`` of 5m bars with their forecasts (faults every
``--fault-every`` bars, a 30% gap down half way). Prints the gate lines, the soak report and the wall times;
the last line is the report as JSON.

    nice -n 10 .venv/bin/python scripts/soak_real.py --real-dir ../shared/data/real
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
from run_summary import print_summary, train_forecasters

from cappuccino_core.config import load_settings
from cappuccino_core.data.sources.files import read_bar_file
from cappuccino_core.supervised.soak import model_tables, soak
from cappuccino_core.trading.loop.replay import load_bars

TICKER = "BTC/USDT"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real-dir", type=Path, required=True, help="folder with BINANCE_BTCUSDT_5m.*")
    ap.add_argument("--hours", type=float, default=72.0)
    ap.add_argument("--fault-every", type=int, default=10)
    ap.add_argument("--train-bars", type=int, default=20_000, help="newest 5m bars to train on")
    args = ap.parse_args()
    src = next(iter(sorted(args.real_dir.glob("BINANCE_BTCUSDT_5m.*"))), None)
    if src is None:
        raise SystemExit(f"no BINANCE_BTCUSDT_5m.* under {args.real_dir}")
    with tempfile.TemporaryDirectory(prefix="cappuccino-soak-") as tmp:
        root = Path(tmp)
        settings = load_settings(
            paths={
                "data_root": root / "data", "state_url": f"sqlite:///{root / 'state.db'}",
                "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
                "mlflow_artifact_root": root / "mlartifacts",
                "optuna_storage": f"journal:{root / 'o.journal'}",
                "reports_dir": root / "reports",
            },
            data={"tickers": [TICKER], "timeframe": "5m"},
            supervised={"optuna_trials": 0, "max_bars": args.train_bars},
        )  # fmt: skip
        replay = load_bars(settings, "5m", source="sample")
        window_start = int(replay.times[len(replay.times) - int(args.hours * 12)])
        cut = pl.from_epoch(pl.Series([window_start]), time_unit="ns").dt.replace_time_zone("UTC")[0]
        real = read_bar_file(src).filter(pl.col("time") < cut - timedelta(days=1))
        print(f"training on {min(real.height, args.train_bars)} real 5m bars up to {real['time'][-1]}")
        _, models, train_s = train_forecasters(settings, {TICKER: real})
        t0 = time.perf_counter()
        rep = soak(
            settings,
            model_tables(models),
            hours=args.hours,
            crash_hour=args.hours / 2,
            fault_every=args.fault_every,
        )
        soak_s = time.perf_counter() - t0
    keys = ("model", "bars_replayed", "decided", "faults_injected", "broker_errors", "orders", "fills",
            "crash_time", "buys_after_breach_same_day", "prop_firm_halted", "high_tier_signals", "signals",
            "max_confidence", "win_rate", "backtest_win_rate", "total_return")  # fmt: skip
    summary = {k: rep.get(k) for k in keys} | {
        "train_seconds": round(train_s, 1),
        "soak_seconds": round(soak_s, 1),
    }
    print_summary(summary)


if __name__ == "__main__":
    main()
