"""One bout: two policies trade the SAME market window side by side in one kernel run, and a rule decides.

Replay: a :class:`~cappuccino_core.env.TradingKernel` with one episode per contestant, every episode started
and ended on the same bars of a held-out window, so both face identical prices, costs, order rules and
fees. Each step the kernel's observations are split by episode and each policy is asked for its own row.

Contestants may be strategies (``cappuccino_core.strategies``, ids ``strategy:<name>(<params>)``, see
:mod:`.contenders`): a strategy that reads prices is told each step's bar, and one that runs under its
own env (the buy-and-hold references, exempt from the position cap and cash reserve) replays in a kernel
of that env, on the same bars.

The rule (:func:`decide`): a contestant is *eligible* when it made at least ``min_trades`` fills in the
window (strategies are exempt: a buy-and-hold makes one fill by design, and a rule cannot have learned to
sit still) and its score is finite. The score is the annualised Sortino ratio (or Sharpe, per
``ArenaConfig.score``) of its per-bar equity returns, computed by :mod:`cappuccino_core.metrics`.
Among eligible contestants the higher score wins; ties go to the incumbent (the first contestant).
When neither is eligible the incumbent keeps its place; when only one is, it wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cappuccino_core.common.policy import BarClocked, Policy
from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.metrics import max_drawdown, sharpe_ratio, simple_returns, sortino_ratio, total_return


@dataclass(frozen=True)
class Performance:
    """One contestant's figures on one window (fractions; ratios annualised from the timeframe)."""

    model: str
    score: float
    sharpe: float
    sortino: float
    total_return: float
    max_drawdown: float
    trades: int
    fees: float

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values (non-finite as None)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()
        }


@dataclass(frozen=True)
class BoutResult:
    """One bout: both contestants' performance on the window, the winner and the rule that decided."""

    incumbent: Performance
    challenger: Performance
    winner: str
    reason: str
    window: tuple[int, int]

    def evidence(self) -> dict[str, Any]:
        """The bout as audit evidence (JSON-ready)."""
        return {
            "window": list(self.window),
            "incumbent": self.incumbent.to_dict(),
            "challenger": self.challenger.to_dict(),
            "winner": self.winner,
            "rule": self.reason,
        }


