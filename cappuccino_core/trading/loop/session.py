"""A paper session: replay the last days of the bundled sample through the full bar loop on a broker built
by name (``sim`` | ``local`` | ``alpaca`` | ``coinbase``), then report and write the report.

For ``local`` the orders go through the real SDK (alpaca-py, or coinbase-advanced-py) to the in-process
loopback exchange, which replays the same bars; fills are reconciled from the venue's answers. Decisions
come from the trend baseline or a registered model (features with the model's FeatureSpec, refusing on a
mismatch); conviction and the risk manager sit between decision and broker.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core import metrics
from cappuccino_core.common.atomic import atomic_write_text
from cappuccino_core.config.settings import Settings
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.trading.brokers.base import Broker
from cappuccino_core.trading.brokers.factory import canonical_name
from cappuccino_core.trading.brokers.live_guard import LiveGrant, require_grant
from cappuccino_core.trading.loop.build import open_session
from cappuccino_core.trading.loop.policies import POLICIES, PolicyKind, policy_kind
from cappuccino_core.trading.loop.replay import ReplayBars, load_bars, run_replay, trend_baseline

SUMMARY_KEYS = (
    "broker", "model", "session", "bars_replayed", "trades", "fills", "win_rate", "fees", "maker_ratio",
    "avg_trade_size", "volume", "total_return", "equal_weight_return", "excess_return", "final_equity",
    "seconds", "report_path",
)  # fmt: skip


def decider(
    settings: Settings, model: str, bars: ReplayBars, broker: Broker, assets: tuple[str, ...]
) -> tuple[Callable[[int], np.ndarray], str]:
    """(decide, label) of the policy ``model`` names (policies.py: ``baseline``, run ids, ``mtf:...``)."""
    kind, args = policy_kind(model)
    return kind.decide(settings, args, bars, broker, assets)


def _baseline(
    settings: Settings, args: str, bars: ReplayBars, broker: Broker, assets: tuple[str, ...]
) -> tuple[Callable[[int], np.ndarray], str]:
    return trend_baseline(bars.close), "baseline"


def _registered(
    settings: Settings, model: str, bars: ReplayBars, broker: Broker, assets: tuple[str, ...]
) -> tuple[Callable[[int], np.ndarray], str]:
    """The registered policy ``model``, or for ``"run1,run2,..."`` their ensemble weighted by validation
    Sharpe (every member must have been trained on the same features: the first one's FeatureSpec, checked
    by load_policy)."""
    from cappuccino_core.registry import Tracking, load_policy, model_spec
    from cappuccino_core.trading.ensemble import SharpeWeightedEnsemble, SpecPolicy
    from cappuccino_core.trading.loop.policy import PolicyDecider

    ids = model_ids(model)
    trk = Tracking.from_settings(settings)
    spec = model_spec(ids[0], trk)
    if tuple(bars.tickers) != spec.tickers:
        raise FeatureSpecMismatch(
            f"model {ids[0]} trades {list(spec.tickers)}, the bars are {list(bars.tickers)}"
        )
    members = [load_policy(r, spec, trk) for r in ids]
    policy: Any = members[0]
    if len(members) > 1:
        client = trk.activate()
        sharpes = [validation_sharpe(client, m.run_id or r) for m, r in zip(members, ids, strict=True)]
        label = "ensemble:" + "+".join(r[:8] for r in ids)
        policy = SpecPolicy(SharpeWeightedEnsemble(members, sharpes), spec, label)
    # Features are rebuilt from the bars with the model's own spec (apply_spec refuses any mismatch).
    decide = PolicyDecider(policy, bars, broker, spec.timeframe, assets=assets)
    return decide, policy.run_id or model


def model_ids(model: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``: one model, or the members of an ensemble."""
    ids = [m.strip() for m in model.split(",") if m.strip()]
    if not ids:
        raise ValueError(f"--model {model!r} names no model")
    return ids


def validation_sharpe(client: Any, run_id: str) -> float:
    """The mean CPCV test-split Sharpe the study logged for ``run_id`` (metric ``test/sharpe``)."""
    value = client.get_run(run_id).data.metrics.get("test/sharpe")
    if value is None:
        raise ValueError(f"run {run_id} has no test/sharpe metric: cannot weight it in an ensemble")
    return float(value)


def model_timeframe(settings: Settings, model: str) -> str:
    """The bar interval a policy decides on: a model's FeatureSpec's (the configured one for the baseline;
    the tactical member's for ``mtf:``)."""
    kind, args = policy_kind(model)
    return kind.timeframe(settings, args)


def _registered_timeframe(settings: Settings, model: str) -> str:
    from cappuccino_core.registry import Tracking, model_spec

    return model_spec(model_ids(model)[0], Tracking.from_settings(settings)).timeframe


def history_bars(settings: Settings, model: str) -> int:
    """Bars a live tick needs before the newest one: the decision's (the baseline's moving average; a
    model's warm-up, lookback and the history that makes its features equal the training run's,
    ``INFERENCE_HISTORY_BARS``) and the conviction filter's, plus a margin."""
    conviction = settings.risk.conviction
    need = max(conviction.trend_windows) + 26 if conviction.enabled else 0
    kind, args = policy_kind(model)
    return max(need, kind.history(settings, args))


def _registered_history(settings: Settings, model: str) -> int:
    from cappuccino_core.features.builder import INFERENCE_HISTORY_BARS
    from cappuccino_core.registry import Tracking, model_spec

    spec = model_spec(model_ids(model)[0], Tracking.from_settings(settings))
    return INFERENCE_HISTORY_BARS + spec.warmup + spec.lookback + 1


