"""The validation report: problems found in one bar frame, with severities, timestamps and renderings.

Built by :func:`cappuccino_core.data.validate.validate_bars`; see that module for what is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import polars as pl

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.timeframes import timeframe_seconds

Severity = Literal["error", "warning"]
_MONDAY_OFFSET_US = 4 * 86400 * 1_000_000  # 1970-01-01 was a Thursday; weekly bars open on Monday
_SHOW = 5  # timestamps quoted in one message
_DETAIL = {
    "nan": "NaN/null value",
    "inf": "infinite value",
    "non_positive": "price <= 0 or negative volume",
    "high_low": "high/low do not bound open/close",
    "misaligned": "time off the timeframe grid",
    "out_of_order": "earlier than the previous row",
    "placeholders": "zero-volume flat bar",
}


class DataValidationError(ValueError):
    """Bars that the configured policy refuses. The message names the file/symbol and the timestamps."""

    def __init__(self, message: str, *, where: str = "", problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.problems = list(problems or [])


@dataclass(frozen=True)
class Gap:
    """A run of absent bars: ``start`` and ``end`` are the open times of the first and last missing bar."""

    start: datetime
    end: datetime
    missing: int

    def to_dict(self) -> dict[str, Any]:
        """The gap as JSON-ready values (ISO times)."""
        return {"start": _iso(self.start), "end": _iso(self.end), "missing": self.missing}


@dataclass(frozen=True)
class Problem:
    """One kind of problem found in a frame, its severity under the policy, and where."""

    kind: str
    severity: Severity
    times: tuple[datetime, ...]
    message: str


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat()


def fmt_time(t: datetime | None) -> str:
    """Compact UTC timestamp for messages and tables."""
    if t is None:
        return "-"
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M") if t.second == 0 else t.strftime("%Y-%m-%d %H:%M:%S")


def _quote(times: list[datetime] | tuple[datetime, ...]) -> str:
    shown = ", ".join(fmt_time(t) for t in times[:_SHOW])
    more = len(times) - _SHOW
    return shown + (f" (+{more} more)" if more > 0 else "")


@dataclass
class ValidationReport:
    """Everything :func:`validate_bars` found in one dataset. Lists hold UTC bar open times."""

    symbol: str
    timeframe: str
    rows: int
    first: datetime | None
    last: datetime | None
    now: datetime
    stale_after_bars: int
    policy: DataConfig
    source: str | None = None
    gaps: list[Gap] = field(default_factory=list)
    duplicates: list[datetime] = field(default_factory=list)
    conflicting_duplicates: list[datetime] = field(default_factory=list)
    nan: list[datetime] = field(default_factory=list)
    inf: list[datetime] = field(default_factory=list)
    non_positive: list[datetime] = field(default_factory=list)
    high_low: list[datetime] = field(default_factory=list)
    out_of_order: list[datetime] = field(default_factory=list)
    misaligned: list[datetime] = field(default_factory=list)
    placeholders: list[datetime] = field(default_factory=list)
    filled: int = 0  # rows already flagged `filled` by an earlier repair (information, not a problem)

    # ----------------------------------------------------------------------------------------- derived
    @property
    def where(self) -> str:
        """How messages name the dataset: the file when known, else symbol and timeframe."""
        base = f"{self.symbol} {self.timeframe}"
        return f"{self.source} ({base})" if self.source else base

    @property
    def interval(self) -> timedelta:
        """The timeframe as a duration."""
        return timedelta(seconds=timeframe_seconds(self.timeframe))

    @property
    def missing_bars(self) -> int:
        """Absent bars over all gaps."""
        return sum(g.missing for g in self.gaps)

    @property
    def largest_gap(self) -> Gap | None:
        """The gap with the most missing bars (the earliest of equals), None without gaps."""
        return max(self.gaps, key=lambda g: (g.missing, -g.start.timestamp()), default=None)

    @property
    def age(self) -> timedelta | None:
        """``now`` minus the last bar's open time."""
        return None if self.last is None else self.now - self.last

    @property
    def age_bars(self) -> float | None:
        """Age of the last bar in intervals at ``now``; None without bars."""
        age = self.age
        return None if age is None else age / self.interval

    @property
    def stale(self) -> bool:
        """Whether the last bar is more than ``stale_after_bars`` intervals old."""
        age = self.age_bars
        return age is not None and age > self.stale_after_bars

    def long_gaps(self) -> list[Gap]:
        """Gaps that forward-filling will not close under the policy (all gaps under gap_policy='error')."""
        if self.policy.gap_policy == "error":
            return list(self.gaps)
        return [g for g in self.gaps if g.missing > self.policy.max_ffill_bars]

    def problems(self) -> list[Problem]:
        """Every finding with its severity under the policy, errors first."""
        out: list[Problem] = []
        pol = self.policy

        def add(kind: str, sev: Severity, times: list[datetime], what: str) -> None:
            if times:
                out.append(Problem(kind, sev, tuple(times), f"{len(times)} {what} at {_quote(times)}"))

        if self.rows == 0:
            out.append(Problem("empty", "error", (), "no rows"))
        add("nan", "error", self.nan, "row(s) with NaN/null values")
        add("inf", "error", self.inf, "row(s) with infinite values")
        add("non_positive", "error", self.non_positive, "row(s) with a price <= 0 or a negative volume")
        add("high_low", "error", self.high_low, "row(s) violating low <= open, close <= high")
        add(
            "conflicting_duplicates",
            "error",
            self.conflicting_duplicates,
            "duplicate timestamp(s) with different values",
        )
        add("misaligned", "error", self.misaligned, f"timestamp(s) off the {self.timeframe} grid")
        exact = sorted(set(self.duplicates) - set(self.conflicting_duplicates))
        add("duplicates", "warning", exact, "exact duplicate timestamp(s) (repair keeps one)")
        add(
            "out_of_order",
            "warning",
            self.out_of_order,
            "row(s) earlier than the previous row (repair sorts)",
        )
        out.extend(self._gap_problems())
        ph_sev: Severity = "error" if pol.placeholder_policy == "error" else "warning"
        add(
            "placeholders",
            ph_sev,
            self.placeholders,
            f"zero-volume flat placeholder bar(s) (placeholder_policy='{pol.placeholder_policy}')",
        )
        if self.stale and self.last is not None:
            out.append(
                Problem(
                    "stale",
                    "warning",
                    (self.last,),
                    f"last bar {fmt_time(self.last)} is {self.age_bars:.1f} bars old at {fmt_time(self.now)} "
                    f"(limit {self.stale_after_bars})",
                )
            )
        out.sort(key=lambda p: p.severity != "error")
        return out

    def _gap_problems(self) -> list[Problem]:
        """Gaps forward-filling will not close (severity by the policy), then the ones it will."""
        out: list[Problem] = []
        pol = self.policy
        long = self.long_gaps()
        short = [g for g in self.gaps if g not in set(long)]
        if long:
            if pol.gap_policy == "error":
                sev: Severity = "error"
                why = "gap_policy='error'"
            elif pol.long_gap_policy == "error":
                sev = "error"
                why = (
                    f"longer than max_ffill_bars={pol.max_ffill_bars} (long_gap_policy='segment' keeps "
                    "them as segment breaks)"
                )
            else:
                sev, why = "warning", "kept as segment breaks (long_gap_policy='segment')"
            worst = max(long, key=lambda g: g.missing)
            out.append(
                Problem(
                    "gaps",
                    sev,
                    tuple(g.start for g in long),
                    f"{len(long)} gap(s), {sum(g.missing for g in long)} missing bar(s), {why}; largest "
                    f"{worst.missing} bar(s) {fmt_time(worst.start)}..{fmt_time(worst.end)}; starting at "
                    f"{_quote([g.start for g in long])}",
                )
            )
        if short:
            out.append(
                Problem(
                    "gaps_fillable",
                    "warning",
                    tuple(g.start for g in short),
                    f"{len(short)} gap(s) of <= {pol.max_ffill_bars} bar(s), {sum(g.missing for g in short)} "
                    f"missing bar(s) (repair forward-fills, flagged `filled`) starting at "
                    f"{_quote([g.start for g in short])}",
                )
            )
        return out

    def errors(self) -> list[Problem]:
        """The error-level problems under the policy."""
        return [p for p in self.problems() if p.severity == "error"]

    def warnings(self) -> list[Problem]:
        """The warning-level problems under the policy."""
        return [p for p in self.problems() if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """No error-level problem under the policy (warnings such as staleness allowed)."""
        return not self.errors()

    @property
    def status(self) -> str:
        """``ERROR`` with any error, else ``WARN`` with any warning, else ``OK``."""
        probs = self.problems()
        if any(p.severity == "error" for p in probs):
            return "ERROR"
        return "WARN" if probs else "OK"

    def counts(self) -> dict[str, int]:
        """How many of each finding (rows, gaps, missing bars, duplicates, ...), for tables and JSON."""
        return {
            "rows": self.rows,
            "gaps": len(self.gaps),
            "missing_bars": self.missing_bars,
            "duplicates": len(self.duplicates),
            "conflicting_duplicates": len(self.conflicting_duplicates),
            "nan": len(self.nan),
            "inf": len(self.inf),
            "non_positive": len(self.non_positive),
            "high_low": len(self.high_low),
            "out_of_order": len(self.out_of_order),
            "misaligned": len(self.misaligned),
            "placeholders": len(self.placeholders),
            "filled": self.filled,
        }

    # ------------------------------------------------------------------------------------------ output
    def to_frame(self) -> pl.DataFrame:
        """One row per finding: kind, severity, time (gap start), end (gap end), bars, detail."""
        sev = {p.kind: p.severity for p in self.problems()}
        long = set(self.long_gaps())
        rows: list[dict[str, Any]] = []
        for g in self.gaps:
            kind = "gaps" if g in long else "gaps_fillable"
            rows.append(
                {
                    "kind": kind,
                    "severity": sev.get(kind, "warning"),
                    "time": g.start,
                    "end": g.end,
                    "bars": g.missing,
                    "detail": f"{g.missing} missing bar(s)",
                }
            )
        conflicting = set(self.conflicting_duplicates)
        for kind, times in (
            ("nan", self.nan),
            ("inf", self.inf),
            ("non_positive", self.non_positive),
            ("high_low", self.high_low),
            ("misaligned", self.misaligned),
            ("out_of_order", self.out_of_order),
            ("placeholders", self.placeholders),
        ):
            rows.extend(
                {
                    "kind": kind,
                    "severity": sev.get(kind, "warning"),
                    "time": t,
                    "end": t,
                    "bars": 1,
                    "detail": _DETAIL[kind],
                }
                for t in times
            )
        for t in self.duplicates:
            kind = "conflicting_duplicates" if t in conflicting else "duplicates"
            detail = "duplicate timestamp" + (" with different values" if t in conflicting else "")
            rows.append(
                {
                    "kind": kind,
                    "severity": sev.get(kind, "warning"),
                    "time": t,
                    "end": t,
                    "bars": 1,
                    "detail": detail,
                }
            )
        if self.stale and self.last is not None:
            rows.append(
                {
                    "kind": "stale",
                    "severity": "warning",
                    "time": self.last,
                    "end": self.now,
                    "bars": int(self.age_bars or 0),
                    "detail": f"{self.age_bars:.1f} bars old",
                }
            )
        schema = {
            "kind": pl.String(),
            "severity": pl.String(),
            "time": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
            "bars": pl.Int64(),
            "detail": pl.String(),
        }
        return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, every finding with ISO timestamps, the policy used, errors and warnings."""
        lg = self.largest_gap
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "source": self.source,
            "status": self.status,
            "ok": self.ok,
            "first": _iso(self.first),
            "last": _iso(self.last),
            "now": _iso(self.now),
            "counts": self.counts(),
            "largest_gap": lg.to_dict() if lg else None,
            "gaps": [g.to_dict() for g in self.gaps],
            "duplicates": [_iso(t) for t in self.duplicates],
            "conflicting_duplicates": [_iso(t) for t in self.conflicting_duplicates],
            "nan": [_iso(t) for t in self.nan],
            "inf": [_iso(t) for t in self.inf],
            "non_positive": [_iso(t) for t in self.non_positive],
            "high_low": [_iso(t) for t in self.high_low],
            "out_of_order": [_iso(t) for t in self.out_of_order],
            "misaligned": [_iso(t) for t in self.misaligned],
            "placeholders": [_iso(t) for t in self.placeholders],
            "stale": self.stale,
            "age_bars": self.age_bars,
            "stale_after_bars": self.stale_after_bars,
            "policy": {
                "gap_policy": self.policy.gap_policy,
                "max_ffill_bars": self.policy.max_ffill_bars,
                "long_gap_policy": self.policy.long_gap_policy,
                "placeholder_policy": self.policy.placeholder_policy,
            },
            "errors": [p.message for p in self.errors()],
            "warnings": [p.message for p in self.warnings()],
        }

    def summary(self) -> str:
        """A few lines a person reads: status, span, then one line per problem."""
        head = (
            f"{self.where}: {self.status}, {self.rows} rows, {fmt_time(self.first)} .. "
            f"{fmt_time(self.last)}, {len(self.gaps)} gap(s) / {self.missing_bars} missing bar(s)"
        )
        lines = [head] + [f"  {p.severity.upper():7s} {p.kind}: {p.message}" for p in self.problems()]
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise :class:`DataValidationError` listing every error-level problem, if any."""
        errs = self.errors()
        if errs:
            raise DataValidationError(
                f"{self.where}: " + "; ".join(f"{p.kind}: {p.message}" for p in errs),
                where=self.where,
                problems=errs,
            )
