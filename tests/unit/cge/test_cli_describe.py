"""`cappuccino cge generate | describe | plot | calibrate`, and the describe statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cappuccino_cli.main import app
from cappuccino_core.cge.describe import asset_summary, macro_summary, max_drawdown, path_stats

ROOT = Path(__file__).resolve().parents[3]


def _config(tmp_path: Path, **cge: object) -> Path:
    lines = [
        "[paths]",
        f'sample_dir = "{ROOT / "data" / "sample"}"',
        f'reports_dir = "{tmp_path / "reports"}"',
        "[data]",
        'tickers = ["BTC/USDT", "ETH/USDT"]',
        "[cge]",
        f'output_dir = "{tmp_path / "cge"}"',
        "n_scenarios = 8",
        "hours = 240",
        "workers = 1",
    ]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in cge.items()]
    p = tmp_path / "c.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_generate_describe_plot(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["cge", "generate", "-c", str(cfg)])
    assert first.exit_code == 0, first.output
    assert "wrote" in first.output and "band" in first.output and "homotopy" in first.output
    again = runner.invoke(app, ["cge", "generate", "-c", str(cfg)])
    assert again.exit_code == 0 and "reused" in again.output
    forced = runner.invoke(app, ["cge", "generate", "-c", str(cfg), "--force"])
    assert forced.exit_code == 0 and "wrote" in forced.output
    desc = runner.invoke(app, ["cge", "describe", "-c", str(cfg)])
    assert desc.exit_code == 0, desc.output
    for word in ("normal", "crisis", "vol", "policy", "GDP"):
        assert word in desc.output
    out = tmp_path / "fan.png"
    res = runner.invoke(app, ["cge", "plot", "-c", str(cfg), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_cli_errors_are_one_clear_line(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["cge", "describe", "-c", str(_config(tmp_path))])
    assert res.exit_code == 2 and "no scenario set" in res.output
    bad = _config(tmp_path, tickers=["BTC/USDT", "PEPE/USDT"])
    res = runner.invoke(app, ["cge", "generate", "-c", str(bad)])
    assert res.exit_code == 2 and "PEPE" in res.output


def test_calibrate_refits_from_the_real_sample(tmp_path: Path, sample_frames) -> None:
    res = CliRunner().invoke(app, ["cge", "calibrate", "-c", str(_config(tmp_path))])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cge" / "hourly_calibration.json").is_file() and "BTC/USDT" in res.output


def test_describe_statistics(small_set) -> None:
    p = np.array([[100.0, 120.0, 60.0, 90.0, 150.0]])[:, :, None]
    assert max_drawdown(p, axis=1)[0, 0] == pytest.approx(0.5)
    st = path_stats(p, years=1.0)
    assert st["log_return_1y"][0, 0] == pytest.approx(np.log(1.5))
    a = asset_summary(small_set)
    assert set(a["ticker"]) == set(small_set.tickers) and a["n"].sum() == 8 * len(small_set.tickers)
    assert (a["ann_vol"] > 0).all() and a["band_flag_rate"].is_between(0, 1).all()
    m = macro_summary(small_set)
    q0 = m.filter(m["quarter"] == 0)
    assert np.allclose(q0["gdp_pct"].to_numpy(), 0.0) and np.allclose(q0["unemployment_pct"].to_numpy(), 5.0)
