"""Time-of-day size reduction: in configured volatile hours, buys are cut to ``factor`` of their size.

The first rule with its own settings (``risk.rules.time_of_day``); off unless that entry is present::

    [risk.rules.time_of_day]
    windows = [[9, 10], [15, 16]]
    factor = 0.5
    timezone = "UTC"

``windows`` are half-open local hours ``[start, end)`` (``[9, 10]`` is 09:00 to 09:59) in ``timezone`` (an
IANA name, daylight saving followed; default UTC, the clock of every other rule, of the bars and of the
reports). Only buys shrink (new exposure); exits are never cut. The cut buy is rounded down to whole lots
and dropped when under the minimum order value. It runs after the max trade size (so a capped buy is cut
again) and before the position cap and the minimum trade value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from pydantic import Field, field_validator

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk.base import NS_PER_HOUR, ConfiguredRule, RuleSettings, risk_rule


class TimeOfDaySettings(RuleSettings):
    """Settings of :class:`TimeOfDaySizeReduction` (``risk.rules.time_of_day``)."""

    windows: tuple[tuple[int, int], ...] = Field(
        ((9, 10), (15, 16)), description="volatile local hours, each [start, end) with 0 <= start < end <= 24"
    )
    factor: float = Field(0.5, gt=0, le=1, description="buys in a volatile hour are cut to this fraction")
    timezone: str = Field("UTC", description="IANA time zone the hours are read in (e.g. America/New_York)")

    @field_validator("windows")
    @classmethod
    def _hours(cls, v: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        for start, end in v:
            if not 0 <= start < end <= 24:
                raise ValueError(f"window [{start}, {end}] must satisfy 0 <= start < end <= 24")
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {v!r} is not an IANA time zone name") from None
        return v


@risk_rule
class TimeOfDaySizeReduction(ConfiguredRule):
    """Cuts buys to ``factor`` of their size while the bar's local hour is in a volatile window."""

    name = "time_of_day"
    stage = 85
    Settings = TimeOfDaySettings
    settings: TimeOfDaySettings

    def local_hour(self, time: np.ndarray) -> np.ndarray:
        """(N,) local hour 0..23 of int64 ns UTC times."""
        t = np.asarray(time, np.int64)
        if self.settings.timezone == "UTC":
            return (t // NS_PER_HOUR) % 24
        zone = ZoneInfo(self.settings.timezone)
        uniq, inv = np.unique(t, return_inverse=True)
        hours = [datetime.fromtimestamp(int(x) // 10**9, UTC).astimezone(zone).hour for x in uniq]
        return np.asarray(hours, np.int64)[inv.reshape(t.shape)]

    def volatile(self, time: np.ndarray) -> np.ndarray:
        """(N,) bool: the bar's local hour lies in one of the windows."""
        h = self.local_hour(time)
        out = np.zeros(h.shape, bool)
        for start, end in self.settings.windows:
            out |= (h >= start) & (h < end)
        return out

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        hot = self.volatile(ctx.time)
        if not hot.any():
            return qty
        cut = hot[:, None] & (qty > 0)
        smaller = ctx.legal_buy(np.where(cut, qty * self.settings.factor, 0.0))
        return np.where(cut, smaller, qty)
