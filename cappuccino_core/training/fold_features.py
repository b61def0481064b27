"""Per-split feature normalisation for CPCV scoring.

The dataset's features are z-scored with statistics fitted on every real bar before the holdout: the
model that gets registered trains on all of them, and its FeatureSpec stores those statistics. A CPCV
split must not see its test groups at all, not even through a feature's mean and standard deviation, so
each split's agent is trained and scored on features z-scored again with statistics from that split's
real training bars only (synthetic CGE windows are transformed with them but do not fit them, as in the
global fit).

z-scoring is affine, so re-fitting the normalised features is exact: with z = (x - mu) / sd fitted on
all rows, and m, d the mean and std of z over the split's rows, (z - m) / d = (x - (mu + sd m)) / (sd d),
which is x z-scored on the split's rows; the returned dataset's FeatureSpec carries those statistics
(mu + sd m, sd d), so a split's agent kept as the artefact (``final_fit = false``) is saved with the spec
it was trained on. The one exception is a value clipped at +-CLIP_SIGMA (10 standard deviations): it stays
at the bound. Features without z-scoring (``normalisation = "none"``) are left as they are.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cappuccino_core.features.builder import CLIP_SIGMA
from cappuccino_core.features.dataset import SOURCE_REAL, MarketDataset

Segment = tuple[int, int]


def real_rows(dataset: MarketDataset, segments: list[Segment]) -> np.ndarray:
    """Row indices of the real bars inside ``segments``."""
    assert dataset.source is not None
    rows = np.concatenate([np.arange(s, e) for s, e in segments]) if segments else np.zeros(0, np.int64)
    return rows[dataset.source[rows] == SOURCE_REAL]


def refit_normalisation(dataset: MarketDataset, rows: np.ndarray) -> MarketDataset:
    """The dataset with its features z-scored again on ``rows`` only (per ticker and feature)."""
    if dataset.spec.normalisation != "zscore":
        return dataset
    if len(rows) < 2:
        raise ValueError(f"refit_normalisation: {len(rows)} row(s) to fit on; a split needs at least 2")
    fit = dataset.features[rows].astype(np.float64)
    mean, std = fit.mean(axis=0), fit.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant feature: as in the global fit
    features = (dataset.features - mean.astype(np.float32)) / std.astype(np.float32)
    np.clip(features, -CLIP_SIGMA, CLIP_SIGMA, out=features)
    spec = dataset.spec
    mu, sd = np.asarray(spec.norm_mean, dtype=np.float64), np.asarray(spec.norm_std, dtype=np.float64)
    extra = {**spec.extra, "fit_rows": len(rows), "fit": "cpcv split training bars"}
    spec = replace(
        spec,
        norm_mean=tuple(tuple(float(v) for v in r) for r in mu + sd * mean),
        norm_std=tuple(tuple(float(v) for v in r) for r in sd * std),
        extra=extra,
    )
    return replace(dataset, features=features.astype(np.float32, copy=False), spec=spec)
