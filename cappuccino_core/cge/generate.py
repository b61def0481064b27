"""Settings -> scenario set on disk: resolve the hourly calibration, reuse or build the set, write it
atomically.

Calibration, in order: ``cge.calibration_path`` if set; the bundled fit (``cge/data/hourly_calibration.json``)
if it covers the tickers; ``<output_dir>/hourly_calibration.json`` if it does; else a fresh fit on the real
bars (the Parquet bar store under ``paths.data_root``, read through ``data.market``; for a ticker the store
lacks, ``paths.sample_dir`` Parquet, then ``cge.real_data_dir`` Feather), saved there for the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl

from cappuccino_core.cge.garch_fit import (
    REFERENCE,
    HourlyCalibration,
    base_asset,
    fit_hourly,
    load_real_hourly,
)
from cappuccino_core.cge.scenarios import SetSpec, make_spec, manifest, simulate_set
from cappuccino_core.cge.store import (
    CALIBRATION_FILE,
    ScenarioSet,
    write_set,
    write_tables,
)
from cappuccino_core.common.atomic import atomic_write_text
from cappuccino_core.config import Settings
from cappuccino_core.data.bars import TIME
from cappuccino_core.data.market import load_bars, source_timeframe
from cappuccino_core.data.symbols import parse_symbol

log = logging.getLogger(__name__)
BUNDLED_CALIBRATION = Path(__file__).parent / "data" / "hourly_calibration.json"


def cge_tickers(settings: Settings) -> list[str]:
    """The tickers of the scenario set: ``cge.tickers``, else ``data.tickers``."""
    return list(settings.cge.tickers or settings.data.tickers)


def store_hourly(settings: Settings, ticker: str) -> tuple[pl.DataFrame, str] | None:
    """``ticker``'s hourly bars from the Parquet bar store (via the one market-data loader, resampled from a
    finer stored timeframe if needed) and their provenance; None when the store has none."""
    if source_timeframe(settings, ticker, "1h", source="store") is None:
        return None
    bars = load_bars(settings, ticker, "1h", source="store").unique(TIME, keep="last").sort(TIME)
    digest = hashlib.sha256(bars.select(TIME, "close").write_ipc(None).getvalue()).hexdigest()[:16]
    return bars, f"store {settings.data.venue}:{parse_symbol(ticker)}:1h {digest}"


def real_hourly(settings: Settings, tickers: list[str]) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """Hourly bars per ticker: the bar store first (``paths.data_root``), else the bundled sample
    (``paths.sample_dir``), else ``cge.real_data_dir``; a provenance string per ticker."""
    frames: dict[str, pl.DataFrame] = {}
    sources: dict[str, str] = {}
    rest = []
    for t in tickers:
        got = store_hourly(settings, t)
        if got is None:
            rest.append(t)
        else:
            frames[t], sources[t] = got
    if rest:
        f2, s2 = load_real_hourly(
            rest, settings.data.venue, settings.paths.sample_dir, settings.cge.real_data_dir
        )
        frames.update(f2)
        sources.update(s2)
    return {t: frames[t] for t in tickers}, {t: sources[t] for t in tickers}


def fit_from_real(settings: Settings, tickers: list[str]) -> HourlyCalibration:
    """Fit the hourly layer on the real bars of ``tickers`` (plus BTC, the reference, if absent)."""
    want = list(tickers)
    if not any(base_asset(t) == REFERENCE for t in want):
        want = [f"{REFERENCE}/{parse_symbol(want[0]).quote}", *want]
    frames, sources = real_hourly(settings, want)
    return fit_hourly(frames, settings.cge.calibration_hours, sources)


def resolve_calibration(settings: Settings, tickers: list[str], *, refit: bool = False) -> HourlyCalibration:
    """The hourly calibration for ``tickers``: ``cge.calibration_path``, else the bundled or a saved fit that
    covers them, else a fresh fit on real bars (saved beside the sets); ``refit`` always fits."""
    cfg = settings.cge
    if cfg.calibration_path is not None and not refit:
        calib = HourlyCalibration.load(cfg.calibration_path)
        if not calib.covers(tickers):
            raise ValueError(
                f"{cfg.calibration_path} has no fit for {[t for t in tickers if t not in calib.assets]}"
            )
        return calib
    local = cfg.output_dir / CALIBRATION_FILE
    if not refit:
        for p in (BUNDLED_CALIBRATION, local):
            if p.is_file():
                calib = HourlyCalibration.load(p)
                if calib.covers(tickers):
                    return calib
    log.info("fitting the hourly layer on real bars for %s", tickers)
    calib = fit_from_real(settings, tickers)
    calib.save(local)
    return calib


def spec_from_settings(settings: Settings, calibration: HourlyCalibration | None = None) -> SetSpec:
    """The scenario set's :class:`SetSpec` from the ``[cge]`` settings."""
    cfg = settings.cge
    tickers = cge_tickers(settings)
    return make_spec(
        tickers=tickers,
        bands=cfg.bands,
        calibration=calibration or resolve_calibration(settings, tickers),
        version=cfg.version,
        n_scenarios=cfg.n_scenarios,
        regime_mix=cfg.regime_mix,
        base_seed=cfg.base_seed,
        quarters=cfg.quarters,
        hours=cfg.hours,
        tol=cfg.tol,
        homotopy_steps=cfg.homotopy_steps,
        clock_start=cfg.clock_start.isoformat(),
    )


def set_path(settings: Settings, spec: SetSpec) -> Path:
    """The folder of the set ``spec`` describes, under ``cge.output_dir``."""
    return settings.cge.output_dir / spec.dirname


def generate(
    spec: SetSpec,
    output_dir: Path,
    *,
    workers: int = 1,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[ScenarioSet, bool]:
    """(the set, reused?). An existing set with the same version and config hash is reused unless force."""
    final = Path(output_dir) / spec.dirname
    if not force and (final / "manifest.json").is_file():
        existing = ScenarioSet(final)
        if existing.config_hash == spec.config_hash():
            return existing, True

    def writer(tmp: Path) -> dict:
        batch = simulate_set(spec, workers=workers, progress=progress)
        write_tables(tmp, spec, batch)
        atomic_write_text(
            tmp / CALIBRATION_FILE, json.dumps(spec.calibration.to_dict(), indent=1, sort_keys=True)
        )
        return manifest(spec, batch)

    return ScenarioSet(write_set(final, writer, force=True)), False


def latest_set(output_dir: Path) -> ScenarioSet:
    """The most recently written complete set under output_dir (for describe/plot without a path)."""
    sets = sorted(Path(output_dir).glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
    if not sets:
        raise FileNotFoundError(f"no scenario set under {output_dir}; run `cappuccino cge generate` first")
    return ScenarioSet(sets[-1].parent)
