"""Training settings (owned by the training stage; add fields with a description each)."""

from __future__ import annotations

from cappuccino_core.config.base import Section


class TrainingConfig(Section):
    pass