def performance(
    model: str, equity: np.ndarray, trades: int, fees: float, timeframe: str, cfg: ArenaConfig
) -> Performance:
    """Figures of one equity curve (via the metrics module); ``score`` per ``cfg.score``."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.ndim != 1 or eq.size < 3:
        raise ValueError(f"{model}: an equity curve of >= 3 points is needed to score, got shape {eq.shape}")
    rets = simple_returns(eq)
    sharpe = float(sharpe_ratio(rets, timeframe))
    sortino = float(sortino_ratio(rets, timeframe))
    return Performance(
        model=model,
        score=sortino if cfg.score == "sortino" else sharpe,
        sharpe=sharpe,
        sortino=sortino,
        total_return=float(total_return(eq)),
        max_drawdown=float(max_drawdown(eq)),
        trades=int(trades),
        fees=float(fees),
    )


def eligible(p: Performance, cfg: ArenaConfig) -> bool:
    """Whether a performance may win: enough trades (strategies exempt) and a finite score."""
    from cappuccino_core.arena.contenders import is_strategy_id

    return (p.trades >= cfg.min_trades or is_strategy_id(p.model)) and math.isfinite(p.score)


def decide(incumbent: Performance, challenger: Performance, cfg: ArenaConfig) -> tuple[str, str]:
    """(winner's model id, the rule that applied). See the module docstring."""
    ok_i, ok_c = eligible(incumbent, cfg), eligible(challenger, cfg)
    name = cfg.score
    if ok_i and ok_c:
        if challenger.score > incumbent.score:
            return challenger.model, f"higher {name} ({challenger.score:.3f} > {incumbent.score:.3f})"
        return (
            incumbent.model,
            f"{name} {incumbent.score:.3f} >= {challenger.score:.3f} (ties keep the incumbent)",
        )
    if ok_c:
        return challenger.model, f"incumbent ineligible (< {cfg.min_trades} trades or no finite {name})"
    if ok_i:
        return incumbent.model, f"challenger ineligible (< {cfg.min_trades} trades or no finite {name})"
    return incumbent.model, f"neither eligible (< {cfg.min_trades} trades); the incumbent keeps its place"


def replay(
    policies: Sequence[Policy],
    data: MarketDataset,
    window: tuple[int, int],
    env: EnvConfig,
    costs: CostsConfig,
) -> list[tuple[np.ndarray, int, float]]:
    """Every policy trades bars ``window = (start, end)`` of ``data`` in one kernel run (one per distinct
    ``run_env``: see ``backtest.runner.run_env``). Returns (equity curve incl. the start point, number of
    fills, fees paid) per policy."""
    from cappuccino_core.backtest.runner import run_env

    n = len(policies)
    if n == 0:
        raise ValueError("replay: no policies given")
    groups: list[tuple[EnvConfig, list[int]]] = []
    for i, p in enumerate(policies):
        e = run_env(p, env)
        for ge, members in groups:
            if ge == e:
                members.append(i)
                break
        else:
            groups.append((e, [i]))
    out: list[tuple[np.ndarray, int, float] | None] = [None] * n
    for group_env, members in groups:
        runs = _replay([policies[i] for i in members], data, window, group_env, costs)
        for i, res in zip(members, runs, strict=True):
            out[i] = res
    return [r for r in out if r is not None]


def _replay(
    policies: Sequence[Policy],
    data: MarketDataset,
    window: tuple[int, int],
    env: EnvConfig,
    costs: CostsConfig,
) -> list[tuple[np.ndarray, int, float]]:
    from cappuccino_core.backtest.runner import begin

    n = len(policies)
    start, end = int(window[0]), int(window[1])
    kernel = TradingKernel(data, env, costs, n_episodes=n, record=True)
    obs = kernel.reset(starts=np.full(n, start), ends=np.full(n, end))
    for p in policies:
        begin(p, data, np.full(1, start))
    curves = [[float(e)] for e in kernel.equity]
    for _ in range(end - start):
        acts = np.concatenate(
            [_act(p, obs[i : i + 1], kernel.t[i : i + 1]).reshape(1, -1) for i, p in enumerate(policies)]
        )
        if not np.all(np.isfinite(acts)):
            raise ValueError(f"replay: a policy returned non-finite actions at bar {int(kernel.t[0])}")
        res = kernel.step(acts)
        for i in range(n):
            curves[i].append(float(res.equity[i]))
        obs = res.obs
        if not kernel.active.any():
            break
    assert kernel.recorder is not None
    out = []
    for i in range(n):
        rec = kernel.recorder.episode(i)
        out.append((np.asarray(curves[i]), int(rec.ledger.height), float(rec.fees.sum())))
    return out


def _act(policy: Policy, obs: np.ndarray, t: np.ndarray) -> np.ndarray:
    if isinstance(policy, BarClocked):
        policy.at_bars(np.asarray(t, dtype=np.int64).copy())
    return np.asarray(policy.predict(obs), dtype=np.float64)


def bout(
    incumbent: tuple[str, Policy],
    challenger: tuple[str, Policy],
    data: MarketDataset,
    window: tuple[int, int],
    env: EnvConfig,
    costs: CostsConfig,
    cfg: ArenaConfig,
) -> BoutResult:
    """Replay both on the same window, score both, decide."""
    (a_id, a), (b_id, b) = incumbent, challenger
    (eq_a, n_a, f_a), (eq_b, n_b, f_b) = replay([a, b], data, window, env, costs)
    tf = data.spec.timeframe
    pa = performance(a_id, eq_a, n_a, f_a, tf, cfg)
    pb = performance(b_id, eq_b, n_b, f_b, tf, cfg)
    winner, reason = decide(pa, pb, cfg)
    return BoutResult(pa, pb, winner, reason, (int(window[0]), int(window[1])))


def time_window(data: MarketDataset, window: tuple[int, int]) -> tuple[int, int]:
    """Bar-index ``window`` of ``data`` as open times [first, last] (ns): the market span of a bout."""
    return int(data.times[int(window[0])]), int(data.times[int(window[1])])


def index_window(data: MarketDataset, span: tuple[int, int]) -> tuple[int, int]:
    """The bars of ``data`` inside the time ``span`` [first, last] (ns), with a full lookback before the
    first one: the same market for a contestant whose features (timeframe, lookback) differ."""
    lo = int(np.searchsorted(data.times, span[0], side="left"))
    hi = int(np.searchsorted(data.times, span[1], side="right")) - 1
    lo = max(lo, data.spec.lookback - 1)
    if hi - lo < 2:
        raise ValueError(f"the {data.spec.timeframe} dataset holds fewer than 3 bars of the bout's span")
    return lo, hi


def bout_on_own_data(
    incumbent: tuple[str, Policy, MarketDataset],
    challenger: tuple[str, Policy, MarketDataset],
    span: tuple[int, int],
    env: EnvConfig,
    costs: CostsConfig,
    cfg: ArenaConfig,
) -> BoutResult:
    """Two contestants trained on different features (timeframe, lookback, normalisation): each replays the
    same time ``span`` on data built with its own FeatureSpec; scores are annualised from each one's bar
    interval, so they compare."""
    perfs = []
    for model_id, policy, data in (incumbent, challenger):
        ((eq, n, fees),) = replay([policy], data, index_window(data, span), env, costs)
        perfs.append(performance(model_id, eq, n, fees, data.spec.timeframe, cfg))
    winner, reason = decide(perfs[0], perfs[1], cfg)
    return BoutResult(perfs[0], perfs[1], winner, reason, (int(span[0]), int(span[1])))


def windows(data: MarketDataset, length: int) -> list[tuple[int, int]]:
    """The latest window of at most ``length`` steps inside each segment of ``data`` (newest first)."""
    out: list[tuple[int, int]] = []
    lb = data.spec.lookback
    for s, e in sorted(data.segments, key=lambda se: se[1], reverse=True):
        first, last_bar = s + lb - 1, e - 1
        if last_bar - first >= 2:
            out.append((last_bar - min(length, last_bar - first), last_bar))
    if not out:
        raise ValueError(f"no segment of the {data.n_bars}-bar dataset holds a window (lookback {lb})")
    return out
