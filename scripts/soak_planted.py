"""The 72-hour soak on a planted market where the forecasters have a real edge (README section 3b).

Generates 5m bars of two coins (``supervised.synthetic.planted_frames``: a planted mean reversion of the bar
returns, phi ``--reversion``, plus a mild hour-of-day drift), trains the LSTM and the Transformer on the
older ``--train-bars`` bars through the real path (``train_supervised``: configured hyperparameters, no
Optuna, the supervised gate, a throwaway MLflow registry), reads them back as the CLI does and runs
``supervised.soak.soak`` over the newest ``--hours`` of unseen bars (a day later) with their forecasts:
broker faults every ``--fault-every`` bars, a 30% gap down half way, every high-tier signal sent through the
apprise notifier (``json://``) to a loopback HTTP receiver on the replay's clock.

Costs: ``--fee`` per side (default 0.1%, a crypto exchange's taker rate; the default ``[costs]`` 1.2% retail
rate would eat any 5m edge). The backtest's slippage defaults to what the loopback venue charges (half its
2 bp spread, no volatility term: ``--slippage-bps 1 --slippage-vol-mult 0``), so that live and backtest
trade at the same prices; ``--slippage-bps 5 --slippage-vol-mult 0.1`` is the ``[costs]`` default.
``--max-trades-per-day`` raises ``[risk] max_trades_per_day`` (default 20) for an intraday signal line
(about 220 orders a day here: at 200 the cap ends each day's trading by late afternoon, and the gap would
find the account flat); every other guardrail keeps its default. The gap down comes at the first bar after
the first UTC midnight past half way at which the forecasts have the account long both coins
(``soak.crash_hour_when_long``).
Prints the gate lines, the soak report and the wall times; the last line is the report as JSON.

    nice -n 10 .venv/bin/python scripts/soak_planted.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from run_summary import print_summary, train_forecasters  # noqa: E402

from cappuccino_core.config import load_settings  # noqa: E402
from cappuccino_core.config.notify import NotifyConfig, TargetConfig  # noqa: E402
from cappuccino_core.supervised.soak import crash_hour_when_long, model_tables, soak  # noqa: E402
from cappuccino_core.supervised.synthetic import planted_frames  # noqa: E402
from tests.unit.notify.receiver import receiver  # noqa: E402

TICKERS = ("BTC/USDT", "ETH/USDT")
HOOK_ENV = "CAPPUCCINO_SOAK_HOOK_URL"
KEYS = ("model", "bars_replayed", "decided", "faults_injected", "broker_errors", "forecasts", "signals",
        "signals_by_tier", "max_confidence", "orders", "fills", "round_trips", "win_rate",
        "backtest_round_trips", "backtest_win_rate", "crash_time", "prop_firm_halt_time",
        "prop_firm_halted", "buys_after_breach_same_day", "high_tier_signals", "notifications",
        "total_return", "fees")  # fmt: skip


def settings_in(root: Path, args: argparse.Namespace) -> Any:
    """Settings on a throwaway state store and MLflow registry under ``root``."""
    return load_settings(
        paths={
            "data_root": root / "data", "state_url": f"sqlite:///{root / 'state.db'}",
            "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}", "mlflow_artifact_root": root / "mla",
            "optuna_storage": f"journal:{root / 'o.journal'}", "reports_dir": root / "reports",
        },
        data={"tickers": list(TICKERS), "timeframe": "5m"},
        supervised={"optuna_trials": 0, "max_bars": args.train_bars}
        | ({"epochs": args.epochs} if args.epochs is not None else {}),
        costs={"maker_fee": args.fee, "taker_fee": args.fee, "slippage_bps": args.slippage_bps,
               "slippage_vol_mult": args.slippage_vol_mult},
        risk={"max_trades_per_day": args.max_trades_per_day},
    )  # fmt: skip


def midnight_after(frames: dict[str, Any], hours: float) -> float:
    """Hours from the soak window's start to the first UTC midnight after its middle: a gap soon after it
    meets the day's opening equity (the prop-firm guard's daily reference) before the day's gains pile up.
    A window too short to hold that midnight an hour before its end: its middle."""
    times = next(iter(frames.values()))["time"]
    start = times[len(times) - int(hours * 12)]
    mid = start + timedelta(hours=hours / 2)
    midnight = mid.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    after = (midnight - start).total_seconds() / 3600.0
    return after if after < hours - 1 else hours / 2  # a short window without that midnight: half way


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=72.0)
    ap.add_argument("--fault-every", type=int, default=10)
    ap.add_argument("--train-bars", type=int, default=4000, help="older 5m bars to train on")
    ap.add_argument("--reversion", type=float, default=0.8)
    ap.add_argument("--strength", type=float, default=0.1, help="hour-of-day drift in sigmas")
    ap.add_argument("--vol", type=float, default=0.004, help="sd of the 5m innovations")
    ap.add_argument("--fee", type=float, default=0.001)
    ap.add_argument(
        "--slippage-bps",
        type=float,
        default=1.0,
        help="the backtest's fixed slippage (1: half the loopback venue's 2 bp spread)",
    )
    ap.add_argument("--slippage-vol-mult", type=float, default=0.0, help="the backtest's volatility slippage")
    ap.add_argument("--max-trades-per-day", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=None, help="supervised epochs (default: configured)")
    args = ap.parse_args()
    warm, gap, n_soak = 400, 288, int(args.hours * 12)
    frames = planted_frames(
        args.train_bars + gap + warm + n_soak, TICKERS, strength=args.strength, vol=args.vol,
        reversion=args.reversion, seed=args.seed, bar=timedelta(minutes=5),
    )  # fmt: skip
    train = {k: v.head(args.train_bars) for k, v in frames.items()}
    unseen = {k: v.tail(warm + n_soak) for k, v in frames.items()}  # a day after the training bars
    with tempfile.TemporaryDirectory(prefix="cappuccino-soak-") as tmp, receiver() as rx:
        settings = settings_in(Path(tmp), args)
        out, models, train_s = train_forecasters(settings, train)
        os.environ[HOOK_ENV] = rx.url("soak")
        notify = NotifyConfig(targets=[TargetConfig(name="loopback", kind="json", url_env=HOOK_ENV)])
        tables = model_tables(models)
        crash = crash_hour_when_long(settings, tables, unseen, hours=args.hours, not_before=midnight_after(
            unseen, args.hours))  # fmt: skip
        t0 = time.perf_counter()
        rep = soak(settings, tables, hours=args.hours, crash_hour=crash, fault_every=args.fault_every,
                   notify=notify, frames=unseen)  # fmt: skip
        soak_s = time.perf_counter() - t0
        received = len(rx.received)
    summary = {k: rep.get(k) for k in KEYS} | {
        "gate_passed": {k.kind: k.verdict.passed for k in out.kinds},
        "received_by_loopback": received, "train_seconds": round(train_s, 1),
        "soak_seconds": round(soak_s, 1),
    }  # fmt: skip
    print_summary(summary)


if __name__ == "__main__":
    main()
