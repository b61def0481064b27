"""The scenario set: frozen mix and seeds, versioned, reproducible bit for bit, written atomically, reused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.cge import generate as gen
from cappuccino_core.cge.regimes import DEFAULT_MIX, REGIMES
from cappuccino_core.cge.scenarios import interleave, scenario_seed, simulate_ids
from cappuccino_core.cge.store import DATA_FILES, MANIFEST, ScenarioSet, file_sha256

from .conftest import SMALL_TICKERS, small_spec


def test_frozen_mix_and_seeds() -> None:
    regs = interleave(DEFAULT_MIX)
    assert len(regs) == 200 and {r: regs.count(r) for r in REGIMES} == DEFAULT_MIX
    assert set(regs[:10]) == set(REGIMES)  # any prefix has the whole mix
    assert regs[:8] == ["normal", "bear", "bull", "crisis", "normal", "bear", "normal", "bull"]
    # published seeds: changing the rule changes every result of the stress gate
    assert scenario_seed(20250701, 0) == scenario_seed(20250701, 0)
    assert [scenario_seed(20250701, k) for k in range(3)] == [
        6538255001053292242,
        5963384164817018658,
        15755286825194788804,
    ]
    assert len({scenario_seed(20250701, k) for k in range(200)}) == 200


def test_set_layout_manifest_and_tables(small_set: ScenarioSet) -> None:
    m = small_set.manifest
    assert small_set.path.name == f"{m['version']}-{m['config_hash'][:12]}"
    for key in (
        "version",
        "config_hash",
        "content_hash",
        "regime_mix",
        "base_seed",
        "seed_rule",
        "tickers",
        "bands",
        "solver",
        "band_flag_rate",
        "band_flag_rate_by_regime",
        "model_params",
        "regime_params",
    ):
        assert key in m, key
    assert m["tickers"] == SMALL_TICKERS and m["n_scenarios"] == 8 and sum(m["regime_mix"].values()) == 8
    sc = small_set.scenarios
    assert sc.columns[:3] == ["scenario_id", "regime", "seed"]
    assert sc["scenario_id"].to_list() == list(range(8))
    assert sc["seed"].to_list() == [scenario_seed(m["base_seed"], k) for k in range(8)]
    assert sc["converged"].all() and (sc["max_abs_walras"] < 1e-9).all()
    macro = small_set.macro
    assert macro.height == 8 * 5 and {"gdp", "unemployment", "inflation", "policy_rate", "ln_pc"} <= set(
        macro.columns
    )
    p = small_set.all_prices()
    assert p.shape == (8, 721, 3) and np.isfinite(p).all() and (p > 0).all()
    np.testing.assert_array_equal(small_set.prices(5), p[5])
    assert m["solver"]["failure_rate"] == 0.0 and 0.0 <= m["band_flag_rate"] <= 1.0
    small_set.verify()


def test_generation_is_reproducible_bit_for_bit(tmp_path: Path, hourly_calibration, cal, small_set) -> None:
    spec = small_spec(hourly_calibration, cal)
    again, reused = gen.generate(spec, tmp_path)
    assert not reused
    assert again.content_hash == small_set.content_hash
    for name in DATA_FILES:
        assert (again.path / name).read_bytes() == (small_set.path / name).read_bytes(), name


def test_a_scenario_does_not_depend_on_its_batch(hourly_calibration, cal) -> None:
    spec = small_spec(hourly_calibration, cal)
    all8 = simulate_ids(spec, list(range(8)))
    one = simulate_ids(spec, [6])
    assert np.array_equal(all8.prices[6], one.prices[0]) and np.array_equal(all8.macro[6], one.macro[0])


def test_workers_do_not_change_the_bytes(tmp_path: Path, hourly_calibration, cal, small_set) -> None:
    from cappuccino_core.cge import scenarios

    spec = small_spec(hourly_calibration, cal)
    old = scenarios.CHUNK
    scenarios.CHUNK = 3  # several batches over two processes
    try:
        par, _ = gen.generate(spec, tmp_path, workers=2)
    finally:
        scenarios.CHUNK = old
    assert par.content_hash == small_set.content_hash


def test_reuse_force_and_versioning(tmp_path: Path, hourly_calibration, cal) -> None:
    spec = small_spec(hourly_calibration, cal, n_scenarios=2, hours=48)
    first, reused = gen.generate(spec, tmp_path)
    assert not reused
    stamp = (first.path / MANIFEST).stat().st_mtime_ns
    second, reused = gen.generate(spec, tmp_path)
    assert reused and second.path == first.path and (first.path / MANIFEST).stat().st_mtime_ns == stamp
    forced, reused = gen.generate(spec, tmp_path, force=True)
    assert not reused and forced.content_hash == first.content_hash
    other = small_spec(hourly_calibration, cal, n_scenarios=2, hours=48, version="cge-test2")
    assert other.dirname != spec.dirname and other.config_hash() != spec.config_hash()
    seeded = small_spec(hourly_calibration, cal, n_scenarios=2, hours=48, base_seed=1)
    assert seeded.config_hash() != spec.config_hash()
    assert sorted(p.name for p in tmp_path.iterdir()) == [spec.dirname]  # no temporary leftovers


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, hourly_calibration, cal, monkeypatch) -> None:
    spec = small_spec(hourly_calibration, cal, n_scenarios=2, hours=48)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen, "write_tables", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        gen.generate(spec, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_tampering_is_detected(tmp_path: Path, hourly_calibration, cal) -> None:
    sset, _ = gen.generate(small_spec(hourly_calibration, cal, n_scenarios=2, hours=48), tmp_path)
    before = file_sha256(sset.path / "bands.parquet")
    (sset.path / "bands.parquet").write_bytes(b"garbage")
    assert file_sha256(sset.path / "bands.parquet") != before
    with pytest.raises(ValueError, match=r"bands\.parquet"):
        ScenarioSet(sset.path).verify()


def test_missing_band_or_fit_is_refused(hourly_calibration, cal) -> None:
    from cappuccino_core.cge.scenarios import make_spec

    with pytest.raises(ValueError, match="no price band"):
        make_spec(
            tickers=["BTC/USDT", "PEPE/USDT"], bands={"BTC": (1.0, 2.0)}, calibration=hourly_calibration
        )
    with pytest.raises(ValueError, match="lacks"):
        make_spec(tickers=["PEPE/USDT"], bands={"PEPE": (1.0, 2.0)}, calibration=hourly_calibration)


def test_manifest_is_json_with_the_flag_rates(small_set: ScenarioSet) -> None:
    m = json.loads((small_set.path / MANIFEST).read_text())
    assert set(m["band_flag_rate_by_ticker"]) == set(SMALL_TICKERS)
    assert m["solver"]["periods"] == 8 * 4
