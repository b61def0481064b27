"""Ingest: fresh bars from the configured venue (or the bundled sample, when asked), the data window and its
freshness, then the features check. Publishes the `ingest-data-window` artifact."""

from __future__ import annotations

from prefect import flow

from tasks.common import logger, record_stage, settings_for
from tasks.data import build_features, data_window, import_sample, update_bars
from tasks.evidence import data_window_markdown, publish

SAMPLE = "sample"


@flow(name="ingest")
def ingest(config: str | None = None, source: str | None = None) -> dict:
    """Bring the bar store up to date and check it can be trained on.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        source: Where new bars come from. Empty: download from the configured venue (`data.venue`, alpaca
            or coinbase; `data.source_url` points elsewhere) and refuse stale data. "sample": import the
            bundled sample instead (an offline rehearsal; its age is reported, not enforced).
    """
    from cappuccino_core.data.freshness import require_fresh, window_span

    settings = settings_for(config)
    origin = SAMPLE if source == SAMPLE else (source or settings.data.venue)
    added = import_sample(settings) if origin == SAMPLE else update_bars(settings, origin)
    windows = data_window(settings)
    publish(
        "ingest-data-window",
        "Data window",
        data_window_markdown([w.row() for w in windows], origin, added),
        f"{origin}: {added} new bars",
    )
    if origin != SAMPLE:
        if any(w.stale for w in windows):
            from cappuccino_core.notify.events import stale_data
            from tasks.notify import notify_safely

            for w in windows:
                if w.stale:
                    notify_safely(settings, stale_data(w.symbol, w.venue, w.last, w.age_h))
        require_fresh(windows, settings.data.stale_after_bars)
    elif any(w.stale for w in windows):
        logger().warning("ingest: the sample is historical: %s", "; ".join(w.describe() for w in windows))
    first, last = window_span(windows) if all(w.last for w in windows) else (None, None)
    ds = build_features(settings)
    record_stage(settings, "ingest", "done", added=added, bars=ds.n_bars, source=origin)
    logger().info("ingest: %d bars added from %s, dataset %d bars", added, origin, ds.n_bars)
    return {
        "added": added,
        "bars": ds.n_bars,
        "assets": list(ds.tickers),
        "source": origin,
        "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None,
    }