POLICIES.add(
    "baseline", PolicyKind(_baseline, lambda settings, args: settings.data.timeframe, lambda s, a: 2 * 24)
)
POLICIES.add("model", PolicyKind(_registered, _registered_timeframe, _registered_history))


def tail_bars(bars: ReplayBars, n: int) -> ReplayBars:
    """The newest ``n`` bars (all when there are fewer), frames cut to the same times."""
    if n >= len(bars.times):
        return bars
    first = bars.times[-n]
    frames = {t: df.filter(pl.col("time").dt.epoch("ns") >= int(first)) for t, df in bars.frames.items()}
    return ReplayBars(bars.tickers, bars.times[-n:], bars.close[-n:], bars.volume[-n:], frames)


def equal_weight_return(bars: ReplayBars, days: float, timeframe: str) -> float:
    """Equal-weight buy and hold over the replayed bars (bar closes, no fees)."""
    n = min(len(bars.times), max(1, int(days * 86_400 // timeframe_seconds(timeframe))))
    ew = metrics.equal_weight_buy_and_hold(bars.close[len(bars.times) - n :])
    return float(ew[-1] / ew[0] - 1.0)


def _plain(x: Any) -> Any:
    """JSON-safe: NaN/inf become null (strict JSON), numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def write_report(settings: Settings, report: dict[str, Any], stem: str) -> Path:
    """``<reports_dir>/<trading.reports_subdir>/<stem>.json``, written atomically."""
    out = Path(settings.paths.reports_dir) / settings.trading.reports_subdir
    text = json.dumps(_plain(report), indent=2, default=str, allow_nan=False)
    return atomic_write_text(out / f"{stem}.json", text)


def run_paper(
    settings: Settings,
    broker: str = "local",
    days: float = 7.0,
    model: str = "baseline",
    *,
    venue: str | None = None,
    capital_fraction: float = 1.0,
    exchange_url: str | None = None,
    ca_cert: str | None = None,
    run_label: str | None = None,
) -> dict[str, Any]:
    """Replay the last ``days`` of the sample through the loop on ``broker``; the full report (also
    written under the reports directory, its path in ``report_path``).

    Every session has its own id (``paper-<utc time>-<random>``, or ``run_label`` to resume one): its
    orders' client ids, its fills and its report are its own, so a re-run of the same window places its
    orders again and reports only them."""
    name = canonical_name(broker)
    session = run_label or f"paper-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    require_grant(settings, name, exchange_url, None)  # a paper session never trades real money
    tf = model_timeframe(settings, model)
    bars = load_bars(settings, tf, source="sample")
    with open_session(settings, name, model, bars, tf, run_id=session, capital_fraction=capital_fraction,
                      exchange_url=exchange_url, ca_cert=ca_cert, venue=venue,
                      equity_flush_bars=24) as s:  # fmt: skip
        report = run_replay(s.loop, bars, tf, days)
        paper, loop, run_id = s.broker, s.loop, s.model
        equity = float(paper.account().equity)
    ew = equal_weight_return(bars, days, tf)
    report.update(
        broker=loop.broker.name if name != "local" else f"local:{loop.broker.name}", model=run_id,
        session=session,
        trades=report.get("fills", 0), final_equity=equity, equal_weight_return=ew,
        excess_return=report.get("total_return", float("nan")) - ew, capital_fraction=capital_fraction,
        timeframe=tf, finished=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    stem = f"paper_{name}_{run_id.replace(':', '-').replace('+', '-')}_{session}"
    report["report_path"] = str(write_report(settings, report, stem))
    return report


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a session report."""
    return {k: report.get(k) for k in SUMMARY_KEYS}


def paper_session(settings: Settings, days: float = 2, broker: str = "local") -> dict[str, Any]:
    """A short paper session (the trend baseline) for the end of ``make run``; returns the summary."""
    return summary(run_paper(settings, broker, days, "baseline"))


def live_tick(
    settings: Settings,
    run_id: str,
    capital_fraction: float,
    broker: str = "coinbase",
    *,
    exchange_url: str | None = None,
    ca_cert: str | None = None,
    now_ns: int | None = None,
    grant: LiveGrant | None = None,
) -> dict[str, Any]:
    """One live tick of model ``run_id`` (with ``trading.mtf_strategic_model``: the multi-timeframe
    ensemble of the two) on the newest stored bar (``paths.data_root``): reconcile, then
    decide and trade with at most ``capital_fraction`` of the account. A stale newest bar is not traded
    (the loop's bad-bar check says why). A broker that can touch real money needs ``grant`` from
    :func:`~.live.check_live` (the factory refuses it otherwise); the grant's fraction caps
    ``capital_fraction``."""
    strategic = settings.trading.mtf_strategic_model
    model = f"mtf:{run_id},{strategic}" if strategic else run_id  # the policy; run_id keys the orders
    name, tf = canonical_name(broker), model_timeframe(settings, model)
    if grant is not None:
        capital_fraction = min(capital_fraction, grant.capital_fraction)
    require_grant(settings, name, exchange_url, grant)  # before any bar is loaded or model read
    # a bounded window, read from the store as such: a tick's work does not grow with the stored history
    need = history_bars(settings, model)
    bars = tail_bars(load_bars(settings, tf, source="store", last_bars=need), need)
    with open_session(settings, name, model, bars, tf, run_id=run_id, capital_fraction=capital_fraction,
                      grant=grant, exchange_url=exchange_url, ca_cert=ca_cert) as s:  # fmt: skip
        s.loop.reconcile()
        res = s.tick(len(bars.times) - 1, now_ns or time.time_ns())
    return {"run_id": run_id, "bar": int(res.bar_time_ns), "skipped": res.skipped, "orders": res.orders,
            "capital_fraction": capital_fraction}  # fmt: skip
