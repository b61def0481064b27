"""A paper session of LSTM + Transformer + PPO on the planted market (README section 3b).

On 5m bars of BTC/USDT and ETH/USDT with a planted mean reversion (``supervised.synthetic.planted_frames``,
the market of ``scripts/soak_planted.py``), the LSTM and the Transformer are trained by ``train_supervised``
(configured hyperparameters, no Optuna, the supervised gate) and a PPO by one phase-1 trial of the RL study
(``training.run_phase``: CPCV, MLflow run, policy), all on the older ``--train-bars`` bars and registered in
a throwaway MLflow registry; then ``ensemble_paper_session``, the function ``cappuccino trade paper
--broker local --ensemble lstm,transformer,rl=<ref>`` calls, replays the newest ``--hours`` of bars (a day
after the training bars) against the loopback exchange, and the backtester runs the same ensemble and rules
on the same bars (``supervised.planted_paper``). Prints the gate lines, the members' votes, the orders and
round trips, live and backtest win rates and the wall times; the last line is the summary as JSON.

    nice -n 10 .venv/bin/python scripts/paper_planted.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from run_summary import print_summary  # noqa: E402

from cappuccino_core.supervised.gate import verdict_lines  # noqa: E402
from cappuccino_core.supervised.planted_paper import PlantedPaper, planted_paper, planted_settings  # noqa: E402

KEYS = ("model", "members", "bars_replayed", "fills", "round_trips", "win_rate", "backtest_round_trips",
        "backtest_win_rate", "total_return", "fees", "votes", "supervised_train_seconds", "rl_train_seconds",
        "paper_seconds")  # fmt: skip


def main() -> None:
    d = PlantedPaper()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=d.hours)
    ap.add_argument(
        "--train-bars", type=int, default=d.train_bars, help="older 5m bars every member trains on"
    )
    ap.add_argument("--rl-timesteps", type=int, default=d.rl_timesteps, help="PPO env steps per CPCV split")
    ap.add_argument("--epochs", type=int, default=None, help="supervised epochs (default: configured)")
    ap.add_argument("--seed", type=int, default=d.seed)
    args = ap.parse_args()
    run = PlantedPaper(hours=args.hours, train_bars=args.train_bars, rl_timesteps=args.rl_timesteps,
                       supervised_epochs=args.epochs, seed=args.seed)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cappuccino-paper-") as tmp:
        rep = planted_paper(planted_settings(Path(tmp), run), run)
    for kind, verdict in rep["gates"].items():
        print(kind)
        for line in verdict_lines(verdict):
            print("  " + line)
    votes = rep["votes"]
    passed = {k: v.passed for k, v in rep["gates"].items()}
    summary = {k: rep.get(k) for k in KEYS} | {"orders": votes["orders"], "signals": votes["signals"]}
    summary["gate_passed"] = passed
    print_summary(summary)


if __name__ == "__main__":
    main()
