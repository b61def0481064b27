"""EnvConfig presets for tests.

``NO_BAND``: the turnover controls off (no hold region, no no-trade band, no minimum order share), so an
action maps straight to its target weight, as in the hand-computed expectations of the kernel, rule and
backtest tests. Tests of the controls themselves set them explicitly.
"""

from __future__ import annotations

from typing import Any

NO_BAND: dict[str, Any] = {"hold_band": 0.0, "rebalance_band": 0.0, "min_order_fraction": 0.0}
