"""Gate 2: CGE stress. The policy trades every scenario in ONE batched run of the step kernel.

Episode i of the kernel is scenario i (one dataset segment per scenario, see stress_data.py); all episodes
advance together and the policy is called once per step on the whole (S, obs) batch (a policy that reads
bars, such as the supervised ensemble, is told the batch's start rows and each step's decision rows, as in
the backtester). Only per-episode
aggregates are kept while stepping (equity per step, fees, slippage, fills), through the kernel's recorder
hook, so 200 scenarios x 8,760 steps need ~14 MB, not the full trade-by-trade record.

Passes when (defaults from GatesConfig): >= 40% of scenarios are profitable, the median Sharpe > 0, the
worst max drawdown < 25%, and no scenario loses 90% or more. Outputs: the per-scenario table (scenario id,
regime, return, Sharpe, max drawdown, trades, fees) as CSV and Parquet, per-regime summaries, and a plot of
the distribution of returns by regime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.backtest.runner import act, begin
from cappuccino_core.common.atomic import atomic_write_with
from cappuccino_core.common.policy import Policy
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.gates.verdict import Verdict, check
from cappuccino_core.metrics import max_drawdown, sharpe_ratio, simple_returns, total_return

GATE = "stress"


class AggregateRecorder:
    """Stands in for ``env.records.Recorder`` on the kernel: sums what a step reports per episode."""

    def __init__(self, kernel: TradingKernel) -> None:
        n = kernel.n
        self.equity: list[np.ndarray] = [kernel.equity.copy()]
        self.fees = np.zeros(n)
        self.slippage = np.zeros(n)
        self.fills = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)

    def add(self, **a: np.ndarray) -> None:
        """Record one kernel step: append the equity and add fees, slippage, fill count and one step for
        the episodes still active."""
        active = a["active"]
        self.equity.append(np.array(a["equity"], dtype=np.float64))
        self.fees += np.where(active, a["fee"], 0.0)
        self.slippage += np.where(active, a["slippage"], 0.0)
        self.fills += np.count_nonzero(a["qty"], axis=1) * active
        self.steps += active


@dataclass
class StressRun:
    """Per-scenario results of one stress run: equity paths, steps taken, fees, slippage and fill counts."""

    equity: np.ndarray  # (S, T + 1) equity per scenario; rows past an episode's end repeat its last value
    steps: np.ndarray  # (S,) steps each episode took
    fees: np.ndarray  # (S,)
    slippage: np.ndarray  # (S,)
    fills: np.ndarray  # (S,) number of fills (one per order and asset)


def _actions(policy: Policy, obs: np.ndarray, t: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    actions = act(policy, obs, t)  # a bar-reading policy (ensemble, strategy) learns its decision bars first
    if actions.shape != shape:
        raise ValueError(f"policy returned actions of shape {actions.shape}; expected {shape}")
    return actions


def run_stress(
    policy: Policy, data: MarketDataset, env: EnvConfig, costs: CostsConfig, progress: Any = None
) -> StressRun:
    """One episode per segment of ``data`` (scenario i = segment i), all stepped together to their ends.
    ``progress``: a :data:`cappuccino_core.progress.ProgressCallback` told the bars stepped so far.
    ``env``: the configured env; a trained model runs under it with its own trained fields (``run_env``)."""
    from cappuccino_core.backtest.runner import run_env

    kernel = TradingKernel(data, run_env(policy, env), costs, len(data.segments))
    if len(kernel.sampler.segments) != len(data.segments):
        raise ValueError("a scenario segment is too short for the lookback: every scenario must be traded")
    starts, ends = kernel.sampler.whole()
    obs = kernel.reset(starts=starts, ends=ends)
    begin(policy, data, starts)
    rec = AggregateRecorder(kernel)
    kernel.recorder = rec  # type: ignore[assignment]  # aggregates instead of storing every row
    shape = (kernel.n, kernel.n_assets)
    meter = None
    if progress is not None:
        from cappuccino_core.progress import ProgressMeter

        meter = ProgressMeter(
            f"stress {len(data.segments)} scenarios", int(np.max(ends - starts)), [progress]
        )
    while kernel.active.any():
        obs = kernel.step(_actions(policy, obs, kernel.t, shape)).obs
        if meter is not None:
            meter.advance(1, f"{int(kernel.active.sum())} scenarios trading")
    if meter is not None:
        meter.update(meter.total, "done", force=True)
    return StressRun(np.stack(rec.equity, axis=1), rec.steps, rec.fees, rec.slippage, rec.fills)


def scenario_table(
    run: StressRun, ids: np.ndarray, regimes: list[str], timeframe: str, initial_cash: float
) -> pl.DataFrame:
    """One row per scenario: scenario_id, regime, total_return, sharpe, max_drawdown, trades, fees, ..."""
    if len(ids) != run.equity.shape[0]:
        raise ValueError(f"{len(ids)} scenario ids for {run.equity.shape[0]} stressed episodes")
    if (run.steps == run.steps[0]).all():
        eq = run.equity[:, : int(run.steps[0]) + 1]
        ret, dd = total_return(eq), max_drawdown(eq)
        sharpe = sharpe_ratio(simple_returns(eq), timeframe)
    else:  # scenarios of different lengths: each curve up to its own end
        curves = [run.equity[i, : int(k) + 1] for i, k in enumerate(run.steps)]
        ret = np.array([total_return(c) for c in curves])
        dd = np.array([max_drawdown(c) for c in curves])
        sharpe = np.array([sharpe_ratio(simple_returns(c), timeframe) for c in curves])
    return pl.DataFrame(
        {
            "scenario_id": np.asarray(ids, dtype=np.int64),
            "regime": regimes,
            "total_return": np.asarray(ret, dtype=np.float64),
            "sharpe": np.asarray(sharpe, dtype=np.float64),
            "max_drawdown": np.asarray(dd, dtype=np.float64),
            "trades": run.fills.astype(np.int64),
            "fees": run.fees,
            "slippage": run.slippage,
            "final_equity": run.equity[np.arange(len(ids)), run.steps],
            "bars": run.steps,
        }
    ).with_columns(pl.lit(initial_cash).alias("initial_equity"))


def regime_summary(table: pl.DataFrame) -> pl.DataFrame:
    """Per-regime summary of the per-scenario ``table``: scenario count, profitable share, median and worst
    return, median Sharpe, worst drawdown, mean trades and mean fees."""
    return (
        table.group_by("regime", maintain_order=True)
        .agg(
            pl.len().alias("scenarios"),
            (pl.col("total_return") > 0).mean().alias("profitable_share"),
            pl.col("total_return").median().alias("median_return"),
            pl.col("total_return").min().alias("worst_return"),
            pl.col("sharpe").median().alias("median_sharpe"),
            pl.col("max_drawdown").min().alias("worst_drawdown"),
            pl.col("trades").mean().alias("mean_trades"),
            pl.col("fees").mean().alias("mean_fees"),
        )
        .sort("regime")
    )


def stress_verdict(table: pl.DataFrame, cfg: GatesConfig, run_id: str, inputs: dict[str, Any]) -> Verdict:
    """The stress gate's verdict from the per-scenario ``table``: profitable share, median Sharpe, worst
    max drawdown and worst loss against the thresholds in ``cfg``."""
    ret = table["total_return"].to_numpy()
    sharpe = table["sharpe"].to_numpy()
    dd = table["max_drawdown"].to_numpy()
    worst_loss = float(-ret.min())
    worst_dd = float(-dd.min())
    profitable = float((ret > 0).mean())
    median_sharpe = float(np.median(np.nan_to_num(sharpe, nan=0.0)))  # a flat curve has no edge: Sharpe 0
    worst_sid = int(table["scenario_id"][int(np.argmin(ret))])
    checks = [
        check("profitable_share", profitable, ">=", cfg.stress_min_profitable_share),
        check("median_sharpe", median_sharpe, ">", cfg.stress_min_median_sharpe),
        check("worst_max_drawdown", worst_dd, "<", cfg.stress_max_drawdown,
              f"scenario {int(table['scenario_id'][int(np.argmin(dd))])}"),
        check("worst_loss", worst_loss, "<", cfg.stress_max_scenario_loss, f"scenario {worst_sid}"),
    ]  # fmt: skip
    figures = {
        "scenarios": table.height,
        "profitable_share": profitable,
        "median_sharpe": median_sharpe,
        "median_return": float(np.median(ret)),
        "worst_max_drawdown": worst_dd,
        "worst_loss": worst_loss,
        "mean_trades": float(np.mean(table["trades"].to_numpy())),
        "mean_fees": float(np.mean(table["fees"].to_numpy())),
        "by_regime": regime_summary(table).to_dicts(),
    }
    return Verdict.from_checks(GATE, run_id, checks, figures, inputs)


def returns_by_regime_png(path: Path, table: pl.DataFrame, title: str = "") -> Path:
    """Write a box plot of each scenario's total return (%) by regime to ``path`` (PNG) and return the
    path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    regimes = sorted(set(table["regime"].to_list()))
    data = [100 * table.filter(pl.col("regime") == r)["total_return"].to_numpy() for r in regimes]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(regimes)), 4.5), dpi=100)
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(regimes) + 1), regimes)
    for i, d in enumerate(data, start=1):
        ax.scatter(np.full(d.size, i) + np.linspace(-0.15, 0.15, d.size), d, s=8, alpha=0.5)
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("total return per scenario (%)")
    ax.set_title(title or "CGE stress: returns by regime")
    fig.tight_layout()
    try:
        return atomic_write_with(path, fig.savefig, suffix=".png")  # savefig picks the format by suffix
    finally:
        plt.close(fig)


