"""CPCV splits re-fit the feature normalisation on their own training bars (hand-computed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cappuccino_core.env.toy import dataset_from_prices
from cappuccino_core.features.dataset import SOURCE_SYNTHETIC
from cappuccino_core.training.fold_features import real_rows, refit_normalisation


def zscored(raw: np.ndarray, source: np.ndarray | None = None, segments=None):
    """A dataset whose stored features are ``raw`` z-scored on all real rows, like the builder's."""
    mu, sd = raw.mean(), raw.std()
    ds = dataset_from_prices(
        np.full(len(raw), 100.0), features=((raw - mu) / sd).astype(np.float32)[:, None, None]
    )
    spec = replace(ds.spec, normalisation="zscore", norm_mean=((float(mu),),), norm_std=((float(sd),),))
    return replace(
        ds, spec=spec, source=source if source is not None else ds.source, segments=segments or ds.segments
    )


def test_a_split_is_z_scored_on_its_training_bars_only() -> None:
    # Train bars 0..3 hold 1, 2, 3, 4 (mean 2.5, population std sqrt(1.25)); the test bars 4..5 hold 100
    # and 200 and must not move the statistics.
    raw = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 200.0])
    ds = zscored(raw)
    split = refit_normalisation(ds, np.arange(4))
    expect = (raw - 2.5) / np.sqrt(1.25)
    np.testing.assert_allclose(split.features[:, 0, 0], np.clip(expect, -10, 10), rtol=1e-5)
    assert split.features[5, 0, 0] == 10.0  # 175 standard deviations out: clipped like the builder clips
    assert split.spec.norm_mean[0][0] == pytest.approx(2.5) and split.spec.norm_std[0][0] == pytest.approx(
        np.sqrt(1.25)
    )
    # The spec describes the split's features: raw values through the spec give the same numbers.
    mu, sd = split.spec.norm_mean[0][0], split.spec.norm_std[0][0]
    np.testing.assert_allclose((raw[:4] - mu) / sd, split.features[:4, 0, 0], rtol=1e-5)
    # No look-ahead: whatever the test bars hold, the training bars' features are the same.
    other = zscored(np.array([1.0, 2.0, 3.0, 4.0, -5.0, 0.0]))
    np.testing.assert_allclose(
        refit_normalisation(other, np.arange(4)).features[:4], split.features[:4], rtol=1e-5
    )


def test_synthetic_rows_are_transformed_but_do_not_fit() -> None:
    raw = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    source = np.array([0, 0, 0, 0, SOURCE_SYNTHETIC, SOURCE_SYNTHETIC], dtype=np.uint8)
    ds = zscored(raw, source=source, segments=[(0, 4), (4, 6)])
    rows = real_rows(ds, [(0, 4), (4, 6)])
    assert rows.tolist() == [0, 1, 2, 3]
    split = refit_normalisation(ds, rows)
    np.testing.assert_allclose(split.features[4:, 0, 0], (raw[4:] - 2.5) / np.sqrt(1.25), rtol=1e-5)


def test_unnormalised_features_are_left_alone_and_too_few_rows_refused() -> None:
    ds = dataset_from_prices(np.full(4, 100.0), features=np.arange(4, dtype=np.float32)[:, None, None])
    assert refit_normalisation(ds, np.arange(2)) is ds
    with pytest.raises(ValueError, match="1 row"):
        refit_normalisation(zscored(np.array([1.0, 2.0, 3.0])), np.arange(1))
