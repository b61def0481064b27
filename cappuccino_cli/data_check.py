"""`cappuccino data check`: validate bar files or the whole store and report what is wrong with them.

Files (Feather/Parquet/CSV, or directories of them) name their symbol and timeframe:
``BINANCE_BTCUSDT_1h.feather`` (venue_pair_tf), ``BTC_USDT-1h.feather`` (freqtrade), ``BTCUSDT_1h.csv``
or the store layout ``{data_root}/bars/{venue}/{BASE-QUOTE}/{timeframe}.parquet``; ``--symbol`` and
``--timeframe`` override. Severities follow the ``[data]`` policy of the configuration (gap_policy,
max_ffill_bars, long_gap_policy, placeholder_policy): an error is what the repair step would refuse.
Exit code 0 when no dataset has an error-level problem, 1 otherwise (also for an unreadable file, and
for stale data with ``--fail-on-stale``), 2 for usage errors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.table import Table

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.bars import to_bar_frame
from cappuccino_core.data.timeframes import normalise_timeframe
from cappuccino_core.data.validate import ValidationReport, fmt_time, validate_bars

SUFFIXES = {
    ".feather": "ipc",
    ".arrow": "ipc",
    ".ipc": "ipc",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}
TIME_COLUMNS = ("time", "date", "timestamp", "datetime", "open_time")
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR", "GBP", "DAI", "BTC", "ETH", "BNB")
_TF = r"(\d+[mhdw])"


@dataclass
class Dataset:
    path: Path
    symbol: str
    timeframe: str
    venue: str | None = None

    @property
    def label(self) -> str:
        return f"{self.venue + ' ' if self.venue else ''}{self.symbol} {self.timeframe}"


def _pair(text: str) -> str | None:
    """'BTCUSDT' / 'BTC_USDT' / 'BTC-USDT' -> 'BTC/USDT' (None when it does not read as a pair)."""
    try:  # the project's symbol parser, when present
        from cappuccino_core.data.symbols import parse_symbol
    except ImportError:  # pragma: no cover - fallback before the symbols module lands
        t = text.upper()
        parts = re.split(r"[-_/]", t)
        if len(parts) == 2 and all(parts):
            return f"{parts[0]}/{parts[1]}"
        for q in _QUOTES:
            if t.endswith(q) and len(t) > len(q):
                return f"{t[: -len(q)]}/{q}"
        return None
    try:
        return str(parse_symbol(text))
    except ValueError:
        return None


def parse_dataset_name(path: Path) -> tuple[str | None, str | None, str | None]:
    """(venue, symbol, timeframe) from a file name or the store layout; None for what it does not tell."""
    stem = path.stem
    # store layout: .../bars/{venue}/{BASE-QUOTE}/{tf}.parquet
    if re.fullmatch(_TF, stem) and path.parent.name:
        sym = _pair(path.parent.name)
        if sym:
            return path.parent.parent.name or None, sym, normalise_timeframe(stem)
    m = re.fullmatch(r"([A-Za-z0-9]+)_([A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)_" + _TF, stem)  # BINANCE_BTCUSDT_1h
    if m and (sym := _pair(m.group(2))):
        return m.group(1).lower(), sym, normalise_timeframe(m.group(3))
    m = re.fullmatch(r"([A-Za-z0-9]+[-_][A-Za-z0-9]+)[-_]" + _TF, stem)  # BTC_USDT-1h (freqtrade)
    if m and (sym := _pair(m.group(1))):
        return None, sym, normalise_timeframe(m.group(2))
    m = re.fullmatch(r"([A-Za-z0-9]+)[-_]" + _TF, stem)  # BTCUSDT_1h
    if m and (sym := _pair(m.group(1))):
        return None, sym, normalise_timeframe(m.group(2))
    return None, None, None


def read_bar_file(path: Path) -> pl.DataFrame:
    """Read a Feather/Parquet/CSV bar file into the canonical frame (not sorted, not deduplicated).

    Uses the file source's reader (:mod:`cappuccino_core.data.sources.files`: also converts integer
    epochs) when it is installed, else reads datetime/ISO time columns itself.
    """
    try:
        from cappuccino_core.data.sources.files import read_bar_file as shared_reader
    except ImportError:  # pragma: no cover - fallback before the file source lands
        pass
    else:
        return shared_reader(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind == "ipc":
        raw = pl.read_ipc(path)
    elif kind == "parquet":
        raw = pl.read_parquet(path)
    elif kind == "csv":
        raw = pl.read_csv(path, try_parse_dates=True)
    else:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r} (Feather, Parquet or CSV)")
    lower = {c.lower(): c for c in raw.columns}
    raw = raw.rename({orig: low for low, orig in lower.items() if low != orig})
    time_col = next((c for c in TIME_COLUMNS if c in raw.columns), None)
    if time_col is None:
        raise ValueError(f"{path}: no time column (one of {TIME_COLUMNS}); have {raw.columns}")
    return to_bar_frame(raw, time_col=time_col, name=str(path))


def _store_datasets(data_root: Path) -> list[Dataset]:
    try:
        from cappuccino_core.data.store import BarStore
    except ImportError:  # pragma: no cover - until the store module lands: glob its layout
        files = sorted((data_root / "bars").glob("*/*/*.parquet"))
        out = []
        for f in files:
            if f.name.startswith("."):
                continue
            venue, sym, tf = parse_dataset_name(f)
            if sym and tf:
                out.append(Dataset(f, sym, tf, venue))
        return out
    return [Dataset(d.path, str(d.symbol), d.timeframe, d.venue) for d in BarStore(data_root).datasets()]


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES and f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise fail(f"{p}: no such file or directory")
    return out


def _parse_now(now: str | None) -> datetime | None:
    if now is None:
        return None
    try:
        t = datetime.fromisoformat(now.strip().replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--now {now!r}: not an ISO time (e.g. 2025-07-01T00:00 or ...+00:00)") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _other_errors(r: ValidationReport) -> str:
    parts = [
        f"{n} {k}"
        for k, n in (
            ("nan", len(r.nan)),
            ("inf", len(r.inf)),
            ("non-positive", len(r.non_positive)),
            ("high/low", len(r.high_low)),
            ("conflicting dup", len(r.conflicting_duplicates)),
            ("misaligned", len(r.misaligned)),
            ("out-of-order", len(r.out_of_order)),
        )
        if n
    ]
    return ", ".join(parts) or "-"


_STYLE = {"OK": "green", "WARN": "yellow", "ERROR": "red"}


def _table(results: list[tuple[Dataset, ValidationReport | None, str | None]]) -> Table:
    t = Table(title="bar data check", show_lines=False)
    for col, just in (
        ("dataset", "left"),
        ("rows", "right"),
        ("first (UTC)", "left"),
        ("last (UTC)", "left"),
        ("gaps", "right"),
        ("missing", "right"),
        ("largest gap", "left"),
        ("dups", "right"),
        ("placeholders", "right"),
        ("other", "left"),
        ("age (bars)", "right"),
        ("status", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=col != "other")  # type: ignore[arg-type]
    for ds, r, _err in results:
        name = ds.path.name if ds.path.name != f"{ds.timeframe}.parquet" else ds.label
        if r is None:
            t.add_row(name, *["-"] * 9, "-", "[red]UNREADABLE[/red]")
            continue
        lg = r.largest_gap
        age = r.age_bars
        age_txt = "-" if age is None else f"{age:,.1f}" + (" stale" if r.stale else "")
        t.add_row(
            name,
            f"{r.rows:,}",
            fmt_time(r.first),
            fmt_time(r.last),
            str(len(r.gaps)),
            str(r.missing_bars),
            f"{lg.missing} @ {fmt_time(lg.start)}" if lg else "-",
            str(len(r.duplicates)),
            str(len(r.placeholders)),
            _other_errors(r),
            age_txt,
            f"[{_STYLE[r.status]}]{r.status}[/{_STYLE[r.status]}]",
        )
    return t


def _details(r: ValidationReport) -> Table:
    t = Table(title=r.where, title_justify="left")
    for col in ("kind", "severity", "time (UTC)", "end (UTC)", "bars", "detail"):
        t.add_column(col)
    for row in r.to_frame().iter_rows(named=True):
        style = "red" if row["severity"] == "error" else "yellow"
        t.add_row(
            row["kind"],
            f"[{style}]{row['severity']}[/{style}]",
            fmt_time(row["time"]),
            fmt_time(row["end"]),
            str(row["bars"]),
            row["detail"],
        )
    return t


def check(
    paths: list[Path] | None = typer.Argument(  # noqa: B008
        None, help="Feather/Parquet/CSV files or directories; none: every dataset in the store."
    ),
    store: bool = typer.Option(False, "--store", help="Check every dataset in the store (with PATHS too)."),
    config: Path | None = ConfigOption,
    json_out: bool = typer.Option(False, "--json", help="Print the reports as JSON instead of tables."),
    now: str | None = typer.Option(
        None, "--now", help="Evaluate staleness at this UTC time (ISO 8601) instead of the current time."
    ),
    details: bool = typer.Option(False, "--details", "-d", help="List every finding with its timestamps."),
    symbol: str | None = typer.Option(None, "--symbol", help="Symbol for files whose name does not tell it."),
    timeframe: str | None = typer.Option(
        None, "--timeframe", help="Timeframe for files whose name does not tell it."
    ),
    fail_on_stale: bool = typer.Option(False, "--fail-on-stale", help="Exit 1 when any dataset is stale."),
) -> None:
    settings = settings_or_exit(config)
    cfg: DataConfig = settings.data
    at = _parse_now(now)
    datasets: list[Dataset] = []
    problems: list[tuple[Dataset, ValidationReport | None, str | None]] = []
    for p in _expand(list(paths or [])):
        venue, sym, tf = parse_dataset_name(p)
        sym = (_pair(symbol) or symbol) if symbol else sym
        tf = normalise_timeframe(timeframe) if timeframe else tf
        if not sym or not tf:
            raise fail(
                f"{p}: cannot tell symbol/timeframe from the name (e.g. BINANCE_BTCUSDT_1h.feather); "
                "pass --symbol and --timeframe"
            )
        datasets.append(Dataset(p, sym, tf, venue))
    if store or not paths:
        found = _store_datasets(settings.paths.data_root)
        if not found and not datasets:
            bars = settings.paths.data_root / "bars"
            raise fail(f"nothing to check: no PATHS and no datasets under {bars}")
        datasets.extend(found)

    for ds in datasets:
        try:
            frame = read_bar_file(ds.path)
            rep = validate_bars(
                frame,
                ds.symbol,
                ds.timeframe,
                now=at,
                stale_after_bars=cfg.stale_after_bars,
                config=cfg,
                source=str(ds.path),
            )
            problems.append((ds, rep, None))
        except Exception as exc:  # unreadable file: an error for this dataset, the others still checked
            problems.append((ds, None, f"{type(exc).__name__}: {exc}"))

    failed = any(r is None or not r.ok or (fail_on_stale and r.stale) for _, r, _ in problems)
    if json_out:
        doc: dict[str, Any] = {
            "ok": not failed,
            "datasets": [
                {
                    "path": str(ds.path),
                    "venue": ds.venue,
                    **(
                        r.to_dict()
                        if r
                        else {
                            "symbol": ds.symbol,
                            "timeframe": ds.timeframe,
                            "status": "UNREADABLE",
                            "ok": False,
                            "errors": [err],
                        }
                    ),
                }
                for ds, r, err in problems
            ],
        }
        typer.echo(json.dumps(doc, indent=2, default=str))
    else:
        console.print(_table(problems))
        for ds, r, err in problems:
            if r is None:
                console.print(f"[red]{ds.path}: {err}[/red]")
            elif details:
                console.print(_details(r))
            else:
                for prob in r.errors():
                    console.print(f"[red]ERROR[/red] {r.where}: {prob.kind}: {prob.message}")
        pol = (
            f"policy: gap_policy={cfg.gap_policy}, max_ffill_bars={cfg.max_ffill_bars}, "
            f"long_gap_policy={cfg.long_gap_policy}, placeholder_policy={cfg.placeholder_policy}, "
            f"stale_after_bars={cfg.stale_after_bars}, now={fmt_time(at) if at else 'current time'}"
        )
        console.print(f"[dim]{pol}[/dim]")
        if not details and any(r is not None and r.problems() for _, r, _ in problems):
            console.print("[dim]--details lists every finding with its timestamps[/dim]")
    raise typer.Exit(1 if failed else 0)
