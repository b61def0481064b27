"""A paper session of LSTM + Transformer + PPO on a planted market (README section 3b,
``scripts/paper_planted.py``): every model trained through the project's own paths, every order through the
code ``cappuccino trade paper --ensemble lstm,transformer,rl=<ref>`` runs.

* Market: 5m bars of two coins from :func:`~cappuccino_core.supervised.synthetic.planted_frames` (a planted
  mean reversion of the bar returns and a mild hour-of-day drift), written as the bundled sample's files
  under ``paths.sample_dir`` (the paper session replays the sample, as the CLI's does).
* Models, all on the older ``train_bars`` bars: the LSTM and the Transformer by ``train_supervised`` (the
  supervised gate, MLflow runs, registered versions); a PPO by the RL study (``training.run_phase``, phase
  1, one trial: CPCV over those bars with ``training.holdout_fraction`` holding out everything after them,
  its MLflow run and policy), registered as a version of the RL model.
* Session: ``ensemble_paper_session`` (what ``trade paper --ensemble`` calls) on ``--broker local`` (alpaca-py
  against the loopback exchange) over the newest ``hours`` of bars, unseen by every member (a day after
  the training bars); its report shows each member's vote per decision and order.
* Backtest: the same ensemble (the RL member stepped by the kernel on its own features), weights and rules
  in the backtester on the same bars, for its round trips and win rate beside the live ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from cappuccino_core.config import Settings, load_settings
from cappuccino_core.supervised.tracking import SupervisedModel

TICKERS = ("BTC/USDT", "ETH/USDT")
BARS_PER_HOUR = 12


@dataclass(frozen=True)
class PlantedPaper:
    """Sizes of the run: market, training budgets, session length, costs and the trade cap."""

    hours: float = 72.0  # the paper session: newest bars replayed
    train_bars: int = 4000  # older bars every member trains on
    gap: int = 288  # bars between the training bars and the session's warm-up (a day)
    warm: int = 400  # bars before the session for the features' warm-up
    reversion: float = 0.8
    strength: float = 0.1
    vol: float = 0.004
    seed: int = 7
    rl_timesteps: int = 20_000  # PPO env steps per CPCV split (phase 1)
    rl_lookback: int = 4
    supervised_epochs: int | None = None  # None: the configured epochs
    fee: float = 0.001
    slippage_bps: float = 1.0  # the backtest's: half the loopback venue's 2 bp spread
    max_trades_per_day: int = 500

    @property
    def session_bars(self) -> int:
        """Bars the paper session replays."""
        return int(self.hours * BARS_PER_HOUR)

    @property
    def n_bars(self) -> int:
        """Every bar of the market."""
        return self.train_bars + self.gap + self.warm + self.session_bars


def planted_settings(root: Path, run: PlantedPaper) -> Settings:
    """Settings on a throwaway state store, MLflow registry, Optuna journal and sample under ``root``."""
    sup: dict[str, Any] = {"optuna_trials": 0, "max_bars": run.train_bars}
    if run.supervised_epochs is not None:
        sup["epochs"] = run.supervised_epochs
    return load_settings(
        paths={
            "data_root": root / "data", "sample_dir": root / "sample",
            "state_url": f"sqlite:///{root / 'state.db'}",
            "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}", "mlflow_artifact_root": root / "mla",
            "optuna_storage": f"journal:{root / 'o.journal'}", "reports_dir": root / "reports",
        },
        data={"tickers": list(TICKERS), "timeframe": "5m"},
        supervised=sup,
        training={
            "phase1_timeframes": ["5m"], "phase1_lookbacks": [run.rl_lookback], "cv_groups": 3,
            "cv_test_groups": 1, "purge_bars": 12, "embargo_bars": 12, "synthetic_share": 0.0,
            "phase1_timesteps_per_split": run.rl_timesteps,
            "holdout_fraction": 1.0 - run.train_bars / run.n_bars,  # the RL member trains on train_bars only
            "n_steps_choices": [256], "batch_size_choices": [64], "net_width_choices": [32],
            "net_depth_max": 2,
            "workers": 1, "trial_timeout_s": 1800,
        },
        costs={"maker_fee": run.fee, "taker_fee": run.fee, "slippage_bps": run.slippage_bps,
               "slippage_vol_mult": 0.0},
        risk={"max_trades_per_day": run.max_trades_per_day},
    )  # fmt: skip


def write_market(settings: Settings, run: PlantedPaper) -> dict[str, pl.DataFrame]:
    """The planted market, written as the sample's 5m files of ``TICKERS``; returns its frames."""
    from cappuccino_core.data.market import sample_path
    from cappuccino_core.supervised.synthetic import planted_frames

    frames = planted_frames(run.n_bars, TICKERS, strength=run.strength, vol=run.vol, reversion=run.reversion,
                            seed=run.seed, bar=timedelta(minutes=5))  # fmt: skip
    Path(settings.paths.sample_dir).mkdir(parents=True, exist_ok=True)
    for t, f in frames.items():
        f.write_parquet(sample_path(settings, t, "5m"))
    return frames


