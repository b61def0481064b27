"""Risk settings (owned by the risk stage; add fields with a description each)."""

from __future__ import annotations

from cappuccino_core.config.base import Section


class RiskConfig(Section):
    pass
