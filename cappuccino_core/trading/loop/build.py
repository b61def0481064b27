"""One factory for every trading session: paper replays, `trade live`, the hourly trade flow.

:func:`open_session` builds the whole chain once, the same way for every entry point: the live guard (a
broker that can touch real money needs the grant), the broker from the factory, the capital cap, the
decision (trend baseline, a registered model or an ensemble, features from the model's FeatureSpec), the
env the decision trades under (a model's trained env: its hold band, decision interval, cash reserve; the
configured capital and venue minimums), the conviction filter, the risk manager (its state restored from
the state store when the loop takes the account's lease), the configured slippage, and the bar loop over
the state store. So a rule or a guard exists in one place, and the same bars give the same orders whichever
path trades them (tests/unit/trading/test_session_factory.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cappuccino_core.common.policy import policy_env
from cappuccino_core.config.settings import Settings
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.base import BarAware, Broker, Closable
from cappuccino_core.trading.brokers.factory import canonical_name, make_broker, venue_symbol
from cappuccino_core.trading.brokers.live_guard import LiveGrant, require_grant
from cappuccino_core.trading.loop.live import CappedBroker
from cappuccino_core.trading.loop.replay import ReplayBars, conviction_hook
from cappuccino_core.trading.loop.trader import BarLoop, TickResult
from cappuccino_core.trading.risk import RiskManager


@dataclass
class TradingSession:
    """A built session: ``loop`` trades through ``broker`` (the capped view of ``raw``) on ``bars``."""

    loop: BarLoop
    broker: Broker
    raw: Broker
    bars: ReplayBars
    timeframe: str
    model: str
    owns_broker: bool = True

    @property
    def run_id(self) -> str:
        """The id the loop keys its client order ids by."""
        return self.loop.run_id

    def tick(self, t: int, now_ns: int | None = None) -> TickResult:
        """Trade closed bar ``t`` of ``bars`` (``now_ns``: default its close time). A simulated venue learns
        the bar first (prices, clock, resting limits), as in a replay."""
        bar_ns = self.loop.bar_ns
        ts = int(self.bars.times[t])
        if isinstance(self.loop.broker, BarAware):
            close = dict(zip(self.loop.assets, self.bars.close[t], strict=True))
            self.loop.broker.on_bar(datetime.fromtimestamp((ts + bar_ns) / 1e9, UTC), close)
        return self.loop.on_bar(t, ts, self.bars.close[t], ts + bar_ns if now_ns is None else now_ns)

    def close(self) -> None:
        """Close the loop (flush, release the lease), then the broker when the session built it."""
        try:
            self.loop.close()
        finally:
            if self.owns_broker and isinstance(self.raw, Closable):
                self.raw.close()

    def __enter__(self) -> TradingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(
    settings: Settings,
    broker: str,
    model: str,
    bars: ReplayBars,
    timeframe: str,
    *,
    run_id: str | None = None,
    capital_fraction: float = 1.0,
    grant: LiveGrant | None = None,
    exchange_url: str | None = None,
    ca_cert: str | None = None,
    venue: str | None = None,
    equity_flush_bars: int = 1,
    connected: Broker | None = None,
) -> TradingSession:
    """The session for ``model`` on ``broker`` over ``bars``. ``run_id`` (default: the model's id) keys the
    orders' client ids; ``connected``: an already built broker to use (then not closed with the session).
    LiveRefused before anything is built when the broker can touch real money without ``grant``."""
    name = canonical_name(broker)
    require_grant(settings, name, exchange_url, grant)
    if grant is not None:
        capital_fraction = min(capital_fraction, grant.capital_fraction)
    from cappuccino_core.trading.loop.session import decider  # the model loader lives with the reports

    assets = tuple(venue_symbol(t, name) for t in bars.tickers)
    raw = connected
    if raw is None:
        frames = bars.frames if name == "local" else None
        raw = make_broker(settings, name, exchange_url=exchange_url, ca_cert=ca_cert, venue=venue,
                          grant=grant, frames=frames)  # fmt: skip
    try:
        capped: Broker = raw if capital_fraction >= 1 else CappedBroker(raw, capital_fraction)
        decide, label = decider(settings, model, bars, capped, assets)
        conviction = settings.risk.conviction
        risk = RiskManager.from_config(settings.risk)
        env = policy_env(decide, settings.env)  # a model trades under the env it was trained with
        loop = BarLoop(
            capped, StateStore(settings.paths.state_url), risk, env, bars.tickers, decide,
            run_id=run_id or label, bar_ns=timeframe_seconds(timeframe) * 10**9,
            max_age_s=settings.risk.max_bar_age_s, equity_flush_bars=equity_flush_bars, assets=assets,
            conviction=conviction_hook(conviction, bars) if conviction.enabled else None,
            slippage=settings.costs.slippage_bps / 1e4, lease_ttl_s=settings.trading.lease_ttl_s,
            model=label,
        )  # fmt: skip
        from cappuccino_core.notify import notifier_from_settings

        loop.notifier = notifier_from_settings(settings)
    except BaseException:
        if connected is None and isinstance(raw, Closable):
            raw.close()
        raise
    return TradingSession(loop, capped, raw, bars, timeframe, label, owns_broker=connected is None)
