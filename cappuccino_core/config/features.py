"""Feature set: TA-Lib indicators by name and parameters, lookback and normalisation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cappuccino_core.config.base import Section


class IndicatorConfig(Section):
    """One technical indicator of the feature set: its TA-Lib name and parameters."""

    name: str = Field(description="indicator name, e.g. rsi, macd, cci, dx, roc, ultosc, willr, obv")
    params: dict[str, Any] = Field(default_factory=dict, description="TA-Lib parameters")


def _default_indicators() -> list[IndicatorConfig]:
    spec: list[tuple[str, dict[str, Any]]] = [
        ("close", {}),
        ("volume", {}),
        ("rsi", {"timeperiod": 14}),
        ("macd", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
        ("cci", {"timeperiod": 14}),
        ("dx", {"timeperiod": 14}),
        ("roc", {"timeperiod": 10}),
        ("ultosc", {"timeperiod1": 7, "timeperiod2": 14, "timeperiod3": 28}),
        ("willr", {"timeperiod": 14}),
        ("obv", {}),
        ("ht_dcphase", {}),
        ("atr", {"timeperiod": 14}),
        ("bbwidth", {"timeperiod": 20, "nbdev": 2.0}),
        ("adx", {"timeperiod": 14}),
    ]
    return [IndicatorConfig(name=n, params=p) for n, p in spec]


class FeaturesConfig(Section):
    """``[features]``: the indicators, the observation lookback and the normalisation."""

    indicators: list[IndicatorConfig] = Field(default_factory=_default_indicators)
    lookback: int = Field(5, ge=1, description="bars of features in one observation")
    normalisation: Literal["zscore", "none"] = Field("zscore", description="fitted on training data only")