def write_outputs(out_dir: Path, table: pl.DataFrame) -> dict[str, Path]:
    """scenarios.csv / scenarios.parquet / regimes.csv / returns_by_regime.png, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "scenarios_csv": out_dir / "scenarios.csv",
        "scenarios_parquet": out_dir / "scenarios.parquet",
        "regimes_csv": out_dir / "regimes.csv",
    }
    for key, path in files.items():
        frame = regime_summary(table) if key == "regimes_csv" else table
        atomic_write_with(path, frame.write_parquet if path.suffix == ".parquet" else frame.write_csv)
    files["plot"] = returns_by_regime_png(out_dir / "returns_by_regime.png", table)
    return files


def run_stress_gate(
    policy: Policy,
    data: MarketDataset,
    ids: np.ndarray,
    regimes: list[str],
    env: EnvConfig,
    costs: CostsConfig,
    cfg: GatesConfig,
    *,
    run_id: str = "",
    out_dir: Path | None = None,
    inputs: dict[str, Any] | None = None,
    progress: Any = None,
) -> tuple[Verdict, pl.DataFrame]:
    """Stress ``policy`` over ``data`` (segment i = scenario ids[i]); write the outputs when ``out_dir``."""
    from cappuccino_core.backtest.runner import run_env

    run = run_stress(policy, data, env, costs, progress)
    table = scenario_table(run, ids, regimes, data.spec.timeframe, env.initial_cash)
    base = {
        "scenarios": len(ids),
        "bars_per_scenario": int(run.steps.max()),
        "tickers": list(data.tickers),
        "timeframe": data.spec.timeframe,
        "spec_hash": data.spec.content_hash(),
        "costs": costs.model_dump(),
        "env": run_env(policy, env).model_dump(),  # the env the policy traded under (its trained one)
    }
    verdict = stress_verdict(table, cfg, run_id, {**base, **(inputs or {})})  # fmt: skip
    if out_dir is not None:
        verdict.artifacts.update(write_outputs(out_dir, table))
    return verdict, table
