"""`cappuccino data download|update|import`: fill the Parquet bar store.

Venue, symbols and timeframe default to the configuration (``[data]``); ``--url``/``--ca-cert`` point the
SDK at another server (the loopback simulator). Alpaca keys come only from ALPACA_API_KEY /
ALPACA_SECRET_KEY and are never printed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.config import Settings
from cappuccino_core.data import ingest
from cappuccino_core.data.http import SourceError
from cappuccino_core.data.sources import BarSource, make_source
from cappuccino_core.data.store import BarStore, MissingDataset
from cappuccino_core.data.symbols import parse_symbols
from cappuccino_core.data.timeframes import normalise_timeframe

VenueOption = typer.Option(None, "--venue", help="alpaca | coinbase (default: data.venue)")
SymbolsOption = typer.Option(
    None, "--symbols", "-s", help="comma-separated, e.g. BTC/USD,ETH/USD (default: data.tickers)"
)
TimeframeOption = typer.Option(
    None, "--timeframe", "-t", help="e.g. 5m, 15m, 1h, 1d (default: data.timeframe)"
)
EndOption = typer.Option(None, "--end", help="UTC date/time, exclusive (default: now, closed bars only)")
UrlOption = typer.Option(
    None,
    "--url",
    help="API base URL override, e.g. a loopback simulator (alpaca: http://host:port; coinbase: host:port)",
)
CaCertOption = typer.Option(None, "--ca-cert", help="certificate to trust for --url over HTTPS (coinbase)")


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(
            f"{name} {value!r} is not an ISO date/time (e.g. 2024-01-01 or 2024-01-01T12:00)"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _common(
    config: Path | None, venue: str | None, symbols: str | None, timeframe: str | None
) -> tuple[Settings, str, list, str, BarStore]:
    settings = settings_or_exit(config)
    try:
        syms = parse_symbols(symbols if symbols is not None else settings.data.tickers)
        tf = normalise_timeframe(timeframe or settings.data.timeframe)
    except ValueError as exc:
        raise fail(str(exc)) from None
    return settings, (venue or settings.data.venue).lower(), syms, tf, BarStore(settings.paths.data_root)


def _source(settings: Settings, venue: str, url: str | None, ca_cert: Path | None) -> BarSource:
    try:
        return make_source(venue, settings.data, url=url, ca_cert=ca_cert)
    except ValueError as exc:
        raise fail(str(exc)) from None


@contextmanager
def _progress() -> Iterator[Callable[[ingest.Progress], None]]:
    bars = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[bars]} bars"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def on_progress(ev: ingest.Progress) -> None:
        if ev.key not in tasks:
            tasks[ev.key] = bars.add_task(ev.key, total=max(ev.total, 1), bars=0)
        task = tasks[ev.key]
        if ev.stage == "done" and ev.total == 0:
            bars.update(task, total=1, completed=1, bars=ev.bars, description=f"{ev.key} (up to date)")
        else:
            bars.update(task, total=max(ev.total, 1), completed=ev.completed, bars=ev.bars)

    with bars:
        yield on_progress


def _summary(results: list[ingest.IngestResult], title: str) -> None:
    table = Table(title=title)
    for col in (
        "venue",
        "symbol",
        "timeframe",
        "fetched",
        "new",
        "replaced",
        "stored rows",
        "last bar (UTC)",
    ):
        table.add_column(
            col, justify="right" if col in ("fetched", "new", "replaced", "stored rows") else "left"
        )
    for r in results:
        m = r.merge
        table.add_row(
            r.venue,
            str(r.symbol),
            r.timeframe,
            str(r.fetched),
            str(m.added if m else 0),
            str(m.replaced if m else 0),
            str(m.rows_after) if m else "-",
            f"{m.last:%Y-%m-%d %H:%M}" if m and m.last else "-",
        )
    console.print(table)


def _run(fn: Callable[[], list[ingest.IngestResult]], title: str) -> None:
    logging.getLogger("coinbase.RESTClient").setLevel(logging.CRITICAL)  # our retry policy reports errors
    try:
        results = fn()
    except SourceError as exc:
        raise fail(f"{exc} (nothing written for {exc.symbol})") from None
    except (ValueError, FileNotFoundError, MissingDataset) as exc:
        raise fail(str(exc)) from None
    _summary(results, title)


def download(
    venue: str | None = VenueOption,
    symbols: str | None = SymbolsOption,
    timeframe: str | None = TimeframeOption,
    start: str | None = typer.Option(None, "--start", help="UTC date/time, inclusive (required)"),
    end: str | None = EndOption,
    url: str | None = UrlOption,
    ca_cert: Path | None = CaCertOption,
    config: Path | None = ConfigOption,
) -> None:
    settings, v, syms, tf, store = _common(config, venue, symbols, timeframe)
    t0 = _parse_time(start, "--start")
    if t0 is None:
        raise fail(
            "--start is required for download (use `cappuccino data update` to continue a stored dataset)"
        )
    t1 = _parse_time(end, "--end")
    source = _source(settings, v, url, ca_cert)
    with _progress() as progress:
        _run(
            lambda: ingest.download(source, store, syms, tf, t0, t1, progress=progress),
            f"downloaded into {store.bars_dir}",
        )


def update(
    venue: str | None = VenueOption,
    symbols: str | None = SymbolsOption,
    timeframe: str | None = TimeframeOption,
    start: str | None = typer.Option(
        None,
        "--start",
        help="UTC date/time for symbols with nothing stored yet (others continue after their last bar)",
    ),
    end: str | None = EndOption,
    url: str | None = UrlOption,
    ca_cert: Path | None = CaCertOption,
    config: Path | None = ConfigOption,
) -> None:
    settings, v, syms, tf, store = _common(config, venue, symbols, timeframe)
    t0, t1 = _parse_time(start, "--start"), _parse_time(end, "--end")
    source = _source(settings, v, url, ca_cert)
    with _progress() as progress:
        _run(
            lambda: ingest.update(source, store, syms, tf, start=t0, end=t1, progress=progress),
            f"updated {store.bars_dir}",
        )


def import_files(
    paths: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Feather/Parquet/CSV files, or directories of them"
    ),
    venue: str | None = typer.Option(
        None, "--venue", help="venue to store under (default: from the file name, e.g. BINANCE_BTCUSDT_1h)"
    ),
    symbol: str | None = typer.Option(
        None, "--symbol", help="symbol of a single file (default: from its name)"
    ),
    timeframe: str | None = typer.Option(
        None, "--timeframe", "-t", help="timeframe of a single file (default: from its name)"
    ),
    config: Path | None = ConfigOption,
) -> None:
    settings = settings_or_exit(config)
    store = BarStore(settings.paths.data_root)
    with _progress() as progress:
        _run(
            lambda: ingest.import_files(
                paths,
                store,
                venue,
                symbol=symbol,
                timeframe=timeframe,
                progress=progress,
                config=settings.data,
            ),
            f"imported into {store.bars_dir}",
        )
