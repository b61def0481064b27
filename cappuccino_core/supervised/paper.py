"""A paper session of the supervised ensemble: the bar loop replays the newest bars of the sample against a
broker (``local``: the real alpaca-py client against the in-process loopback exchange), the ensemble
deciding, the signal rules (threshold, per-hour caps) in front of the configured risk rules.

The supervised members' forecasts are computed once over the replayed bars by their stored FeatureSpecs
(causal features: each bar's forecast reads bars up to it only); the RL member (optional) decides through
its own ``PolicyDecider`` (observation from the broker's account). High-tier signals are returned in the
report (``high_tier_signals``) and sent through ``notifier`` when one is given. The user's path is
``cappuccino trade paper --ensemble lstm,transformer[,rl=<ref>]`` (members resolved by ``members.py``); the
report is written under ``paths.reports_dir`` like every paper session's.

The report shows each member's part in every decision (``decisions``: per bar and asset each supervised
member's P(up), the signal's vote, the RL member's action and the combined action), the same for every order
placed (``order_votes``), and ``votes``, their summary: per member its weight, the decisions it voted in
and the orders whose decision it voted in (a supervised member: it had a forecast; the RL member: a non-zero
action), and the orders placed on a signal and without one (a signal's absence is a vote of 0: the RL
member's action then sets the target, and only an exit or a trim can pass the threshold rule).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cappuccino_core.config import Settings
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.features.builder import INFERENCE_HISTORY_BARS
from cappuccino_core.state.store import StateStore
from cappuccino_core.supervised.ensemble import EnsemblePolicy, bar_loop_decider, forecast_table
from cappuccino_core.supervised.members import check_alignment
from cappuccino_core.supervised.signals import SignalBoard
from cappuccino_core.supervised.soak import signal_risk
from cappuccino_core.supervised.tracking import SupervisedModel
from cappuccino_core.supervised.weights import ensemble_weights_for


def ensemble_paper_session(
    settings: Settings,
    models: Sequence[SupervisedModel],
    *,
    days: float = 2.0,
    broker: str = "local",
    rl_model: str | None = None,
    notifier: Any = None,
    venue: str | None = None,
    exchange_url: str | None = None,
    ca_cert: str | None = None,
) -> dict[str, Any]:
    """Replay the last ``days`` of the sample through the loop with the ensemble of ``models`` (and the
    registered RL policy ``rl_model`` when given) on ``broker`` (``venue``, ``exchange_url``, ``ca_cert``
    as for ``trade paper``); the loop's report plus the members, the signals and ``report_path``.
    ``notifier`` (a :class:`cappuccino_core.notify.Notifier`) hears every high-tier signal."""
    from cappuccino_core.common.policy import policy_env
    from cappuccino_core.trading.brokers.factory import canonical_name, make_broker, venue_symbol
    from cappuccino_core.trading.brokers.live_guard import require_grant
    from cappuccino_core.trading.loop.replay import load_bars, run_replay
    from cappuccino_core.trading.loop.session import decider, model_timeframe, write_report
    from cappuccino_core.trading.loop.trader import BarLoop

    if not models:
        raise ValueError("an ensemble paper session needs at least one supervised model")
    name = canonical_name(broker)
    require_grant(settings, name, exchange_url, None)  # a paper session never trades real money
    tf = models[0].spec.timeframe
    if rl_model is not None and model_timeframe(settings, rl_model) != tf:
        raise ValueError(
            f"ensemble member rl={rl_model} decides on {model_timeframe(settings, rl_model)} bars, the "
            f"supervised members on {tf} bars"
        )
    bars = load_bars(settings, tf, source="sample")
    check_alignment(models, bars.tickers, tf)
    assets = tuple(venue_symbol(t, name) for t in bars.tickers)
    # forecasts for the replayed bars, each from its stored spec over enough history for the TA warm-up
    n = int(days * 86_400 // timeframe_seconds(tf)) + INFERENCE_HISTORY_BARS
    recent = {k: v.tail(n) for k, v in bars.frames.items()}
    tables = [forecast_table(m, recent) for m in models]
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier, notifier=notifier)
    raw: Any = make_broker(settings, name, frames=bars.frames if name == "local" else None, venue=venue,
                           exchange_url=exchange_url, ca_cert=ca_cert)  # fmt: skip
    try:
        rl_decide = None if rl_model is None else decider(settings, rl_model, bars, raw, assets)[0]
        weights = ensemble_weights_for(settings, models, rl_model is not None)
        ens = EnsemblePolicy(tables, weights.weights, rl=rl_decide, board=board, record_votes=True)
        risk = signal_risk(settings, board)
        session = f"paper-ensemble-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        loop = BarLoop(
            raw,
            StateStore(settings.paths.state_url),
            risk,
            policy_env(ens, settings.env),  # the RL member's trained env when there is one
            bars.tickers,
            bar_loop_decider(ens, bars.times, bars.tickers, rl_decide),
            run_id=session,
            bar_ns=timeframe_seconds(tf) * 10**9,
            max_age_s=settings.risk.max_bar_age_s,
            assets=assets,
            model=ens.name,
        )
        report = run_replay(loop, bars, tf, days)
    finally:
        close = getattr(raw, "close", None)
        if callable(close):
            close()
    members = {m.kind: f"{m.run_id} (version {m.version or '?'})" for m in models}
    members |= {"rl": rl_model} if rl_model is not None else {}
    report.update(session=session, model=ens.name, broker=name, timeframe=tf, members=members,
                  weights=weights.to_dict(), high_tier_signals=board.high_tier_events())  # fmt: skip
    report.update(vote_report(ens, loop.store, session, dict(zip(assets, bars.tickers, strict=True))))
    report["report_path"] = str(write_report(settings, report, f"paper_{name}_ensemble_{session}"))
    return report


def vote_report(
    ens: EnsemblePolicy, store: StateStore, session: str, tickers: dict[str, str]
) -> dict[str, Any]:
    """``decisions``, ``order_votes`` and ``votes`` (see the module docstring) of the paper session
    ``session``; ``tickers``: venue symbol -> data ticker."""
    from sqlalchemy import select

    from cappuccino_core.state.schema import OrderRow

    records = ens.votes.records if ens.votes is not None else []
    with store.session() as s:
        rows = list(
            s.scalars(
                select(OrderRow)
                .where(OrderRow.model_run_id == session)
                .order_by(OrderRow.bar_time, OrderRow.created)
            )
        )
    by_key = {(r["time"], r["asset"]): r for r in records}
    placed = []
    for o in rows:
        bar = o.bar_time if o.bar_time.tzinfo else o.bar_time.replace(tzinfo=UTC)
        rec = by_key.get((int(bar.timestamp()) * 10**9, tickers.get(o.asset, o.asset)))
        placed.append(
            {
                "side": o.side,
                "qty": float(o.qty),
                "status": o.status,
                **(_dated(rec) if rec else {"time": bar.isoformat()}),
            }
        )

    def voted(rec: dict[str, Any], name: str) -> bool:
        return bool(rec.get("rl")) if name == "rl" else rec.get("p_up", {}).get(name) is not None

    members = {
        name: {"weight": round(w, 6), "decisions": sum(voted(r, name) for r in records),
               "orders": sum(voted(o, name) for o in placed)}
        for name, w in ens.weights.items()
    }  # fmt: skip
    signalled = sum(o.get("vote", 0) != 0 for o in placed)
    votes = {
        "decisions": len(records),
        "signals": sum(r["vote"] != 0 for r in records),
        "orders": len(placed),
        "orders_on_a_signal": signalled,
        "orders_without_a_signal": len(placed) - signalled,
        "members": members,
    }
    rl = [float(o["rl"]) for o in placed if o.get("rl") is not None]
    if rl:  # the RL member's action where an order was placed: its share moves the target weight
        votes["rl_action_on_orders"] = {"min": min(rl), "mean": sum(rl) / len(rl), "max": max(rl)}
    return {"votes": votes, "order_votes": placed, "decisions": [_dated(r) for r in records]}


def _dated(rec: dict[str, Any]) -> dict[str, Any]:
    """A vote record with its bar open time in ISO 8601."""
    return rec | {"time": datetime.fromtimestamp(rec["time"] / 1e9, UTC).isoformat()}
