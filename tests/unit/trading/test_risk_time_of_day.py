"""Time-of-day size reduction (risk.rules.time_of_day) on hand-computed cases: one account, price 100."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cappuccino_core.common.registry import UnknownName
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.trading.risk import RiskManager, rules_from_config
from cappuccino_core.trading.risk.time_of_day import TimeOfDaySizeReduction
from tests.unit.trading.test_risk_rules import OFF, ctx

# ctx(...)'s hour 0 is 2024-10-04 00:00 UTC = 2024-10-03 20:00 in New York (EDT, UTC-4).


def manager(tod: dict[str, Any], **on: float | int) -> RiskManager:
    return RiskManager.from_config(RiskConfig(**{**OFF, **on}, rules={"time_of_day": tod}))


def order(rm: RiskManager, q: float, hour: float, hold: float = 0.0) -> float:
    return float(rm.apply(np.array([[q]]), ctx([100.0], 10_000.0, [hold], hour))[0, 0])


def test_off_unless_configured() -> None:
    names = [type(r).__name__ for r in rules_from_config(RiskConfig())]
    assert "TimeOfDaySizeReduction" not in names
    cfg = RiskConfig(rules={"time_of_day": {"enabled": False}})
    assert not any(isinstance(r, TimeOfDaySizeReduction) for r in rules_from_config(cfg))


def test_buys_halved_in_the_default_windows_utc() -> None:
    rm = manager({})  # windows [9, 10) and [15, 16) UTC, factor 0.5
    assert order(rm, 10.0, 8.99) == 10.0
    assert order(rm, 10.0, 9.0) == 5.0
    assert order(rm, 10.0, 9.99) == 5.0
    assert order(rm, 10.0, 10.0) == 10.0
    assert order(rm, 10.0, 15.5) == 5.0
    assert order(rm, 10.0, 16.0) == 10.0


def test_exits_never_cut() -> None:
    rm = manager({"factor": 0.25})
    assert order(rm, -3.0, 9.5, hold=5.0) == -3.0


def test_after_the_max_trade_size_and_before_the_minimum_value() -> None:
    # 20 units = 2000 > 10% of 10,000: capped to 10 units, then halved to 5.
    rm = manager({}, max_trade_fraction=0.10)
    assert order(rm, 20.0, 9.5) == 5.0
    # 0.03 units = 3 quote; x 0.25 = 0.75 quote, under min_trade_value 1: dropped.
    rm = manager({"factor": 0.25}, min_trade_value=1.0)
    assert order(rm, 0.03, 9.5) == 0.0
    assert order(rm, 0.03, 11.0) == 0.03


def test_configured_timezone_and_windows() -> None:
    rm = manager({"windows": [[9, 10]], "factor": 0.2, "timezone": "America/New_York"})
    assert order(rm, 10.0, 13.5) == pytest.approx(2.0)  # 09:30 in New York (EDT)
    assert order(rm, 10.0, 9.5) == 10.0  # 05:30 in New York


@pytest.mark.parametrize(
    ("tod", "match"),
    [
        ({"windows": [[10, 9]]}, "0 <= start < end <= 24"),
        ({"factor": 0.0}, "factor"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
        ({"hours": [9]}, "hours"),
    ],
)
def test_bad_settings_name_the_rule_and_the_field(tod: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match) as e:
        rules_from_config(RiskConfig(rules={"time_of_day": tod}))
    assert "risk.rules.time_of_day" in str(e.value)


def test_unknown_rule_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName, match="unknown risk rule") as e:
        rules_from_config(RiskConfig(rules={"tiem_of_day": {}}))
    assert "'tiem_of_day'" in str(e.value) and "time_of_day" in str(e.value) and "stop_loss" in str(e.value)


def test_the_readme_config_block_turns_the_rule_on(tmp_path: Path) -> None:
    import re
    import tomllib

    readme = (Path(__file__).parents[3] / "README.md").read_text()
    block = re.search(r"```toml\n(\[risk\.rules\.time_of_day\]\n.*?)```", readme, re.S)
    assert block, "no [risk.rules.time_of_day] block in the README"
    cfg = RiskConfig(**tomllib.loads(block.group(1))["risk"])
    [rule] = [r for r in rules_from_config(cfg) if isinstance(r, TimeOfDaySizeReduction)]
    assert rule.settings.windows == ((9, 10), (15, 16)) and rule.settings.factor == 0.5
