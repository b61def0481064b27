"""The normal regime's stylised facts sit inside the range real Binance years show (../shared/data/real),
and the facts report (`cappuccino cge describe --facts`) prints them beside the real ones with a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.cge import facts
from cappuccino_core.cge.garch_fit import load_real_hourly
from cappuccino_core.cge.generate import generate
from cappuccino_core.config.cge import _default_bands

ROOT = Path(__file__).resolve().parents[3]
REAL = ROOT.parent / "shared" / "data" / "real"
ALL = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "LINK/USDT", "LTC/USDT", "ADA/USDT", "XRP/USDT", "DOGE/USDT"]


@pytest.fixture(scope="module")
def table(tmp_path_factory, hourly_calibration, cal) -> facts.FactTable:
    if not (REAL / "BINANCE_BTCUSDT_1h.feather").is_file():
        pytest.skip(f"real hourly bars not found in {REAL}")
    from cappuccino_core.cge.scenarios import make_spec

    spec = make_spec(
        tickers=["BTC/USDT", "ETH/USDT"], bands=_default_bands(), calibration=hourly_calibration, cal=cal,
        n_scenarios=80, regime_mix={"normal": 1}, hours=8760, quarters=4,  # the stress set holds 80 normal
    )  # fmt: skip
    sset, _ = generate(spec, tmp_path_factory.mktemp("facts"))
    frames, _ = load_real_hourly(ALL, "binance", None, REAL)
    return facts.describe_facts(sset, frames)


@pytest.mark.parametrize("fact", facts.HELD)
def test_normal_regime_inside_the_real_range(table: facts.FactTable, fact: str) -> None:
    lo, hi = facts.real_range(table, "BTC/USDT", fact)
    value = table.value("normal", "BTC/USDT", fact)
    assert lo <= value <= hi, f"{fact}: synthetic normal {value:.4f} outside real [{lo:.4f}, {hi:.4f}]"


def test_real_facts_on_known_series() -> None:
    """Hand-checkable: an AR(1) |r| proxy's acf, a max move, and a volume profile ratio."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert facts.acf(x, 1) == pytest.approx((-1.5 * -0.5 + -0.5 * 0.5 + 0.5 * 1.5) / 5.0)
    qv = np.tile(np.arange(1.0, 25.0), 3)
    assert facts.hod_ratio(qv, np.tile(np.arange(24), 3)) == pytest.approx(24.0)


def test_describe_facts_cli_prints_the_table_and_writes_the_png(tmp_path: Path, small_set) -> None:
    from typer.testing import CliRunner

    from cappuccino_cli.main import app

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[paths]\nsample_dir = "{ROOT / "data" / "sample"}"\nreports_dir = "{tmp_path}"\n'
        f'[cge]\nreal_data_dir = "{tmp_path / "none"}"\n'
    )
    out = tmp_path / "facts.png"
    res = CliRunner().invoke(
        app, ["cge", "describe", "--facts", "-c", str(cfg), "--set", str(small_set.path), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    for label in ("excess kurtosis", "BTC-ETH", "log-volume autocorrelation", "real median [range]"):
        assert label in res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
