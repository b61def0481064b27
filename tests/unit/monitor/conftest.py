from __future__ import annotations

import pytest

from cappuccino_core.state import StateStore


@pytest.fixture()
def store(settings) -> StateStore:
    return StateStore(settings.paths.state_url)
