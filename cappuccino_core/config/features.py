"""Feature set: TA-Lib indicators by name and parameters, lookback and normalisation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cappuccino_core.config.base import Section


class IndicatorConfig(Section):
    """One technical indicator of the feature set: its TA-Lib name and parameters."""

    name: str = Field(description="indicator name, e.g. rsi, macd, cci, dx, roc, ultosc, willr, obv")
    params: dict[str, Any] = Field(default_factory=dict, description="TA-Lib parameters")


# The default feature set by name; each indicator's parameter defaults live with the indicator
# (features/indicators.py), not here, and are filled in (and recorded in the FeatureSpec) on resolution.
DEFAULT_INDICATORS = (
    "close", "volume", "rsi", "macd", "cci", "dx", "roc", "ultosc", "willr", "obv", "ht_dcphase", "atr",
    "bbwidth", "adx",
)  # fmt: skip


def _default_indicators() -> list[IndicatorConfig]:
    return [IndicatorConfig(name=n) for n in DEFAULT_INDICATORS]


class FeaturesConfig(Section):
    """``[features]``: the indicators, the observation lookback and the normalisation."""

    indicators: list[IndicatorConfig] = Field(default_factory=_default_indicators)
    lookback: int = Field(5, ge=1, description="bars of features in one observation")
    normalisation: Literal["zscore", "none"] = Field("zscore", description="fitted on training data only")
