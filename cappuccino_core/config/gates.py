"""Gates settings (owned by the gates stage; add fields with a description each)."""

from __future__ import annotations

from cappuccino_core.config.base import Section


class GatesConfig(Section):
    pass
