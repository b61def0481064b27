"""The scenario set on disk: Parquet tables plus a manifest, written atomically, read back lazily.

Layout of one set, ``<output_dir>/<version>-<config hash[:12]>/``:

- ``manifest.json``: version, config hash, content hash (sha256 over the data files' sha256s, in a fixed
  order), the frozen regime mix and seeds, tickers, bands, the model/regime parameters, solver statistics and
  the band-flag rates; written last, so a set without one is incomplete;
- ``scenarios.parquet``: one row per scenario: scenario_id, regime, seed, converged, solver counts;
- ``macro.parquet``: one row per scenario and quarter (quarter 0 = the benchmark start): GDP, unemployment,
  inflation, policy rate, ... and ln Pc, the crypto anchor;
- ``prices.parquet``: one row per scenario and hour h = 0..H (the price at the start of hour h): one float64
  column per ticker, row groups aligned to scenarios;
- ``bands.parquet``: one row per scenario and ticker: offset c, log range, whether the path fits its band;
- ``hourly_calibration.json``: the hourly-layer fit the set was drawn with.

The whole directory is built under a temporary name and renamed into place, so a reader never sees half a set.
Parquet bytes are deterministic for the same inputs and library versions (no timestamps in the files).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cappuccino_core.common.atomic import atomic_dir, atomic_write_text

if TYPE_CHECKING:
    from cappuccino_core.cge.scenarios import Batch, SetSpec

DATA_FILES = ("scenarios.parquet", "macro.parquet", "prices.parquet", "bands.parquet")
MANIFEST = "manifest.json"
CALIBRATION_FILE = "hourly_calibration.json"


def write_table(path: Path, table: pa.Table, row_group_size: int | None = None) -> None:
    """Write one Parquet table (zstd, statistics, schema stored; no timestamps, so bytes are reproducible)."""
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=row_group_size,
        write_statistics=True,
        store_schema=True,
    )


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(directory: Path) -> tuple[str, dict[str, str]]:
    """sha256 over the data files' sha256s in a fixed order, and those per file."""
    files = {name: file_sha256(directory / name) for name in DATA_FILES}
    h = hashlib.sha256("".join(f"{n}:{files[n]}\n" for n in DATA_FILES).encode())
    return h.hexdigest(), files


def write_set(final: Path, writer: Callable[[Path], dict[str, Any]], *, force: bool = False) -> Path:
    """Build a set in a temporary sibling directory with ``writer(tmp) -> manifest``, then rename it into
    place. With ``force`` an existing set is replaced (moved aside, then deleted after the swap)."""
    with atomic_dir(final, replace=force) as tmp:
        manifest = writer(tmp)
        digest, files = content_hash(tmp)
        manifest = {**manifest, "content_hash": digest, "files": files}
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return final


