"""Shared fixtures of the CGE tests: the calibrated model, the bundled hourly fit, a small generated set."""

from __future__ import annotations

from pathlib import Path

import pytest

from cappuccino_core.cge.calibrate import Calibration, calibrate
from cappuccino_core.cge.garch_fit import HourlyCalibration
from cappuccino_core.cge.generate import BUNDLED_CALIBRATION, generate
from cappuccino_core.cge.scenarios import SetSpec, make_spec
from cappuccino_core.cge.store import ScenarioSet
from cappuccino_core.config.cge import _default_bands

SMALL_TICKERS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


@pytest.fixture(scope="session")
def cal() -> Calibration:
    return calibrate()


@pytest.fixture(scope="session")
def hourly_calibration() -> HourlyCalibration:
    return HourlyCalibration.load(BUNDLED_CALIBRATION)


def small_spec(calib: HourlyCalibration, cal: Calibration, **kw) -> SetSpec:
    args = {"tickers": SMALL_TICKERS, "n_scenarios": 8, "hours": 720, "quarters": 4, **kw}
    return make_spec(bands=_default_bands(), calibration=calib, cal=cal, **args)


@pytest.fixture(scope="session")
def small_set(tmp_path_factory: pytest.TempPathFactory, hourly_calibration, cal) -> ScenarioSet:
    out = tmp_path_factory.mktemp("cge_sets")
    sset, reused = generate(small_spec(hourly_calibration, cal), out)
    assert not reused
    return sset


@pytest.fixture(scope="session")
def sample_frames() -> dict:
    """Real hourly bars of BTC and ETH from the bundled sample (skips when absent)."""
    from cappuccino_core.cge.garch_fit import find_real_file, read_hourly

    root = Path(__file__).resolve().parents[3]
    try:
        return {
            t: read_hourly(find_real_file(t, "binance", root / "data" / "sample", None))
            for t in ("BTC/USDT", "ETH/USDT")
        }
    except FileNotFoundError as exc:
        pytest.skip(f"bundled real sample missing: {exc}")