def train_rl(settings: Settings) -> tuple[str, str]:
    """One phase-1 trial of the RL study on the sample's bars before the holdout, registered: (the registry
    reference ``<name>/<version>``, its run id). RuntimeError when the trial did not complete."""
    from cappuccino_core.registry import Tracking, register_policy
    from cappuccino_core.training import run_phase
    from cappuccino_core.training.study import open_study

    report = run_phase(settings, 1, trials=1, workers=1)
    done = [t for t in open_study(settings, 1).get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not done:
        raise RuntimeError(
            f"the PPO trial did not complete: {report.states}, exit codes {report.worker_exitcodes}"
        )
    info = register_policy(str(done[0].user_attrs["trial_uid"]), tracking=Tracking.from_settings(settings))
    return f"{info.name}/{info.version}", info.run_id


def backtest_win_rate(
    settings: Settings,
    models: list[SupervisedModel],
    rl_ref: str,
    frames: dict[str, pl.DataFrame],
    start: int,
) -> tuple[float, int]:
    """Win rate and count of the closed round trips of the ensemble (configured weights, the signal rules in
    front of ``[risk]``) in the backtester on ``frames``, deciding from row ``start`` on; the RL member is
    stepped by the kernel on data built with its own FeatureSpec."""
    from cappuccino_core.features.builder import apply_spec
    from cappuccino_core.registry import Tracking, load_policy, model_spec
    from cappuccino_core.supervised.ensemble import EnsemblePolicy, forecast_table
    from cappuccino_core.supervised.signals import SignalBoard
    from cappuccino_core.supervised.soak import ensemble_win_rate
    from cappuccino_core.supervised.weights import ensemble_weights_for

    trk = Tracking.from_settings(settings)
    data = apply_spec(frames, model_spec(rl_ref, trk))
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier, keep_events=False)
    weights = ensemble_weights_for(settings, models, True).weights
    tables = [forecast_table(m, frames) for m in models]
    ens = EnsemblePolicy(
        tables, weights, rl=load_policy(rl_ref, data, trk), board=board, tickers=data.tickers
    )
    return ensemble_win_rate(settings, ens, board, data, frames, start)


def planted_paper(settings: Settings, run: PlantedPaper) -> dict[str, Any]:
    """Train the three members and run the paper session and the backtest (see the module docstring); the
    session's report plus the gate verdicts, the RL member, the backtest's figures and the wall times."""
    import time

    from cappuccino_core.supervised.members import load_members, parse_members
    from cappuccino_core.supervised.paper import ensemble_paper_session
    from cappuccino_core.supervised.run import train_supervised

    frames = write_market(settings, run)
    t0 = time.perf_counter()
    out = train_supervised(settings, {k: v.head(run.train_bars) for k, v in frames.items()}, trials=0)
    t1 = time.perf_counter()
    rl_ref, rl_run = train_rl(settings)
    t2 = time.perf_counter()
    picked = parse_members(f"lstm,transformer,rl={rl_ref}")  # as `trade paper --ensemble` resolves them
    models = load_members(settings, picked)
    report = ensemble_paper_session(settings, models, days=run.hours / 24, broker="local", rl_model=picked.rl)
    t3 = time.perf_counter()
    bt_win, bt_trips = backtest_win_rate(settings, models, rl_ref, frames, run.n_bars - run.session_bars)
    report.update(
        gates={k.kind: k.verdict for k in out.kinds}, rl_run=rl_run, backtest_win_rate=bt_win,
        backtest_round_trips=bt_trips, supervised_train_seconds=round(t1 - t0, 1),
        rl_train_seconds=round(t2 - t1, 1), paper_seconds=round(t3 - t2, 1),
    )  # fmt: skip
    return report
