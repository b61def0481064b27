"""`cappuccino run`: the main job, the whole lifecycle as one Prefect flow on the embedded default."""

from __future__ import annotations

import os
from pathlib import Path

from cappuccino_cli.common import ConfigOption, console, settings_or_exit


def run(config: Path | None = ConfigOption) -> None:
    settings_or_exit(config)  # an invalid config stops here, before Prefect starts
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The ephemeral API can be slow to start on a loaded 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.main_job import main_job

    console.rule("Cappuccino: main job")
    main_job(str(config) if config else None)
