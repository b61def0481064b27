"""Ingest tasks: import the sample or fetch new bars (remote: exponential backoff), the data window and its
freshness, features."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from cappuccino_core.config import Settings
from cappuccino_core.data.freshness import SymbolWindow
from cappuccino_core.features.dataset import MarketDataset
from tasks.common import logger


@task(name="import-sample", timeout_seconds=600, cache_policy=NO_CACHE)
def import_sample(settings: Settings) -> int:
    """Merge the committed real sample into the bar store (idempotent); returns rows added. Local files:
    a failure here is not transient, so no retry."""
    from cappuccino_core.data.ingest import import_files
    from cappuccino_core.data.store import BarStore

    results = import_files([settings.paths.sample_dir], BarStore(settings.paths.data_root))
    return sum(r.added for r in results)


def transient_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a download only when the venue or the network failed (SourceUnavailable after the source's own
    retries, or what the one transient rule calls transient: timeouts, dropped connections, 429/5xx); a
    refused request or a configuration error fails at once."""
    from cappuccino_core.common.transient import is_transient
    from cappuccino_core.data.http import SourceUnavailable

    try:
        state.result()
    except SourceUnavailable:
        return True
    except Exception as exc:  # SourceRejected and configuration errors are not transient
        return is_transient(exc)
    return False


@task(
    name="update-bars",
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=transient_failure,
    timeout_seconds=1800,
    cache_policy=NO_CACHE,
)
def update_bars(settings: Settings, venue: str) -> int:
    """Fetch the bars after the last stored one from ``venue`` (alpaca | coinbase) through the source
    factory (its retry policy, keys from the environment, ``data.source_url``); a symbol with nothing stored
    starts ``data.history_days`` back. Network failures are transient: this task retries with backoff."""
    from cappuccino_core.data.ingest import update
    from cappuccino_core.data.sources import make_source
    from cappuccino_core.data.store import BarStore

    d = settings.data
    source = make_source(venue, d, url=d.source_url, ca_cert=d.source_ca_cert)
    start = datetime.now(UTC) - timedelta(days=d.history_days)
    from tasks.progress import PrefectProgress, ingest_progress

    progress = ingest_progress(PrefectProgress("ingest"))
    results = update(
        source, BarStore(settings.paths.data_root), d.tickers, d.timeframe, start=start, progress=progress
    )
    return sum(r.added for r in results)


@task(name="data-window", timeout_seconds=120, cache_policy=NO_CACHE)
def data_window(settings: Settings) -> list[SymbolWindow]:
    """The stored bars of every configured symbol at ``data.timeframe``: first/last bar, rows, age."""
    from cappuccino_core.data import freshness
    from cappuccino_core.data.store import BarStore

    d = settings.data
    store = BarStore(settings.paths.data_root)
    return freshness.data_window(store, d.venue, d.tickers, d.timeframe, d.stale_after_bars)


@task(name="build-features", timeout_seconds=900, cache_policy=NO_CACHE)
def build_features(settings: Settings, fit_fraction: float = 0.85) -> MarketDataset:
    """A MarketDataset over the stored (else sample) bars, aligned; normalisation fitted on the first
    ``fit_fraction`` rows."""
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.builder import build_dataset

    aligned = load_aligned(settings)
    ds = build_dataset(
        aligned.frames,
        settings.features,
        aligned.timeframe,
        fit_end=int(aligned.n_bars * fit_fraction),
        segments=aligned.segments,
    )
    logger().info("features: %d bars x %d assets, spec %s", ds.n_bars, ds.n_assets, ds.spec.content_hash())
    return ds
