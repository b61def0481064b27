"""`cappuccino data features`: sample bars -> dataset .npz + spec JSON, shapes and hash printed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from cappuccino_cli.main import app
from cappuccino_core.features import FeatureSpec, MarketDataset


def _config(tmp_path: Path, sample_dir: Path, extra: str = "") -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[paths]\ndata_root = "{tmp_path / "data"}"\nsample_dir = "{sample_dir}"\n'
        f'[data]\ntickers = ["ETH/USDT", "BTC/USDT", "ADA/USDT"]\n{extra}'
    )
    return cfg


def test_features_from_the_sample(tmp_path: Path, sample_dir: Path) -> None:
    out = tmp_path / "f.npz"
    res = CliRunner().invoke(
        app, ["data", "features", "-c", str(_config(tmp_path, sample_dir)), "--sample", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    ds = MarketDataset.load(out)
    spec = FeatureSpec.load(tmp_path / "f.spec.json")
    assert ds.tickers == ("ETH/USDT", "BTC/USDT", "ADA/USDT")  # config order, not sorted
    assert spec == ds.spec and spec.content_hash() in res.output
    assert ds.features.shape == (17544 - spec.warmup, 3, 16) and np.isfinite(ds.features).all()
    assert spec.extra["fit_rows"] == int(17544 * 0.85) - spec.warmup
    assert "NaN/inf in features" in res.output and "close_logret" in res.output


def test_missing_store_is_one_clear_error(tmp_path: Path, sample_dir: Path) -> None:
    res = CliRunner().invoke(app, ["data", "features", "-c", str(_config(tmp_path, sample_dir))])
    assert res.exit_code == 2
    assert "no stored bars" in res.output and "--sample" in res.output
