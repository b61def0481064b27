"""Cge settings (owned by the cge stage; add fields with a description each)."""

from __future__ import annotations

from cappuccino_core.config.base import Section


class CgeConfig(Section):
    pass
