"""`cappuccino backtest`: a baseline, a strategy or a saved model through the step kernel, with a report.

    cappuccino backtest --policy equal_weight --start 2025-01-01 --end 2025-06-01 --out reports/ew
    cappuccino backtest --policy trend --sample --start 2025-05-01
    cappuccino backtest --model runs/abc/policy.zip [--spec runs/abc/feature_spec.json] --out reports/m

--policy: a baseline (``buy_and_hold`` = true BTC buy-and-hold, ``equal_weight``, ``random``) or any
strategy of ``cappuccino_core.strategies`` (``buy_and_hold_btc``, ``buy_and_hold_basket``,
``rebalanced_equal_weight``, ``trend``, ``mean_reversion``, ``cash``); a strategy with parameters is fitted
on the bars before the window (the default grid point when there are too few). Every report also shows
every strategy on the same window ("strategies to beat").

Data: the configured tickers (``[data] tickers``, in that order; a model's own tickers with --model) at the
configured timeframe (a model's own timeframe) from the bar store, or from the committed real sample with
``--sample``; aligned with the ``[data]`` repair policy. Baselines get features built with ``[features]``;
a model gets features built exactly as its FeatureSpec says, normalised with the statistics stored in it,
and any difference (tickers or their order, timeframe, indicators, lookback, normalisation) stops the run.
The window is [--start, --end) in UTC bar-open time, with the lookback's bars before --start added as
history. Costs, limits and the action mapping come from ``[costs]`` and ``[env]``; a model trades under the
env it was trained with: the ``env_config.json`` beside its zip (or ``<model>.env.json``; a registered
model's downloaded ``artifacts/`` folder holds it) replaces the model's fields of ``[env]`` (hold band,
decision interval, cash reserve, ...: ``registry/model_env.py``); without one the run says so and uses
``[env]``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.config import Settings

if TYPE_CHECKING:
    from cappuccino_core.backtest.report import ReportFiles
    from cappuccino_core.backtest.runner import BacktestResult, Policy
    from cappuccino_core.features.dataset import MarketDataset
    from cappuccino_core.features.spec import FeatureSpec

app = typer.Typer(no_args_is_help=True)

PolicyOption = typer.Option(
    None,
    "--policy",
    "-p",
    help="baseline (buy_and_hold | equal_weight | random) or strategy (buy_and_hold_btc | "
    "buy_and_hold_basket | rebalanced_equal_weight | trend | mean_reversion | cash)",
)
ModelOption = typer.Option(None, "--model", "-m", help="a saved SB3 model (.zip) with its FeatureSpec")
SpecOption = typer.Option(
    None,
    "--spec",
    help="the model's FeatureSpec JSON (default: feature_spec.json or <model>.spec.json beside it)",
)
StartOption = typer.Option(None, "--start", help="first bar (UTC, e.g. 2025-01-01 or 2025-01-01T12:00)")
EndOption = typer.Option(None, "--end", help="end of the window, exclusive (UTC)")
OutOption = typer.Option(
    None, "--out", "-o", help="report folder (default: {paths.reports_dir}/backtest-<name>)"
)
SampleOption = typer.Option(False, "--sample", help="read the committed real sample, not the bar store")
SeedOption = typer.Option(0, "--seed", help="seed of the random baseline")
AlgoOption = typer.Option("PPO", "--algo", help="SB3 algorithm class of --model")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.2%}"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _utc(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{name} {text!r} is not an ISO date/time (e.g. 2025-01-01 or 2025-01-01T12:00)") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _spec_path(model: Path, spec: Path | None) -> Path:
    candidates = [spec] if spec else [model.parent / "feature_spec.json", model.with_suffix(".spec.json")]
    for c in candidates:
        if c is not None and c.is_file():
            return c
    raise fail(f"no FeatureSpec for {model}: tried {', '.join(str(c) for c in candidates)} (use --spec)")


def _dataset(settings: Settings, sample: bool, spec: FeatureSpec | None = None) -> MarketDataset:
    from cappuccino_cli.data_features import load_market
    from cappuccino_core.features.builder import apply_spec, build_dataset

    if spec is not None:  # the model's tickers, in the model's order, at its timeframe
        settings = settings.model_copy(
            update={"data": settings.data.model_copy(update={"tickers": list(spec.tickers)})}
        )
    tf = spec.timeframe if spec is not None else settings.data.timeframe
    try:
        aligned = load_market(settings, tf, sample)
        if spec is not None:
            return apply_spec(aligned.frames, spec, segments=aligned.segments)
        return build_dataset(aligned.frames, settings.features, tf, segments=aligned.segments)
    except ValueError as exc:  # DataValidationError, FeatureSpecMismatch: one clear line
        raise fail(str(exc)) from None


def _window(
    times: np.ndarray, start: datetime | None, end: datetime | None, lookback: int
) -> tuple[int, int]:
    def ns(dt: datetime) -> int:
        return int(dt.timestamp() * 1_000_000) * 1000

    lo = 0 if start is None else int(np.searchsorted(times, ns(start), side="left"))
    hi = len(times) if end is None else int(np.searchsorted(times, ns(end), side="left"))
    if hi - lo < 2:
        raise fail(f"the window [{start}, {end}) holds {max(hi - lo, 0)} bar(s) of the data; need at least 2")
    return max(0, lo - (lookback - 1)), hi


@app.callback(invoke_without_command=True)
def backtest(
    config: Path | None = ConfigOption,
    policy: str | None = PolicyOption,
    model: Path | None = ModelOption,
    spec: Path | None = SpecOption,
    start: str | None = StartOption,
    end: str | None = EndOption,
    out: Path | None = OutOption,
    sample: bool = SampleOption,
    seed: int = SeedOption,
    algo: str = AlgoOption,
) -> None:
    """Backtest a baseline (--policy) or a saved model (--model) and write the HTML report."""
    from cappuccino_core.backtest.baselines import policy_names
    from cappuccino_core.backtest.with_report import backtest_with_report
    from cappuccino_core.features.spec import FeatureSpec

    if (policy is None) == (model is None):
        raise fail("give exactly one of --policy (a baseline) or --model (a saved model)")
    if policy is not None and policy not in policy_names():
        raise fail(f"unknown --policy {policy!r}; choose one of {', '.join(policy_names())}")
    settings = settings_or_exit(config)
    t0, t1 = _utc(start, "--start"), _utc(end, "--end")

    model_spec = None
    if model is not None:
        if not model.is_file():
            raise fail(f"--model {model} does not exist")
        try:
            model_spec = FeatureSpec.load(_spec_path(model, spec))
        except ValueError as exc:
            raise fail(str(exc)) from None
    data = _dataset(settings, sample, model_spec)
    lo, hi = _window(data.times, t0, t1, data.spec.lookback)
    window = data.slice(lo, hi)
    history = data.slice(0, lo) if lo > data.spec.lookback else None  # what strategies are fitted on

    if model is not None:
        runner_policy, name = _model_policy(model, algo, window), model.stem
    else:
        assert policy is not None
        runner_policy, name = _named_policy(policy, settings, window, history, seed), policy

    out = out or Path(settings.paths.reports_dir) / f"backtest-{name}"
    meta = {"model": str(model) if model else None, "data": "sample" if sample else "bar store"}
    try:
        result, files = backtest_with_report(
            runner_policy, window, settings.env, settings.costs, out, name, meta, history=history
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    _print_result(name, window, result, files)


def _model_policy(model: Path, algo: str, window: MarketDataset) -> Policy:
    """A saved SB3 model as a backtest policy; fails when it observes another shape than ``window`` gives."""
    from cappuccino_core.backtest.runner import SB3Policy
    from cappuccino_core.env.observation import observation_size
    from cappuccino_core.registry.pyfunc_model import algo_class

    sb3 = algo_class(algo).load(str(model), device="cpu")
    expected = (observation_size(window.n_assets, window.spec.n_features, window.spec.lookback),)
    if tuple(sb3.observation_space.shape) != expected:
        raise fail(f"model {model} observes {sb3.observation_space.shape}, this data gives {expected}")
    return SB3Policy(sb3, _trained_env(model))


def _trained_env(model: Path) -> dict[str, object] | None:
    """The model fields of the env ``model`` was trained with, from the env_config.json beside it (or
    ``<model>.env.json``); None, said on the console, when there is none."""
    from cappuccino_core.registry.model_env import ENV_FILE, load_env

    for c in (model.parent / ENV_FILE, model.with_suffix(".env.json")):
        if c.is_file():
            try:
                return load_env(c)
            except ValueError as exc:
                raise fail(str(exc)) from None
    console.print(f"no {ENV_FILE} beside {model}: it runs under the configured [env]", markup=False)
    return None


def _named_policy(
    policy: str, settings: Settings, window: MarketDataset, history: MarketDataset | None, seed: int
) -> Policy:
    """A baseline, or a strategy with its parameters fitted on ``history`` (the bars before the window)."""
    from cappuccino_core.backtest.baselines import BASELINES, make_baseline
    from cappuccino_core.strategies import format_params, make_strategy

    if policy in BASELINES:
        return make_baseline(policy, window.tickers, settings.env, seed)
    strat = make_strategy(policy)
    params = strat.grid()[0]
    if history is not None and len(strat.grid()) > 1:
        usable = [(a, b) for a, b in history.segments if b - a >= history.spec.lookback + 1]
        if usable:
            params = strat.fit(history, usable, settings.env, settings.costs).params
            console.print(
                f"{policy}: {format_params(params)} fitted on {history.n_bars} bars before the window"
            )
    return strat.policy(params, settings.env, window.tickers)


def _print_result(name: str, window: MarketDataset, result: BacktestResult, files: ReportFiles) -> None:
    """One line of figures for the run, one per benchmark and per strategy to beat, and the report path."""
    s = result.summary
    console.print(
        f"{name}: {window.tickers} {window.spec.timeframe}, {len(result.equity)} bars, "
        f"total return {s.total_return:+.2%}, Sharpe {s.sharpe:.2f}, max drawdown {s.max_drawdown:.2%}, "
        f"fills {result.ledger.height}, fees {result.fees:,.2f}"
    )
    for bench, b in result.benchmarks.items():
        console.print(f"  {bench}: total return {b[-1] / b[0] - 1:+.2%}")
    strategies = json.loads(files.metrics_json.read_text()).get("strategies") or {}
    for key, row in strategies.items():
        console.print(
            f"  strategy {key}: total return {_pct(row['total_return'])}, Sharpe {_num(row['sharpe'])}, "
            f"turnover/yr {_num(row['turnover_per_year'])}, fees {_share(row['fees_share'])} of equity"
        )
    console.print(f"report: {files.html}")
