"""Which models the gates look at: registered versions that never entered the arena, newest first."""

from __future__ import annotations

from cappuccino_core.config import Settings


def new_candidates(settings: Settings, limit: int = 5) -> list[str]:
    """Run ids of the registered versions with no arena standing yet (newest first), at most ``limit``."""
    from cappuccino_core.arena import standings
    from cappuccino_core.registry import Tracking, list_versions
    from cappuccino_core.state import StateStore

    done = {r.run_id for r in standings(StateStore(settings.paths.state_url))}
    versions = list_versions(tracking=Tracking.from_settings(settings))
    return [v.run_id for v in versions if v.run_id not in done][:limit]
