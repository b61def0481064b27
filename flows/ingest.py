"""Ingest: import the committed sample and/or update from a venue, then build features (a check)."""

from __future__ import annotations

from prefect import flow

from tasks.common import logger, record_stage, settings_for
from tasks.data import build_features, import_sample, update_bars


@flow(name="ingest", retries=1, retry_delay_seconds=60)
def ingest(config: str | None = None, source: str = "sample") -> dict:
    """``source``: sample (offline) | alpaca | coinbase."""
    settings = settings_for(config)
    added = import_sample(settings) if source == "sample" else update_bars(settings, source)
    ds = build_features(settings)
    record_stage(settings, "ingest", "done", added=added, bars=ds.n_bars)
    logger().info("ingest: %d bars added, dataset %d bars", added, ds.n_bars)
    return {"added": added, "bars": ds.n_bars, "assets": list(ds.tickers)}
