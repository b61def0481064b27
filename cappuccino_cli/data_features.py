"""`cappuccino data features`: stored bars -> aligned -> feature dataset (.npz) + FeatureSpec (JSON).

Reads the configured tickers (``[data] tickers``, in that order) at the configured timeframe from the bar
store (or, with ``--sample``, from the committed real sample ``paths.sample_dir``), aligns them
(``align_bars`` with the ``[data]`` repair policy), builds the dataset with the ``[features]`` section,
fits the normalisation on the oldest ``--fit-fraction`` of the bars (default: all but the training
hold-out), and writes ``<out>.npz`` and ``<out>.spec.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.common.atomic import atomic_write_with
from cappuccino_core.config import Settings
from cappuccino_core.data.align import AlignedBars
from cappuccino_core.data.timeframes import normalise_timeframe


def load_market(settings: Settings, timeframe: str, sample: bool) -> AlignedBars:
    """The configured tickers at ``timeframe``, aligned: from the sample with ``--sample``, else the store
    (resampled from a finer stored timeframe when needed); one clear error when bars are missing."""
    from cappuccino_core.data.market import MissingBars, load_aligned

    try:
        return load_aligned(settings, timeframe, source="sample" if sample else "store")
    except MissingBars as exc:
        hint = "" if sample else " (or use --sample for the committed real sample)"
        raise fail(f"{exc}{hint}") from None


OutOption = typer.Option(
    None, "--out", "-o", help="output .npz (default: {data_root}/features/{venue}_{timeframe}.npz)"
)
SampleOption = typer.Option(False, "--sample", help="read the committed real sample, not the bar store")
TimeframeOption = typer.Option(None, "--timeframe", "-t", help="default: the data.timeframe setting")
FitFractionOption = typer.Option(
    None,
    "--fit-fraction",
    min=0.0,
    max=1.0,
    help="oldest share of bars the normalisation is fitted on (default: 1 - training.holdout_fraction)",
)


def features(
    config: Path | None = ConfigOption,
    out: Path | None = OutOption,
    sample: bool = SampleOption,
    timeframe: str | None = TimeframeOption,
    fit_fraction: float | None = FitFractionOption,
) -> None:
    from cappuccino_core.features.builder import build_dataset

    settings = settings_or_exit(config)
    try:
        tf = normalise_timeframe(timeframe or settings.data.timeframe)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if fit_fraction is None:
        fit_fraction = 1.0 - settings.training.holdout_fraction
    try:
        aligned = load_market(settings, tf, sample)
        fit_end = max(1, int(aligned.n_bars * fit_fraction))
        ds = build_dataset(aligned.frames, settings.features, tf, fit_end=fit_end, segments=aligned.segments)
    except ValueError as exc:  # DataValidationError, FeatureSpecMismatch and bad parameters are ValueErrors
        raise fail(str(exc)) from None

    out = out or Path(settings.paths.data_root) / "features" / f"{settings.data.venue}_{tf}.npz"
    out = out if out.suffix == ".npz" else out.with_suffix(".npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    spec_path = out.with_suffix(".spec.json")
    atomic_write_with(out, ds.save, suffix=".npz")  # np.savez would append .npz to another name
    atomic_write_with(spec_path, ds.spec.save)

    nonfinite = int((~np.isfinite(ds.features)).sum())
    first, last = (np.datetime64(int(ds.times[i]), "ns").astype("datetime64[m]") for i in (0, -1))
    console.print(aligned.summary())
    table = Table(title=f"features {settings.data.venue} {tf}", show_header=False)
    table.add_row("tickers (model order)", ", ".join(ds.tickers))
    table.add_row("bars x assets x features", f"{ds.n_bars} x {ds.n_assets} x {ds.spec.n_features}")
    table.add_row("times (UTC, bar open)", f"{first} .. {last}")
    table.add_row("segments", f"{len(ds.segments)} (longest {max(e - s for s, e in ds.segments)} bars)")
    table.add_row("warm-up dropped", f"{ds.spec.warmup} bars")
    table.add_row("normalisation", f"{ds.spec.normalisation}, fitted on {ds.spec.extra.get('fit_rows')} rows")
    table.add_row("feature names", ", ".join(ds.spec.feature_names))
    table.add_row("spec hash", ds.spec.content_hash())
    table.add_row("NaN/inf in features", str(nonfinite))
    table.add_row("dataset", str(out))
    table.add_row("spec", str(spec_path))
    console.print(table)
    if nonfinite:  # MarketDataset refuses these; kept as a last line of defence
        raise typer.Exit(1)
