"""Ingest tasks: import/update bars (remote: exponential backoff), check staleness, build features."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from cappuccino_core.config import Settings
from cappuccino_core.features.dataset import MarketDataset
from tasks.common import logger


@task(name="import-sample", retries=2, retry_delay_seconds=5, timeout_seconds=600, cache_policy=NO_CACHE)
def import_sample(settings: Settings) -> int:
    """Merge the committed real sample into the bar store (idempotent); returns rows added."""
    from cappuccino_core.data.ingest import import_files
    from cappuccino_core.data.store import BarStore

    results = import_files([settings.paths.sample_dir], BarStore(settings.paths.data_root))
    return sum(r.added for r in results)


@task(
    name="update-bars",
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    timeout_seconds=1800,
    cache_policy=NO_CACHE,
)
def update_bars(settings: Settings, source: str) -> int:
    """Fetch bars after the last stored one from a remote venue (alpaca | coinbase)."""
    from cappuccino_core.data.ingest import update
    from cappuccino_core.data.store import BarStore

    mod = __import__(f"cappuccino_core.data.sources.{source}", fromlist=["*"])
    cls = next(
        v
        for k, v in vars(mod).items()
        if k.endswith("Source") and isinstance(v, type) and v.__module__ == mod.__name__
    )
    results = update(
        cls(), BarStore(settings.paths.data_root), settings.data.tickers, settings.data.timeframe
    )
    return sum(r.added for r in results)


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
