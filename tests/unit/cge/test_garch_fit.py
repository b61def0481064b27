"""The hourly layer's parameters are estimated (arch GARCH(1,1)-t), saved as JSON and reused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cappuccino_core.cge.garch_fit import (
    PERSISTENCE_CAP,
    HourlyCalibration,
    MomentGrid,
    fit_hourly,
    median_vol_ratio,
)
from cappuccino_core.config.data import DataConfig


def test_bundled_fit_covers_the_default_tickers_and_is_sane(hourly_calibration: HourlyCalibration) -> None:
    c = hourly_calibration
    assert c.covers(DataConfig().tickers)
    assert len(c.tickers) >= 10  # the benchmark's ten assets
    btc = c.asset("BTC/USDT")
    assert btc.beta_btc == pytest.approx(1.0)
    for a in c.assets.values():
        assert 0 < a.alpha < 0.5 and a.beta >= 0 and a.alpha + a.beta <= PERSISTENCE_CAP + 1e-12
        assert 2.5 <= a.nu <= 30 and 0.2 < a.vol_annual < 2.0 and 0.5 < a.beta_btc < 2.0
        assert a.vol_correction > 1.0  # median realised vol < unconditional vol for a fat-tailed GARCH
        assert a.volume_c1 > 0  # volume rises with |return|
        assert 0.5 < a.range_scale < 1.5
    assert 0.4 < c.corr < 0.95
    assert c.hours >= 8760 and c.arch_version


def test_save_load_round_trip_and_tamper_detection(
    hourly_calibration: HourlyCalibration, tmp_path: Path
) -> None:
    p = hourly_calibration.save(tmp_path / "fit.json")
    again = HourlyCalibration.load(p)
    assert again == hourly_calibration and again.content_hash() == hourly_calibration.content_hash()
    d = json.loads(p.read_text())
    d["corr"] = 0.99
    p.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="content hash mismatch"):
        HourlyCalibration.load(p)


def _garch_t_prices(n: int, alpha: float, beta: float, nu: float, vol: float, rng):
    z = rng.standard_t(nu, size=n) * np.sqrt((nu - 2) / nu)
    s2 = np.empty(n)
    s2[0] = vol**2
    for h in range(n - 1):
        s2[h + 1] = vol**2 * (1 - alpha - beta) + (alpha * z[h] ** 2 + beta) * s2[h]
    r = np.sqrt(s2) * z
    return 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))


def _frame(close: np.ndarray) -> pl.DataFrame:
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    times = [t0 + timedelta(hours=k) for k in range(close.size)]
    return pl.DataFrame(
        {
            "time": times,
            "open": close,
            "high": close * 1.002,
            "low": close * 0.998,
            "close": close,
            "volume": np.full(close.size, 10.0),
        }
    )


def test_fit_recovers_known_garch_t_parameters() -> None:
    rng = np.random.default_rng(3)
    btc = _garch_t_prices(30_000, 0.07, 0.90, 5.0, 0.005, rng)
    eth = _garch_t_prices(30_000, 0.05, 0.93, 6.0, 0.007, rng)
    small = MomentGrid(alpha=(0.05, 0.07), persistence=(0.93, 0.97), nu=(5.0, 6.0), slow=(0.0, 0.3))
    fit = fit_hourly({"BTC/USDT": _frame(btc), "ETH/USDT": _frame(eth)}, hours=30_000, grid=small)
    b = fit.asset("BTC/USDT")  # the arch record
    assert b.alpha_raw == pytest.approx(0.07, abs=0.02) and b.beta_raw == pytest.approx(0.90, abs=0.03)
    assert b.nu_raw == pytest.approx(5.0, abs=1.2)
    assert fit.asset("ETH/USDT").nu_raw == pytest.approx(6.0, abs=1.8)
    assert b.vol_annual == pytest.approx(0.005 * np.sqrt(8760), rel=0.15)
    # the moment-matched simulation parameters reproduce the series' moments
    for a in fit.assets.values():
        assert a.moments_sim["excess_kurtosis"] == pytest.approx(a.moments_real["excess_kurtosis"], rel=0.5)
        assert a.moments_sim["acf_abs_1"] == pytest.approx(a.moments_real["acf_abs_1"], abs=0.05)


def test_fit_needs_btc_and_enough_common_hours() -> None:
    rng = np.random.default_rng(0)
    eth = _garch_t_prices(3000, 0.05, 0.9, 5.0, 0.005, rng)
    with pytest.raises(ValueError, match="needs BTC"):
        fit_hourly({"ETH/USDT": _frame(eth)})
    with pytest.raises(ValueError, match="need >= 2000"):
        fit_hourly({"BTC/USDT": _frame(eth[:500])})


def test_median_vol_ratio_is_below_one_for_fat_tails() -> None:
    assert median_vol_ratio(0.199, 0.791, 3.32, hours=4000) < 0.8
    assert median_vol_ratio(0.03, 0.90, 30.0, hours=4000) == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
def test_refit_on_the_bundled_sample_is_consistent_with_the_bundled_fit(
    sample_frames, hourly_calibration
) -> None:
    """The bundled fit uses four years of ../shared/data/real (2021-07..2025-06); the sample holds the last
    two: a refit on it lands near the bundled volatility, betas and matched moments."""
    fit = fit_hourly(sample_frames, hours=hourly_calibration.hours)
    for t in sample_frames:
        new, old = fit.asset(t), hourly_calibration.asset(t)
        assert new.vol_annual == pytest.approx(old.vol_annual, rel=0.25)
        assert new.beta_btc == pytest.approx(old.beta_btc, abs=0.15)
        assert new.moments_real["acf_abs_1"] == pytest.approx(old.moments_real["acf_abs_1"], abs=0.05)


def test_calibration_reads_the_bar_store_first_and_falls_back_to_the_sample(tmp_path: Path) -> None:
    """A ticker in the Parquet bar store is read from it (through the market-data loader, resampled from a
    finer stored timeframe); one the store lacks comes from the bundled sample, as before."""
    from cappuccino_core.cge.generate import real_hourly
    from cappuccino_core.config import load_settings
    from cappuccino_core.data.store import BarStore

    sample = Path(__file__).resolve().parents[3] / "data" / "sample"
    five = pl.read_parquet(sample / "BINANCE_BTCUSDT_5m.parquet")
    five = five.with_columns(*(pl.col(c) * 2.0 for c in ("open", "high", "low", "close")))  # tell it apart
    dest = BarStore(tmp_path / "data").path("binance", "BTC/USDT", "5m")
    dest.parent.mkdir(parents=True)
    five.write_parquet(dest)
    s = load_settings(paths={"data_root": tmp_path / "data", "sample_dir": sample})
    frames, sources = real_hourly(s, ["BTC/USDT", "ETH/USDT"])
    assert sources["BTC/USDT"].startswith("store binance:BTC/USDT:1h ")
    assert sources["ETH/USDT"].startswith("BINANCE_ETHUSDT_1h.parquet ")
    btc = frames["BTC/USDT"]
    assert (btc["time"].diff().drop_nulls() >= timedelta(hours=1)).all()  # hourly: resampled from 5m
    first = five.filter(pl.col("time") < btc["time"][0] + timedelta(hours=1)).filter(
        pl.col("time") >= btc["time"][0]
    )
    assert btc["close"][0] == pytest.approx(first["close"][-1])  # the store's (doubled) prices
    empty = load_settings(paths={"data_root": tmp_path / "none", "sample_dir": sample})
    _, src2 = real_hourly(empty, ["BTC/USDT"])
    assert src2["BTC/USDT"].startswith("BINANCE_BTCUSDT_1h.parquet ")