def write_tables(directory: Path, spec: SetSpec, batch: Batch) -> None:
    """The four data files of a set from a simulated batch (scenarios in id order)."""
    from cappuccino_core.cge.dynamics import MACRO_COLUMNS

    order = np.argsort(batch.ids)
    ids = batch.ids[order].astype(np.uint16)
    S, Q1, H1, N = ids.size, spec.quarters + 1, spec.hours + 1, len(spec.tickers)
    regimes = np.array(spec.regimes)[batch.ids[order]]
    macro = batch.macro[order]
    walras = np.abs(macro[:, :, MACRO_COLUMNS.index("walras")]).max(axis=1)
    resid = macro[:, :, MACRO_COLUMNS.index("max_residual")].max(axis=1)
    methods = batch.methods[order]
    fits = batch.fits[order]
    write_table(
        directory / "scenarios.parquet",
        pa.table(
            {
                "scenario_id": pa.array(ids),
                "regime": pa.array(regimes.tolist(), pa.string()),
                "seed": pa.array([spec.seed(int(i)) for i in ids], pa.uint64()),
                "converged": pa.array(batch.converged[order]),
                "direct_quarters": pa.array(methods[:, 0].astype(np.uint8)),
                "homotopy_quarters": pa.array(methods[:, 1].astype(np.uint8)),
                "failed_quarters": pa.array(methods[:, 2].astype(np.uint8)),
                "max_residual": pa.array(resid),
                "max_abs_walras": pa.array(walras),
                "fits_all_bands": pa.array(fits.all(axis=1)),
            }
        ),
    )
    cols: dict[str, Any] = {
        "scenario_id": pa.array(np.repeat(ids, Q1)),
        "quarter": pa.array(np.tile(np.arange(Q1, dtype=np.uint8), S)),
    }
    for k, c in enumerate(MACRO_COLUMNS):
        v = macro[:, :, k].reshape(-1)
        cols[c] = pa.array(v.astype(np.int8) if c == "method" else v)
    write_table(directory / "macro.parquet", pa.table(cols))
    prices = batch.prices[order]
    cols = {
        "scenario_id": pa.array(np.repeat(ids, H1)),
        "hour": pa.array(np.tile(np.arange(H1, dtype=np.uint32), S)),
    }
    for k, t in enumerate(spec.tickers):
        cols[t] = pa.array(np.ascontiguousarray(prices[:, :, k]).reshape(-1))
    write_table(directory / "prices.parquet", pa.table(cols), row_group_size=H1 * max(1, 65536 // H1))
    write_table(
        directory / "bands.parquet",
        pa.table(
            {
                "scenario_id": pa.array(np.repeat(ids, N)),
                "ticker": pa.array(list(spec.tickers) * S, pa.string()),
                "pmin": pa.array(np.tile([b[0] for b in spec.bands], S)),
                "pmax": pa.array(np.tile([b[1] for b in spec.bands], S)),
                "offset": pa.array(batch.offset[order].reshape(-1)),
                "log_range": pa.array(batch.log_range[order].reshape(-1)),
                "fits": pa.array(fits.reshape(-1)),
            }
        ),
    )


class ScenarioSet:
    """A stored scenario set. Tables load on first use; prices can be read one scenario at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        mf = self.path / MANIFEST
        if not mf.is_file():
            raise FileNotFoundError(f"{self.path} is not a complete scenario set (no {MANIFEST})")
        self.manifest: dict[str, Any] = json.loads(mf.read_text())
        self._scenarios: pl.DataFrame | None = None
        self._macro: pl.DataFrame | None = None

    def __repr__(self) -> str:
        return f"ScenarioSet({self.path}, {self.n_scenarios} scenarios, {self.version})"

    @property
    def version(self) -> str:
        """The set's version string."""
        return str(self.manifest["version"])

    @property
    def config_hash(self) -> str:
        """sha256 of the spec the set was built from."""
        return str(self.manifest["config_hash"])

    @property
    def content_hash(self) -> str:
        """sha256 of the set's data files."""
        return str(self.manifest["content_hash"])

    @property
    def tickers(self) -> list[str]:
        """The tickers, in column order."""
        return list(self.manifest["tickers"])

    @property
    def hours(self) -> int:
        """Hours simulated per scenario."""
        return int(self.manifest["hours"])

    @property
    def quarters(self) -> int:
        """Quarters simulated per scenario."""
        return int(self.manifest["quarters"])

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.manifest["n_scenarios"])

    @property
    def clock_start(self) -> str:
        """Time of hour 0 (ISO)."""
        return str(self.manifest["clock_start"])

    @property
    def scenarios(self) -> pl.DataFrame:
        """The scenarios table (loaded on first use)."""
        if self._scenarios is None:
            self._scenarios = pl.read_parquet(self.path / "scenarios.parquet")
        return self._scenarios

    @property
    def macro(self) -> pl.DataFrame:
        """The macro table (loaded on first use)."""
        if self._macro is None:
            self._macro = pl.read_parquet(self.path / "macro.parquet")
        return self._macro

    def bands(self) -> pl.DataFrame:
        """The band placement table."""
        return pl.read_parquet(self.path / "bands.parquet")

    def regimes(self) -> list[str]:
        """The regime of each scenario, in id order."""
        return self.scenarios.sort("scenario_id")["regime"].to_list()

    def prices(self, scenario_id: int) -> np.ndarray:
        """(H+1, N) prices of one scenario, tickers in manifest order."""
        t = pq.read_table(
            self.path / "prices.parquet", columns=self.tickers, filters=[("scenario_id", "=", scenario_id)]
        )
        if t.num_rows != self.hours + 1:
            raise KeyError(f"scenario {scenario_id} not in {self.path}")
        return np.column_stack([t.column(c).to_numpy() for c in self.tickers])

    def all_prices(self) -> np.ndarray:
        """(S, H+1, N) prices of every scenario, in scenario_id order."""
        t = pq.read_table(self.path / "prices.parquet", columns=self.tickers)
        S, H1 = self.n_scenarios, self.hours + 1
        return np.stack([t.column(c).to_numpy().reshape(S, H1) for c in self.tickers], axis=-1)

    def verify(self) -> None:
        """Raise ValueError if a data file's bytes no longer match the manifest's content hash."""
        digest, files = content_hash(self.path)
        if digest != self.content_hash:
            bad = [n for n in DATA_FILES if files[n] != self.manifest.get("files", {}).get(n)]
            raise ValueError(f"{self.path}: content hash mismatch in {bad}")
