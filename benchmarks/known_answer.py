"""Known answer: does the learning machine find a planted signal and reject pure noise?

Markets (6 assets, hourly, synthetic and tagged so; written as a temporary sample, never into data/):

- ``regime_trend``: each asset's hourly log drift is +0.10% or -0.10% in regimes that flip after
  80 + Exp(mean 120) bars, plus N(0, 0.70%) noise. A causal momentum rule with hysteresis earns a high
  Sharpe on it after fees: the signal is learnable and worth trading.
- ``random_walk``: the same noise, no drift. Nothing to learn: any challenger is a false discovery.

For each market and seed the REAL study runs on it (two Optuna phases over CPCV with PPO on the kernel,
MLflow, the selection gate on PBO/DSR/strategies, at the default fees), then:

- the registered challenger (if any) is backtested on the held-out window (the newest 15%);
- the oracle-free reference: a causal momentum rule (EMA of log returns with an entry/exit hysteresis,
  its span and threshold fitted on the training bars only) through the same kernel and costs;
- equal weight held through the same kernel.

The agent (the budget's defaults, each an option below): the asset-shared PPO policy
(``training.policy_arch = "asset_shared"``, training/asset_shared_policy.py: one network reads every asset
alike), signal actions (enter / hold / exit) decided once a day (``decision_every`` 24, action repeat) with
a hold region of 0.25, and as features each asset's bar log return and its trend statistic over 24, 48, 96
and 168 bars (``tsmom``, features/extra_indicators/tsmom.py) at a lookback of 1 bar.

Printed per study: challenger or the selection verdict, PBO, DSR, held-out Sharpe of the model, the rule
and equal weight. Summary targets: on the planted markets the best registered model's held-out Sharpe is
>= 0.5 x the rule's and beats equal weight; on random walks no study registers a challenger (share 0).
The last line is a JSON verdict; exit status 1 when a target is missed.

Run: .venv/bin/python benchmarks/known_answer.py            (full: 3 seeds per kind, within 60 min on 2 cores)
     .venv/bin/python benchmarks/known_answer.py --small    (1 seed per kind, tiny budgets: the test suite)
     --hold-band / --rebalance-band / --turnover-penalty / --action-smoothing hold those [env] turnover
     controls (README section 3)
     --action-mode signal: the agents enter / hold / exit (env/actions.py); the rule and equal weight state
     weights, so they run under target_weight (env.actions.weights_env)
     --first-seed S: market seeds S, S+1, ... (default 100)
     --features "close tsmom:timeperiod=48 ..." the agent's indicators ("default": the [features] set);
     --lookback, --policy-arch mlp|asset_shared, --decision-every, --hold-band, --action-mode: the agent
     (the README's earlier measurements ran --features default --lookback 24 --policy-arch mlp, with
     --hold-band 0.1 --action-mode target_weight unless their command says otherwise)
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import typing  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cappuccino_core.config import Settings, load_settings  # noqa: E402

BASES = ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF")
HOUR_US = 3_600_000_000
DRIFT, NOISE = 0.001, 0.007
TARGET_RATIO = 0.5


# The agent's features: the bar's log return and the trend statistic over 1, 2, 4 and 7 days
# (features/extra_indicators/tsmom.py), generic time-series momentum, not the planted regime.
TREND_FEATURES = "close tsmom:timeperiod=24 tsmom:timeperiod=48 tsmom:timeperiod=96 tsmom:timeperiod=168"


@dataclass(frozen=True)
class Budget:
    hours: int
    seeds: int
    phase1_trials: int
    phase2_trials: int
    steps: int
    cv_groups: int
    cv_test_groups: int
    workers: int
    lookback: int = 1
    decision_every: int = 24  # env.decision_every held at this value (0: phase 1 at 1, phase 2 searches it)
    action_repeat: int = 1  # env.action_repeat (0: the agent is asked every bar even when decision_every > 1)
    # Turnover controls held at these values (None: [env]'s; phase 1 holds them, phase 2 searches the bands).
    hold_band: float | None = 0.25
    rebalance_band: float | None = None
    turnover_penalty: float | None = None
    action_smoothing: float | None = None
    action_mode: str | None = "signal"  # env.action_mode held at this value (None: [env]'s)
    # The features: "name" or "name:param=value:..." items, space-separated; "default": [features]' set.
    features: str = TREND_FEATURES
    policy_arch: str = "asset_shared"  # training.policy_arch (mlp | asset_shared)


FULL = Budget(hours=2 * 8760, seeds=3, phase1_trials=2, phase2_trials=2, steps=90_000, cv_groups=4,
              cv_test_groups=1, workers=2)  # fmt: skip
SMALL = Budget(hours=2000, seeds=1, phase1_trials=1, phase2_trials=2, steps=512, cv_groups=3,
               cv_test_groups=1, workers=1)  # fmt: skip


# Float overrides of [env].
TURNOVER_FIELDS = ("hold_band", "rebalance_band", "turnover_penalty", "action_smoothing")


def indicators(features: str) -> list[dict[str, Any]] | None:
    """``--features`` as [features] indicators (None: "default", the configured set); ValueError names a
    malformed item."""
    if features.strip() == "default":
        return None
    out = []
    for item in features.split():
        name, *pairs = item.split(":")
        params: dict[str, Any] = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key or not value:
                raise ValueError(
                    f"--features item {item!r}: parameters are key=value, e.g. tsmom:timeperiod=48"
                )
            params[key] = float(value) if "." in value else int(value)
        out.append({"name": name, "params": params})
    if not out:
        raise ValueError("--features is empty: name the indicators or say 'default'")
    return out


def log_returns(kind: str, seed: int, hours: int, n_assets: int = len(BASES)) -> np.ndarray:
    """(hours, A) hourly log returns of a ``kind`` market (module docstring)."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, NOISE, (hours, n_assets))
    if kind == "random_walk":
        return r
    if kind != "regime_trend":
        raise ValueError(f"unknown market kind {kind!r}: regime_trend | random_walk")
    for j in range(n_assets):
        t, sign = 0, rng.choice([-1.0, 1.0])
        while t < hours:
            length = int(80 + rng.exponential(120))
            r[t : t + length, j] += sign * DRIFT
            t, sign = t + length, -sign
    return r


