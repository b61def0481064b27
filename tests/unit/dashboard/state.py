"""A `make run`-sized state built quickly with the project's own writers and tiny data: the two quickstart
studies (2 + 3 trials, 4 CPCV splits) in Optuna and MLflow with a study summary, gate verdicts for three
candidates (one failing backtest, one failing stress, one passing), arena bouts through the referee, and a
2-day paper session of the trend baseline on the sim broker through the real bar loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.config import Settings

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
PHASE2 = "quickstart-phase2"
RUN_A, RUN_B, RUN_C = "a" * 32, "b" * 32, "c" * 32


def _study(
    settings: Settings, name: str, trials: list[tuple[dict[str, Any], float, float]], limit: int
) -> None:
    """Completed trials: (params, objective, hours after T0 it started); each ran one hour."""
    choices = (5, 6, 32, 64)  # every integer parameter's choices (one search space, as in a real study)
    import optuna
    from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import FrozenTrial, TrialState

    path = settings.paths.optuna_storage.removeprefix("journal:")
    storage = JournalStorage(JournalFileBackend(path))
    st = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    st.set_user_attr("trial_limit", limit)
    for k, (params, value, start_h) in enumerate(trials):
        dists: dict[str, BaseDistribution] = {
            p: FloatDistribution(1e-5, 1e-2, log=True)
            if isinstance(v, float)
            else CategoricalDistribution(choices)
            for p, v in params.items()
        }
        start = T0 + timedelta(hours=start_h)
        st.add_trial(
            FrozenTrial(
                k,
                TrialState.COMPLETE,
                value,
                start,
                start + timedelta(hours=1),
                params,
                dists,
                {"turnover": 12.0 + k, "cost_share": 0.01 * (k + 1)},
                {},
                {},
                k,
            )
        )


def build_optuna(settings: Settings) -> None:
    _study(settings, "quickstart-phase1", [({"lookback": 5}, 0.05, 0), ({"lookback": 6}, -0.1, 1)], 2)
    _study(
        settings,
        PHASE2,
        [
            ({"learning_rate": 3e-4, "net_width": 32}, 0.12, 2),
            ({"learning_rate": 1e-3, "net_width": 64}, 0.30, 3),
            ({"learning_rate": 5e-5, "net_width": 32}, -0.02, 4),
        ],
        3,
    )


def build_mlflow(tracking: Any) -> dict[int, str]:
    """Phase 2's trials as MLflow runs (per-split metrics, costs, objective) and the study summary run."""
    from cappuccino_core.registry.tracking import RUN_TYPE_SUMMARY, TAG_RUN_TYPE, TAG_STUDY
    from cappuccino_core.registry.trial_run import trial_run

    ids: dict[int, str] = {}
    for n, (obj, splits) in enumerate(
        [(0.12, [0.9, 1.1, 0.7, 1.3]), (0.30, [1.4, 1.6, 1.2, 2.0]), (-0.02, [0.1, -0.3, 0.2, 0.0])]
    ):
        with trial_run(tracking, PHASE2, n) as run:
            run.log_params({"learning_rate": [3e-4, 1e-3, 5e-5][n], "net_width": [32, 64, 32][n]})
            for i, s in enumerate(splits):
                run.log_split_metrics(f"test_{i}", {"value": s - 0.8, "agent_sharpe": s, "ew_sharpe": 0.8})
            run.log_metrics(
                {
                    "test/sharpe": float(np.mean(splits)),
                    "test/ew_sharpe": 0.8,
                    "test/turnover": 12.0 + n,
                    "test/cost_share": 0.01 * (n + 1),
                    "test/zero_cost_sharpe": float(np.mean(splits)) + 0.2,
                }
            )
            run.log_objective(obj)
            ids[n] = run.run_id
    client = tracking.activate()
    exp = tracking.get_experiment_id(PHASE2)
    r = client.create_run(
        exp,
        tags={
            TAG_RUN_TYPE: RUN_TYPE_SUMMARY,
            TAG_STUDY: PHASE2,
            "selection": "challenger: trial 1 (objective 0.300, DSR 0.970)",
        },
    )
    for k, v in {"pbo": 0.25, "dsr": 0.97, "n_trials": 3.0}.items():
        client.log_metric(r.info.run_id, k, v)
    client.set_terminated(r.info.run_id)
    return ids


