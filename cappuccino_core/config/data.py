"""Market data: what to download, from where, and how to treat the real data's quirks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from cappuccino_core.config.base import Section

GapPolicy = Literal["error", "ffill"]
PlaceholderPolicy = Literal["error", "flag", "drop"]
LongGapPolicy = Literal["error", "segment"]
IncompletePolicy = Literal["drop", "flag"]


class DataConfig(Section):
    """Tickers, venue and validation/repair rules. Every repair is explicit and flagged."""

    venue: str = Field("binance", description="venue of the stored bars: binance | alpaca | coinbase | ...")
    tickers: list[str] = Field(
        default_factory=lambda: ["BTC/USDT", "ETH/USDT", "SOL/USDT", "LINK/USDT", "LTC/USDT", "ADA/USDT"],
        description="canonical symbols BASE/QUOTE, in model order (order matters; never sorted)",
    )
    timeframes: list[str] = Field(default_factory=lambda: ["1h"], description="timeframes to store")
    timeframe: str = Field("1h", description="default timeframe for features and training")
    stale_after_bars: int = Field(2, ge=1, description="last bar older than this many intervals is stale")
    gap_policy: GapPolicy = Field("ffill", description="'error' or forward-fill gaps (flag column)")
    max_ffill_bars: int = Field(3, ge=0, description="forward-fill at most this many missing bars")
    long_gap_policy: LongGapPolicy = Field(
        "error",
        description="under gap_policy='ffill', gaps longer than max_ffill_bars: 'error' refuses them; "
        "'segment' leaves them absent (logged) so alignment splits contiguous segments there "
        "(max_ffill_bars=0 + 'segment' = never fill, always split)",
    )
    resample_incomplete: IncompletePolicy = Field(
        "drop",
        description="coarse bars built from fewer fine bars than the ratio: drop them, or keep them "
        "flagged in an `incomplete` column",
    )
    placeholder_policy: PlaceholderPolicy = Field(
        "flag", description="zero-volume flat bars: error, flag (kept, flagged) or drop"
    )
    import_max_jump: float = Field(
        10.0,
        ge=0,
        description="`data import` refuses a file where a close moves by more than this factor from the "
        "previous close (a x50 spike is a bad print, not a market; wicks are not judged); 0 disables",
    )
    http_retries: int = Field(5, ge=0, description="retries on 429/5xx/timeouts")
    http_backoff_s: float = Field(0.5, ge=0, description="first backoff; doubles each retry")
    http_timeout_s: float = Field(10.0, gt=0, description="per-request timeout")
    source_url: str | None = Field(
        None,
        description="where the retrain downloads bars from instead of the venue's public endpoint (a proxy "
        "or the loopback market-data server): Alpaca scheme://host:port, Coinbase host:port",
    )
    source_ca_cert: str | None = Field(
        None, description="certificate the Coinbase download trusts (the loopback server's self-signed one)"
    )
    history_days: int = Field(
        730, ge=1, description="first download of a symbol with nothing stored: this many days back"
    )

    @field_validator("tickers")
    @classmethod
    def _tickers_unique(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one ticker is required")
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate tickers in {v}")
        return v
