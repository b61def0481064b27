"""Features: TA-Lib indicators, the FeatureSpec, and the aligned arrays every consumer reads."""

from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.features.spec import FeatureSpec, FeatureSpecMismatch

__all__ = ["FeatureSpec", "FeatureSpecMismatch", "MarketDataset"]
