"""Secret filtering rules, without MLflow."""

from __future__ import annotations

import pytest

from cappuccino_core.registry.redact import (
    REDACTED,
    is_secret_name,
    redact_mapping,
    redact_text,
    safe_str_mapping,
    secret_values,
)


@pytest.mark.parametrize(
    "name",
    [
        "ALPACA_SECRET_KEY",
        "ALPACA_API_KEY",
        "COINBASE_API_SECRET",
        "PGPASSWORD",
        "github_token",
        "key",
        "private_key",
        "db.password",
        "AUTH",
        "Authorization",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["learning_rate", "net_arch", "target_kl", "author", "monkey", "keyframe", "costs.taker_fee", "gamma"],
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_values_from_environment_are_redacted() -> None:
    env = {"ALPACA_SECRET_KEY": "abcdef123456", "SHORT_TOKEN": "abc", "HOME": "/root", "APCA_KEY": "zzzzzz"}
    assert secret_values(env) == ["abcdef123456", "zzzzzz"]  # short values ignored, longest first
    secrets = secret_values(env)
    assert (
        redact_text("x=abcdef123456;y=zzzzzz;home=/root", secrets) == f"x={REDACTED};y={REDACTED};home=/root"
    )
    nested = {"broker": {"secret": "abcdef123456", "url": "https://u:pass99@h", "ids": ["zzzzzz", 3]}}
    assert redact_mapping(nested, secrets) == {
        "broker": {"url": f"https://u:{REDACTED}@h", "ids": [REDACTED, 3]}
    }


def test_safe_str_mapping_keeps_exact_float_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_API_KEY", "k-123456789")
    out = safe_str_mapping(
        {"lr": 3e-4, "n": 256, "arch": "64x64", "flag": True, "api_key": "x", "v": ["k-123456789"]}
    )
    assert out == {"lr": "0.0003", "n": "256", "arch": "64x64", "flag": "True", "v": f"['{REDACTED}']"}
