"""`cappuccino data check`: validate bar files or the whole store and report what is wrong with them.

Files (Feather/Parquet/CSV, or directories of them) name their symbol and timeframe by the data layer's one
grammar: ``BINANCE_BTCUSDT_1h.feather`` (venue_pair_tf), ``BTC_USDT-1h.feather`` (freqtrade) or the store
layout ``{data_root}/bars/{venue}/{BASE-QUOTE}/{timeframe}.parquet``; ``--symbol`` and ``--timeframe``
override (and name a file whose name tells neither). Files are read by the file source's reader.
Severities follow the ``[data]`` policy of the configuration (gap_policy, max_ffill_bars, long_gap_policy,
placeholder_policy): an error is what the repair step would refuse. Exit code 0 when no dataset has an
error-level problem, 1 otherwise (also for an unreadable file, and for stale data with ``--fail-on-stale``),
2 for usage errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.sources.files import is_bar_file, parse_file_name, read_bar_file
from cappuccino_core.data.store import BarStore, parse_store_path
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe
from cappuccino_core.data.validate import ValidationReport, fmt_time, validate_bars


@dataclass
class Dataset:
    """One bar file to check: where it is and the symbol/timeframe (and venue, when known) it holds."""

    path: Path
    symbol: str
    timeframe: str
    venue: str | None = None

    @property
    def label(self) -> str:
        """``binance BTC/USDT 1h`` (the venue left out when unknown)."""
        return f"{self.venue + ' ' if self.venue else ''}{self.symbol} {self.timeframe}"


# A dataset and its report, or the error of an unreadable file.
Checked = tuple[Dataset, ValidationReport | None, str | None]


def parse_dataset_name(path: Path) -> tuple[str | None, str | None, str | None]:
    """(venue, symbol, timeframe) by the data layer's one grammar: the store layout
    (:func:`~cappuccino_core.data.store.parse_store_path`) or a bar file's name
    (:func:`~cappuccino_core.data.sources.files.parse_file_name`); None for what the path does not tell."""
    key = parse_store_path(path)
    if key is not None:
        return key.venue, str(key.symbol), key.timeframe
    try:
        name = parse_file_name(path)
    except ValueError:
        return None, None, None
    return name.venue, str(name.symbol), name.timeframe


def _store_datasets(data_root: Path) -> list[Dataset]:
    return [Dataset(d.path, str(d.symbol), d.timeframe, d.venue) for d in BarStore(data_root).datasets()]


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if is_bar_file(f)))
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


def _table(results: list[Checked]) -> Table:
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
    """Validate bar files (PATHS) or every dataset in the store; exit 1 when any has an error."""
    settings = settings_or_exit(config)
    cfg: DataConfig = settings.data
    at = _parse_now(now)
    datasets = [_named_dataset(p, symbol, timeframe) for p in _expand(list(paths or []))]
    if store or not paths:
        found = _store_datasets(settings.paths.data_root)
        if not found and not datasets:
            bars = settings.paths.data_root / "bars"
            raise fail(f"nothing to check: no PATHS and no datasets under {bars}")
        datasets.extend(found)
    problems = [_validate(ds, cfg, at) for ds in datasets]
    failed = any(r is None or not r.ok or (fail_on_stale and r.stale) for _, r, _ in problems)
    if json_out:
        doc: dict[str, Any] = {"ok": not failed, "datasets": [_json_row(*row) for row in problems]}
        typer.echo(json.dumps(doc, indent=2, default=str))
    else:
        _print_results(problems, cfg, at, details)
    raise typer.Exit(1 if failed else 0)


def _named_dataset(p: Path, symbol: str | None, timeframe: str | None) -> Dataset:
    """A file to check, its symbol and timeframe from its name or the options; fails when neither tells."""
    venue, sym, tf = parse_dataset_name(p)
    try:
        sym = str(parse_symbol(symbol)) if symbol else sym
        tf = normalise_timeframe(timeframe) if timeframe else tf
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not sym or not tf:
        raise fail(
            f"{p}: cannot tell symbol/timeframe from the name (e.g. BINANCE_BTCUSDT_1h.feather); "
            "pass --symbol and --timeframe"
        )
    return Dataset(p, sym, tf, venue)


def _validate(ds: Dataset, cfg: DataConfig, at: datetime | None) -> Checked:
    """The dataset's report, or (for an unreadable file) the error: the other datasets are still checked."""
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
        return ds, rep, None
    except Exception as exc:
        return ds, None, f"{type(exc).__name__}: {exc}"


def _json_row(ds: Dataset, r: ValidationReport | None, err: str | None) -> dict[str, Any]:
    unreadable = {
        "symbol": ds.symbol,
        "timeframe": ds.timeframe,
        "status": "UNREADABLE",
        "ok": False,
        "errors": [err],
    }
    return {"path": str(ds.path), "venue": ds.venue, **(r.to_dict() if r else unreadable)}


def _print_results(problems: list[Checked], cfg: DataConfig, at: datetime | None, details: bool) -> None:
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
