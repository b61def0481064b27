"""The data window of the stored bars and the freshness rule the monthly retrain enforces.

:func:`data_window` describes, per configured symbol, the stored bars (first and last open time, rows) and
their age; :func:`require_fresh` refuses to go on when any symbol's last bar is older than
``data.stale_after_bars`` intervals (with closed bars only, an up-to-date dataset reads between 1 and 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from cappuccino_core.data.store import BarStore
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds


class StaleData(RuntimeError):
    """The newest stored bars are too old to train on."""


@dataclass(frozen=True)
class SymbolWindow:
    """The stored bars of one symbol: first and last bar, count, and the last bar's age."""

    venue: str
    symbol: str
    timeframe: str
    first: datetime | None
    last: datetime | None
    bars: int
    age_h: float | None  # hours since the last bar opened; None when nothing is stored
    stale: bool

    def describe(self) -> str:
        """One line: the last bar and its age, or that nothing is stored."""
        if self.last is None:
            return f"{self.venue} {self.symbol} {self.timeframe}: no stored bars"
        return (
            f"{self.venue} {self.symbol} {self.timeframe}: last bar {self.last:%Y-%m-%d %H:%M} UTC, "
            f"{self.age_h:.1f} h old"
        )

    def row(self) -> dict[str, object]:
        """The window as a table row (times as ``YYYY-MM-DD HH:MM``, age rounded to 0.1 h)."""
        d = asdict(self)
        d["first"] = f"{self.first:%Y-%m-%d %H:%M}" if self.first else None
        d["last"] = f"{self.last:%Y-%m-%d %H:%M}" if self.last else None
        d["age_h"] = round(self.age_h, 1) if self.age_h is not None else None
        return d


def data_window(
    store: BarStore,
    venue: str,
    symbols: Sequence[str],
    timeframe: str,
    stale_after_bars: int,
    now: datetime | None = None,
) -> list[SymbolWindow]:
    """One :class:`SymbolWindow` per symbol (in the given order) at ``timeframe`` in ``venue``'s store."""
    tf = normalise_timeframe(timeframe)
    now = now.astimezone(UTC) if now is not None else datetime.now(UTC)
    infos = {(str(i.symbol), i.timeframe): i for i in store.datasets(venue)}
    limit_h = stale_after_bars * timeframe_seconds(tf) / 3600
    out = []
    for s in symbols:
        sym = str(parse_symbol(s))
        info = infos.get((sym, tf))
        if info is None or info.last is None:
            out.append(SymbolWindow(venue, sym, tf, None, None, 0, None, True))
            continue
        age_h = (now - info.last).total_seconds() / 3600
        out.append(SymbolWindow(venue, sym, tf, info.first, info.last, info.rows, age_h, age_h > limit_h))
    return out


def require_fresh(windows: Sequence[SymbolWindow], stale_after_bars: int) -> None:
    """Raise :class:`StaleData` naming every stale symbol, its last bar and its age."""
    stale = [w for w in windows if w.stale]
    if stale:
        tf = stale[0].timeframe
        limit_h = stale_after_bars * timeframe_seconds(tf) / 3600
        raise StaleData(
            "refusing to train on stale data (limit: last bar at most "
            f"{stale_after_bars} x {tf} = {limit_h:g} h old): " + "; ".join(w.describe() for w in stale)
        )


def window_span(windows: Sequence[SymbolWindow]) -> tuple[datetime, datetime]:
    """(first, last) bar time common to every symbol: the latest first bar and the earliest last bar."""
    firsts = [w.first for w in windows if w.first is not None]
    lasts = [w.last for w in windows if w.last is not None]
    if not firsts or len(lasts) != len(windows):
        raise StaleData("no stored bars for: " + ", ".join(w.symbol for w in windows if w.last is None))
    return max(firsts), min(lasts)