def write_market(folder: Path, kind: str, seed: int, hours: int) -> None:
    """The market as a sample folder: one Parquet file of OHLCV bars per asset (sample file names)."""
    folder.mkdir(parents=True, exist_ok=True)
    r = log_returns(kind, seed, hours)
    rng = np.random.default_rng(seed + 1)
    close = 100.0 * np.exp(np.cumsum(r, axis=0))
    open_ = np.vstack([np.full((1, r.shape[1]), 100.0), close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.002, (2, *r.shape)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = np.exp(rng.normal(8.0, 0.3, r.shape))
    times = pl.Series((1_672_531_200_000_000 + HOUR_US * np.arange(hours)).astype(np.int64)).cast(
        pl.Datetime("us", "UTC")
    )
    for j, base in enumerate(BASES):
        pl.DataFrame(
            {
                "time": times,
                "open": open_[:, j],
                "high": high[:, j],
                "low": low[:, j],
                "close": close[:, j],
                "volume": volume[:, j],
            }
        ).write_parquet(folder / f"BINANCE_{base}USDT_1h.parquet")


def settings_for(root: Path, name: str, b: Budget) -> Settings:
    inds = indicators(b.features)
    return load_settings(
        **({"features": {"indicators": inds}} if inds is not None else {}),
        paths={
            "data_root": root / "data",
            "sample_dir": root / "sample",
            "state_url": f"sqlite:///{root / 'state.db'}",
            "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
            "mlflow_artifact_root": root / "mlartifacts",
            "optuna_storage": f"journal:{root / 'optuna.journal'}",
            "reports_dir": root / "reports",
        },
        data={"venue": "binance", "tickers": [f"{x}/USDT" for x in BASES], "timeframe": "1h"},
        env={
            "n_envs": 8,
            "episode_length": 512,
            "decision_every": max(b.decision_every, 1),
            "action_repeat": bool(b.action_repeat),
            **{k: v for k in TURNOVER_FIELDS if (v := getattr(b, k)) is not None},
            **({"action_mode": b.action_mode} if b.action_mode else {}),
        },
        training={
            "experiment": name,
            "phase1_trials": b.phase1_trials,
            "phase2_trials": b.phase2_trials,
            "phase1_timeframes": ["1h"],
            "phase1_lookbacks": [b.lookback],
            "cv_groups": b.cv_groups,
            "cv_test_groups": b.cv_test_groups,
            "purge_bars": 24,
            "embargo_bars": 24,
            "synthetic_share": 0.0,
            "timesteps_per_split": b.steps,
            "phase1_timesteps_per_split": b.steps,
            "n_steps_choices": [256],
            "batch_size_choices": [512],
            "net_width_choices": [64],
            "net_depth_max": 2,
            "workers": b.workers,
            "pruner": "none",
            "heartbeat_interval_s": 10,
            "heartbeat_grace_s": 60,
            "seed": 7,
            "policy_arch": b.policy_arch,
            **({"decision_every_choices": [b.decision_every]} if b.decision_every else {}),
        },
    )


def momentum_weights(prices: np.ndarray, span: int, threshold: float, weight: float) -> np.ndarray:
    """Causal momentum with hysteresis: long ``weight`` when the EMA of log returns (known at the bar's
    close) rises above +threshold, flat when it falls below -threshold, else unchanged. (T, A)."""
    r = np.vstack([np.zeros((1, prices.shape[1])), np.diff(np.log(prices), axis=0)])
    alpha = 2.0 / (span + 1.0)
    ema = np.zeros(prices.shape[1])
    w = np.zeros_like(prices)
    on = np.zeros(prices.shape[1], dtype=bool)
    for t in range(prices.shape[0]):
        ema = (1 - alpha) * ema + alpha * r[t]
        on = np.where(ema > threshold, True, np.where(ema < -threshold, False, on))
        w[t] = np.where(on, weight, 0.0)
    return w


class ScriptedWeights:
    """A policy that follows precomputed target weights bar by bar (one episode, from its first bar)."""

    def __init__(self, weights: np.ndarray, env: Any, first: int) -> None:
        self.weights, self.env, self.t = weights, env, first

    def predict(self, obs: np.ndarray) -> np.ndarray:
        from cappuccino_core.env.actions import weights_to_actions

        a = self.weights.shape[1]
        current = obs[:, 1 : 1 + a].astype(np.float64)
        target = np.broadcast_to(self.weights[min(self.t, len(self.weights) - 1)], current.shape)
        self.t += 1
        return weights_to_actions(target, current, self.env)


def rule_sharpe(data: Any, env: Any, costs: Any, lo: int, hi: int, span: int, thr: float) -> float:
    from cappuccino_core.backtest.runner import backtest

    window = data.slice(lo, hi)
    w = momentum_weights(
        window.prices, span, thr, (1.0 - env.cash_reserve - env.rebalance_band) / data.n_assets
    )
    first = window.spec.lookback - 1
    return float(backtest(ScriptedWeights(w, env, first), window, env, costs).summary.sharpe)


def fit_rule(data: Any, env: Any, costs: Any, train_end: int) -> tuple[int, float]:
    """Span and threshold of the momentum rule with the best Sharpe after costs on the training bars."""
    grid = [(s, th) for s in (24, 48, 96) for th in (0.0002, 0.0005, 0.001)]
    return max(grid, key=lambda g: rule_sharpe(data, env, costs, 0, train_end, *g))


def trial_details(s: Settings, study_name: str) -> list[dict[str, Any]]:
    """Each trial's CPCV objective, mean turnover/yr, cost share, zero-cost Sharpe and decision interval."""
    import optuna

    from cappuccino_core.training.storage import settings_storage

    study = optuna.load_study(study_name=study_name, storage=settings_storage(s))
    keys = ("turnover", "cost_share", "zero_cost_sharpe")
    return [
        {"study": study_name, "trial": t.number, "objective": t.value,
         "decision_every": t.params.get("decision_every", s.env.decision_every),
         **{k: t.user_attrs.get(k) for k in keys}}
        for t in study.get_trials(deepcopy=False)
    ]  # fmt: skip


def run_one(kind: str, seed: int, b: Budget, work: Path) -> dict[str, Any]:
    from cappuccino_core.backtest.baselines import make_baseline
    from cappuccino_core.backtest.runner import backtest
    from cappuccino_core.env.actions import weights_env
    from cappuccino_core.gates.pipeline import held_out_dataset
    from cappuccino_core.registry import Tracking, get_role, load_policy, model_spec
    from cappuccino_core.training.study import run_phase

    root = work / f"{kind}-{seed}"
    write_market(root / "sample", kind, seed, b.hours)
    s = settings_for(root, f"ka-{kind}-{seed}", b)
    t0 = time.monotonic()
    rep1 = run_phase(s, 1)
    rep = run_phase(s, 2)
    summary = rep.summary
    sel = summary.selection if summary is not None else None
    out: dict[str, Any] = {
        "kind": kind,
        "seed": seed,
        "study_s": round(time.monotonic() - t0, 1),
        "trials": dict(rep.states),
        "best_objective": rep.best["value"] if rep.best else None,
        "pbo": getattr(summary, "pbo", None),
        "dsr": getattr(summary, "dsr", None),
        "verdict": sel.verdict() if sel is not None else "no summary",
        "challenger": False,
        "trials_detail": trial_details(s, rep1.study) + trial_details(s, rep.study),
    }
    trk = Tracking.from_settings(s)
    champ = get_role("challenger", tracking=trk)
    spec = model_spec(champ.run_id, tracking=trk) if champ else None
    if spec is None:  # the rule and EW still need the held-out window: a spec from the phase-2 dataset
        from cappuccino_core.features.dataset import MarketDataset

        spec = MarketDataset.load(next(iter(Path(s.paths.data_root).rglob("*.npz")))).spec
    data = held_out_dataset(s, spec)
    env, costs = s.env, s.costs
    ew = backtest(make_baseline("equal_weight", data.tickers, env), data, env, costs).summary
    full = held_out_dataset(s.model_copy(update={"training": s.training.model_copy(
        update={"holdout_fraction": 0.999})}), spec)  # fmt: skip
    train_end = full.n_bars - data.n_bars + spec.lookback - 1
    # The reference rule decides every bar whatever the model's decision interval: the bar to reach. It
    # states (partial) weights, so signal mode runs it as target_weight (weights_env).
    rule_env = weights_env(env).model_copy(update={"decision_every": 1})
    span, thr = fit_rule(full, rule_env, costs, max(train_end, spec.lookback + 2))
    out["rule"] = {"span": span, "threshold": thr}
    out["rule_sharpe"] = rule_sharpe(data, rule_env, costs, 0, data.n_bars, span, thr)
    out["ew_sharpe"] = float(ew.sharpe)
    if champ is not None:
        policy = load_policy(champ.run_id, data.spec, tracking=trk)
        res = backtest(policy, data, env, costs)  # under the env the model was trained with (run_env)
        out.update(challenger=True, model_sharpe=float(res.summary.sharpe),
                   model_return=float(res.summary.total_return), model_fees=res.fees,
                   model_env=policy.trained_env, model_env_source=policy.env_source)  # fmt: skip
    return out


def parse_budget(argv: list[str] | None = None) -> tuple[argparse.Namespace, Budget]:
    """The command line's arguments and the budget they give (``--small`` or the full one, overridden)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="1 seed per kind, tiny budgets (the test suite)")
    ap.add_argument("--kinds", default="regime_trend,random_walk")
    ap.add_argument("--work", type=Path, default=None, help="keep the studies here (default: a temp dir)")
    ap.add_argument(
        "--first-seed", type=int, default=100, help="market seed of the first study (default 100)"
    )
    hints = typing.get_type_hints(Budget)
    for name in Budget.__dataclass_fields__:
        kind: Any = next(t for t in (float, str, int) if t in (hints[name], *typing.get_args(hints[name])))
        ap.add_argument(
            f"--{name.replace('_', '-')}", type=kind, default=None, help=f"override the budget's {name}"
        )
    args = ap.parse_args(argv)
    b = SMALL if args.small else FULL
    return args, Budget(
        **{k: getattr(args, k) if getattr(args, k) is not None else v for k, v in vars(b).items()}
    )


def main(argv: list[str] | None = None) -> int:
    args, b = parse_budget(argv)
    print(f"budget: {b}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="cappuccino-known-answer-") as tmp:
        work = args.work or Path(tmp)
        for kind in args.kinds.split(","):
            for seed in range(b.seeds):
                r = run_one(kind, args.first_seed + seed, b, work)
                results.append(r)
                print(f"{kind:13s} seed {r['seed']}: {r['verdict']}; PBO {r['pbo']}, DSR {r['dsr']}; "
                      f"held-out Sharpe model {r.get('model_sharpe', 'n/a')}, rule {r['rule_sharpe']:.2f}, "
                      f"EW {r['ew_sharpe']:.2f} ({r['study_s']} s)", flush=True)  # fmt: skip
                for d in r["trials_detail"]:
                    print(f"  {d['study']} #{d['trial']}: value {d['objective']}, k={d['decision_every']}, "
                          f"turnover {d['turnover']}/yr, cost share {d['cost_share']}, "
                          f"zero-cost Sharpe {d['zero_cost_sharpe']}", flush=True)  # fmt: skip
    planted = [r for r in results if r["kind"] != "random_walk"]
    noise = [r for r in results if r["kind"] == "random_walk"]
    best = max((r for r in planted if r["challenger"]), key=lambda r: r["model_sharpe"], default=None)
    ratio = (best["model_sharpe"] / best["rule_sharpe"]) if best and best["rule_sharpe"] > 0 else None
    noise_share = (sum(r["challenger"] for r in noise) / len(noise)) if noise else None
    beats_ew = bool(best and best["model_sharpe"] > best["ew_sharpe"])
    ok = bool(ratio is not None and ratio >= TARGET_RATIO and beats_ew and noise_share == 0)
    # The details first (one line per study above, then the whole record); the last line is the verdict.
    print(json.dumps({"studies": results}, default=float))
    verdict = {
        "metric": "planted_signal_sharpe_ratio_to_momentum_rule",
        "value": ratio,  # best registered model's held-out Sharpe / the rule's (None: no model registered)
        "unit": "ratio",
        # the rule's held-out Sharpe in the same run (of the best model's market; else the best planted one)
        "baseline": best["rule_sharpe"] if best else max((r["rule_sharpe"] for r in planted), default=None),
        "ratio": ratio,
        "target": f">= {TARGET_RATIO}, beats equal weight, 0 noise challengers",
        "pass": ok,
        "mode": "small" if args.small else "full",
        "planted_beats_equal_weight": beats_ew,
        "noise_challenger_share": noise_share,
        "pbo": {k: [r["pbo"] for r in results if r["kind"] == k] for k in {r["kind"] for r in results}},
        "dsr": {k: [r["dsr"] for r in results if r["kind"] == k] for k in {r["kind"] for r in results}},
    }
    print(json.dumps(verdict, default=float))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