def build_gates(store: Any, gates_cfg: Any) -> None:
    """Three candidates: A fails the backtest gate, B passes it and fails stress, C passes both."""
    from cappuccino_core.gates.record import save_verdict
    from cappuccino_core.gates.stress import regime_summary, stress_verdict
    from cappuccino_core.gates.verdict import Verdict, check

    bt_a = Verdict.from_checks(
        "backtest",
        RUN_A,
        [check("sharpe_vs_ew", -0.41, ">", 0.0), check("max_drawdown", 0.12, "<", 0.25)],
        {},
        {},
    )
    save_verdict(bt_a, store)
    rng = np.random.default_rng(0)
    regimes = ["bull", "bear", "crash", "sideways"]
    for rid, drift in ((RUN_B, -0.03), (RUN_C, 0.04)):
        save_verdict(
            Verdict.from_checks("backtest", rid, [check("sharpe_vs_ew", 0.2, ">", 0.0)], {}, {}), store
        )
        n = 200  # the quickstart's scenario count
        table = pl.DataFrame(
            {
                "scenario_id": np.arange(n),
                "regime": [regimes[i % 4] for i in range(n)],
                "total_return": drift + 0.05 * rng.standard_normal(n),
                "sharpe": drift * 20 + rng.standard_normal(n),
                "max_drawdown": -np.abs(0.1 * rng.standard_normal(n)),
                "trades": rng.integers(5, 40, n),
                "fees": rng.uniform(1, 9, n),
            }
        )
        assert regime_summary(table).height == 4
        save_verdict(stress_verdict(table, gates_cfg, rid, {"scenarios": n}), store)


def build_arena(store: Any) -> None:
    """The best strategy is crowned, C beats it, A loses to C (bouts through the referee)."""
    from cappuccino_core.arena.match import BoutResult, Performance
    from cappuccino_core.arena.referee import CHAMPION, ELIMINATED, Referee, Transition

    ref = Referee(store, None)
    strat = "strategy:trend"
    ref.apply(Transition(strat, "crown", CHAMPION, "the champion seat was empty", wins=0))

    def perf(m: str, score: float) -> Performance:
        return Performance(m, score, score, score, 0.01, -0.05, 12, 3.0)

    b1 = BoutResult(perf(strat, 0.4), perf(RUN_C, 1.1), RUN_C, "higher sharpe with >= 5 trades", (0, 168))
    ref.apply(
        Transition(strat, "eliminate", ELIMINATED, f"lost to {RUN_C}", b1.evidence(), wins=0, matched=True)
    )
    ref.apply(
        Transition(RUN_C, "crown", CHAMPION, f"beat champion {strat}", b1.evidence(), wins=1, matched=True)
    )
    b2 = BoutResult(perf(RUN_C, 0.9), perf(RUN_A, 0.2), RUN_C, "higher sharpe with >= 5 trades", (168, 336))
    ref.apply(
        Transition(RUN_A, "eliminate", ELIMINATED, f"lost to {RUN_C}", b2.evidence(), wins=0, matched=True)
    )
    ref.apply(Transition(RUN_C, "defend", CHAMPION, f"beat {RUN_A}", b2.evidence(), wins=2, matched=True))


SESSION = "paper-20250701T000000-0a1b2c3d"


def build_paper(settings: Settings, store: Any, model: str, days: float = 2.0) -> Any:
    """A paper session of ``model`` (here the trend baseline decides for it) on the sim broker for the last
    ``days`` of the sample, through the bar loop, and its report, as ``cappuccino trade paper`` writes it."""
    from cappuccino_core.config.risk import RiskConfig
    from cappuccino_core.trading.loop import BarLoop
    from cappuccino_core.trading.loop.replay import load_bars, run_replay, trend_baseline
    from cappuccino_core.trading.loop.session import write_report
    from cappuccino_core.trading.risk import RiskManager
    from cappuccino_core.venues.sim.broker import SimBroker

    bars = load_bars(settings, "1h", source="sample")
    sim = SimBroker(settings.costs, 10_000.0)
    decide = trend_baseline(bars.close)
    loop = BarLoop(
        sim, store, RiskManager.from_config(RiskConfig()), settings.env, bars.tickers, decide,
        run_id=SESSION, bar_ns=3600 * 10**9, max_age_s=7200.0, equity_flush_bars=24, model=model,
    )  # fmt: skip
    try:
        report = run_replay(loop, bars, "1h", days)
    finally:
        loop.close()
    report.update(broker="sim", model=model, session=SESSION, timeframe="1h")
    report["report_path"] = str(write_report(settings, report, f"paper_sim_{model}_{SESSION}"))
    return report


def write_store_bars(settings: Settings, hours: int = 72) -> None:
    """The sample's last ``hours`` 1h bars per ticker into the bar store, as `make run`'s ingest stores the
    sample (so its newest bar is as old as the sample: the health page shows it stale)."""
    from cappuccino_core.data.market import read_bars
    from cappuccino_core.data.store import BarStore

    store = BarStore(settings.paths.data_root)
    for tk in settings.data.tickers:
        store.write(settings.data.venue, tk, "1h", read_bars(settings, tk, "1h", source="sample").tail(hours))


def build_state(settings: Settings, tracking: Any, now: datetime) -> dict[str, Any]:
    from cappuccino_core.state.store import StateStore

    Path(settings.paths.optuna_storage.removeprefix("journal:")).parent.mkdir(parents=True, exist_ok=True)
    store = StateStore(settings.paths.state_url)
    build_optuna(settings)
    ids = build_mlflow(tracking)
    build_gates(store, settings.gates)
    build_arena(store)
    report = build_paper(settings, store, ids[1])
    write_store_bars(settings)
    return {"store": store, "trial_runs": ids, "paper": report}
