"""Configuration: TOML + environment overrides, clear errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cappuccino_core.config import ConfigError, load_settings


def test_defaults_match_coinbase_entry_tier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.costs.maker_fee == 0.006
    assert s.costs.taker_fee == 0.012


def test_toml_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\ntickers = ["ETH/USD", "BTC/USD"]\n[costs]\ntaker_fee = 0.008\n')
    s = load_settings(cfg)
    assert s.data.tickers == ["ETH/USD", "BTC/USD"]  # order kept, never sorted
    assert s.costs.taker_fee == 0.008
    monkeypatch.setenv("CAPPUCCINO_COSTS__TAKER_FEE", "0.004")
    assert load_settings(cfg).costs.taker_fee == 0.004


def test_a_loaded_file_does_not_leak_into_later_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings() after load_settings(file) has the defaults, not that file's values (the file path was a
    module global: a test constructing Settings() read whichever file the worker had loaded last)."""
    from cappuccino_core.config import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPPUCCINO_CONFIG", raising=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\ntickers = ["ETH/USD", "BTC/USD"]\n')
    assert load_settings(cfg).data.tickers == ["ETH/USD", "BTC/USD"]
    assert Settings().data.tickers == load_settings().data.tickers != ["ETH/USD", "BTC/USD"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[costs]\ntaker_fee = -1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(bad)
    assert Settings().costs.taker_fee == 0.012  # a failed load leaves nothing behind either


def test_invalid_value_names_field(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[costs]\ntaker_fee = -1\n")
    with pytest.raises(ConfigError, match=r"costs\.taker_fee"):
        load_settings(cfg)


def test_unknown_field_is_an_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[costs]\ntaker_fe = 0.01\n")
    with pytest.raises(ConfigError, match="taker_fe"):
        load_settings(cfg)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_duplicate_tickers_rejected(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\ntickers = ["BTC/USD", "BTC/USD"]\n')
    with pytest.raises(ConfigError, match=r"data\.tickers.*duplicate"):
        load_settings(cfg)
