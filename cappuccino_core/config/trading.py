"""Trading settings (owned by the trading stage; add fields with a description each)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cappuccino_core.config.base import Section


class TradingConfig(Section):
    """``[trading]``: brokers, the bar loop's schedule and limits, order placement and retries, reports."""

    broker: Literal["sim", "alpaca-paper", "coinbase"] = Field(
        "alpaca-paper",
        description="broker of the hourly trader: alpaca-paper (Alpaca paper API, the default), coinbase "
        "(live, needs the green light) or sim (in-process; backtests and offline demos)",
    )
    live_broker: Literal["coinbase"] = Field(
        "coinbase",
        description="the venue the hourly trader uses for real money, when the production model also holds "
        "the live role with capital and live trading is enabled (real-money paths still pass the live guard)",
    )
    client_id_prefix: str = Field(
        "cap", min_length=1, max_length=16, description="prefix of every deterministic client order id"
    )
    client_id_digest_chars: int = Field(
        24, ge=8, le=48, description="hex characters of the hash in a client order id"
    )
    alpaca_url_override: str | None = Field(
        None, description="Alpaca trading base URL (scheme://host:port, no version); None: paper endpoint"
    )
    coinbase_base_url: str = Field(
        "api.coinbase.com", description="Coinbase Advanced host[:port] (no scheme; the SDK adds https)"
    )
    coinbase_cert_path: str | None = Field(
        None, description="CA/certificate file the Coinbase client trusts (loopback self-signed cert)"
    )
    request_timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one broker request, seconds")
    submit_attempts: int = Field(
        4, ge=1, le=20, description="tries to place one order (each retry first looks the order up by id)"
    )
    retry_wait_s: float = Field(1.0, ge=0, description="first wait between retries (doubles each time)")
    retry_wait_max_s: float = Field(30.0, ge=0, description="cap of the wait between retries, seconds")
    maker_first: bool = Field(
        True, description="coinbase: work market orders as post-only limits at the touch first"
    )
    maker_wait_s: float = Field(
        30.0, ge=0, description="how long a maker quote may rest before it is canceled and re-quoted"
    )
    maker_poll_s: float = Field(2.0, gt=0, description="how often a resting maker quote is checked, seconds")
    maker_cancel_wait_s: float = Field(
        10.0,
        ge=0,
        description="after canceling a maker quote, how long to poll for a final state; a leg still live "
        "after this stops the order (no further leg, an error the loop reports)",
    )
    maker_requotes: int = Field(
        2, ge=0, le=20, description="maker re-quotes after the first quote (post-only rejected or unfilled)"
    )
    maker_fallback: Literal["market", "cancel"] = Field(
        "market", description="what to do with the rest after the last maker quote: take it, or give up"
    )
    sim_spread_bps: float = Field(
        2.0, ge=0, description="sim broker and loopback exchange: full bid-ask spread around the close, bps"
    )
    live_enabled: bool = Field(
        False,
        description="allow `cappuccino trade live` at all (it also needs --confirm-live and a model holding "
        "the arena's live role); false: paper only",
    )
    paper_hosts: list[str] = Field(
        default_factory=list,
        description="broker hosts declared paper besides the loopback addresses, Alpaca's paper host and "
        "Coinbase's sandbox (e.g. a loopback exchange in another container); any other host is live",
    )
    lease_ttl_s: float = Field(
        120.0,
        gt=0,
        description="one trader per account: a trader's lease in the state store expires this many seconds "
        "after its last heartbeat (renewed every bar); a second trader refuses to start while it holds",
    )
    local_venue: Literal["alpaca", "coinbase"] = Field(
        "alpaca", description="which venue's wire the in-process loopback exchange speaks for --broker local"
    )
    mtf_strategic_model: str | None = Field(
        None,
        description="run id of a coarser (e.g. 1h) strategic model: when set, the hourly trader and `trade "
        "live` run the multi-timeframe ensemble (mtf:<model>,<this>), trading only where both agree",
    )
    reports_subdir: str = Field(
        "trading", min_length=1, description="paper/live reports go to <paths.reports_dir>/<reports_subdir>/"
    )
