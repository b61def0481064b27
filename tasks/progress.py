"""Progress of long work inside a flow: a Prefect progress artifact per piece of work (percent done, with
the ETA and detail line in its description) and a log line at each tenth. Outside a run: log lines only."""

from __future__ import annotations

import re
from typing import Any

from cappuccino_core.progress import ProgressReport


class PrefectProgress:
    """A :data:`cappuccino_core.progress.ProgressCallback` that keeps one progress artifact per task."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: dict[str, Any] = {}
        self.logged: dict[str, int] = {}

    def key(self, task: str) -> str:
        """Artifact keys: lowercase letters, digits and dashes."""
        return re.sub(r"[^a-z0-9-]+", "-", f"{self.prefix}-{task}".lower()).strip("-")[:100]

    def __call__(self, r: ProgressReport) -> None:
        from prefect.context import FlowRunContext, TaskRunContext

        from tasks.common import logger

        tenth = int(r.fraction * 10)
        if self.logged.get(r.task) != tenth:
            self.logged[r.task] = tenth
            logger().info("progress %s", r.line())
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        from prefect.artifacts import create_progress_artifact, update_progress_artifact

        pct = round(100.0 * r.fraction, 1)
        if r.task not in self.ids:
            self.ids[r.task] = create_progress_artifact(
                progress=pct, key=self.key(r.task), description=r.line()
            )
        else:
            update_progress_artifact(self.ids[r.task], progress=pct, description=r.line())


def ingest_progress(callback: PrefectProgress) -> Any:
    """Adapts the ingest module's per-symbol reports (bar intervals of each window) to ``callback``."""
    import time

    started: dict[str, float] = {}

    def on(ev: Any) -> None:
        t0 = started.setdefault(ev.key, time.monotonic())
        detail = f"{ev.bars} bars" if ev.bars else ev.stage
        callback(
            ProgressReport(
                f"download {ev.key}", ev.completed, max(ev.total, 1), time.monotonic() - t0, detail
            )
        )

    return on
