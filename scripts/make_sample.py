#!/usr/bin/env python
"""Produce the committed real sample in data/sample/ and data/README.md from the shared real data.

    .venv/bin/python scripts/make_sample.py [--src ../shared/data/real] [--out data/sample]

- 1h bars of BTC, ETH, SOL, LINK, LTC, ADA (USDT, Binance spot), 2023-07-01 00:00 .. 2025-06-30 23:00 UTC;
- 5m BTC bars of the last 14 days of the 5m source (2025-06-17 00:00 .. 2025-06-30 23:55 UTC).

Values are unchanged: only the time column is renamed ``date`` -> ``time`` and stored as the canonical
Datetime[us, UTC] (the source's ns values are whole minutes, so nothing is lost). Parquet, zstd.
data/README.md is rewritten with the source rows (repo@commit from SOURCES.md) and each file's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cappuccino_core.data.bars import to_bar_frame  # noqa: E402

COINS = ("BTC", "ETH", "SOL", "LINK", "LTC", "ADA")
START_1H = datetime(2023, 7, 1, tzinfo=UTC)
END_1H = datetime(2025, 6, 30, 23, tzinfo=UTC)
DAYS_5M = 14


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sources(src: Path) -> dict[str, str]:
    """file name -> 'repo@commit (path)' from the SOURCES.md table."""
    out: dict[str, str] = {}
    text = (src / "SOURCES.md").read_text()
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\S+\.feather)\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _write(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, compression="zstd", compression_level=19, statistics=True)


def make(src: Path, out: Path) -> list[dict[str, object]]:
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    jobs: list[tuple[str, str, datetime | None, datetime | None]] = [
        (f"BINANCE_{c}USDT_1h", "1h", START_1H, END_1H) for c in COINS
    ]
    jobs.append(("BINANCE_BTCUSDT_5m", "5m", None, None))
    for stem, _tf, start, end in jobs:
        raw = pl.read_ipc(src / f"{stem}.feather")
        bars = to_bar_frame(raw, time_col="date", name=stem)
        if start is None or end is None:  # 5m: the last DAYS_5M whole days of the source
            last = bars["time"].max()
            assert isinstance(last, datetime)
            end = last
            start = last.replace(hour=0, minute=0) - timedelta(days=DAYS_5M - 1)
        part = bars.filter(pl.col("time").is_between(start, end)).sort("time")
        # values unchanged: compare with the source rows
        check = raw.filter(pl.col("date").is_between(start, end)).sort("date")
        for c in ("open", "high", "low", "close", "volume"):
            assert part[c].equals(check[c]), f"{stem}: column {c} changed"
        assert (part["time"].dt.epoch("ns") == check["date"].dt.epoch("ns")).all()
        path = out / f"{stem}.parquet"
        _write(part, path)
        rows.append(
            {
                "file": path.name,
                "source_file": f"{stem}.feather",
                "rows": part.height,
                "first": part["time"][0],
                "last": part["time"][-1],
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
            }
        )
        print(f"{path}: {part.height} rows, {path.stat().st_size} bytes")
    return rows


def write_readme(rows: list[dict[str, object]], sources: dict[str, str], readme: Path) -> None:
    total = sum(int(r["bytes"]) for r in rows)  # type: ignore[call-overload]
    lines = [
        "# data/",
        "",
        "Everything under `data/` is generated (Parquet store, MLflow, Optuna, reports) and ignored by git,",
        "except this README and `data/sample/`: a small REAL sample for offline runs and tests.",
        "",
        "## data/sample/",
        "",
        "Real Binance spot candles (USDT pairs), values unchanged, cut from the shared real data",
        "(`../shared/data/real`, described in its SOURCES.md) by `scripts/make_sample.py`:",
        "",
        "- 1h bars of BTC, ETH, SOL, LINK, LTC, ADA, 2023-07-01 00:00 .. 2025-06-30 23:00 UTC",
        "  (731 days, 17544 bars each; no gaps and no placeholder bars in this window);",
        f"- 5m BTC bars of the last {DAYS_5M} days of the 5m source.",
        "",
        "Format: Parquet (zstd). Canonical columns: `time` (Datetime[us, UTC], candle OPEN time), `open`,",
        "`high`, `low`, `close`, `volume` (Float64, volume in base units). The source's `date` column is",
        "renamed `time`; nothing else changes. Regenerate with `.venv/bin/python scripts/make_sample.py`.",
        "",
        "| file | rows | first (UTC) | last (UTC) | source (repo@commit, path) | sha256 |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        src = sources.get(str(r["source_file"]), "?")
        lines.append(
            f"| {r['file']} | {r['rows']} | {r['first']:%Y-%m-%d %H:%M} | {r['last']:%Y-%m-%d %H:%M} | "
            f"{src} | `{r['sha256']}` |"
        )
    lines += ["", f"Total: {total / 1e6:.2f} MB.", ""]
    readme.write_text("\n".join(lines))
    print(f"{readme}: {len(rows)} files, {total} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "sample")
    ap.add_argument("--readme", type=Path, default=ROOT / "data" / "README.md")
    args = ap.parse_args()
    rows = make(args.src, args.out)
    write_readme(rows, _sources(args.src), args.readme)


if __name__ == "__main__":
    main()
