"""Progress of long work (training studies, CGE generation, stress tests, downloads) for whoever shows it.

Core code counts work with a :class:`ProgressMeter` and hands each :class:`ProgressReport` (done, total,
elapsed, ETA, a detail line) to the callbacks it was given: the CLI passes a rich progress bar
(:func:`rich_callback`), a flow passes a Prefect progress artifact (``tasks/progress.py``). No callback:
nothing is reported. A callback that fails is logged and dropped; the work goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressReport:
    """Where one piece of work stands. ``eta_s`` is None until something is done (or when done)."""

    task: str
    done: float
    total: float
    elapsed_s: float
    detail: str = ""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.done <= 0 or self.done >= self.total:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)

    def line(self) -> str:
        """``task: 3/10 (30%), 12 s elapsed, ETA 28 s; detail``."""
        eta = "" if self.eta_s is None else f", ETA {_fmt(self.eta_s)}"
        tail = f"; {self.detail}" if self.detail else ""
        return (f"{self.task}: {self.done:g}/{self.total:g} ({self.fraction:.0%}), "
                f"{_fmt(self.elapsed_s)} elapsed{eta}{tail}")  # fmt: skip


def _fmt(s: float) -> str:
    s = max(0.0, s)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


ProgressCallback = Callable[[ProgressReport], None]


class ProgressMeter:
    """Counts ``total`` units of ``task`` and reports to the callbacks (at most every ``min_interval_s``,
    always at the first and the last unit)."""

    def __init__(
        self,
        task: str,
        total: float,
        callbacks: list[ProgressCallback] | None = None,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total < 0:
            raise ValueError(f"progress total of {task!r} must be >= 0, got {total}")
        self.task, self.total, self.clock = task, float(total), clock
        self.callbacks = [c for c in (callbacks or []) if c is not None]
        self.min_interval_s, self.done, self.start = min_interval_s, 0.0, clock()
        self._last = -float("inf")

    def report(self) -> ProgressReport:
        return ProgressReport(self.task, self.done, self.total, self.clock() - self.start)

    def update(self, done: float, detail: str = "", force: bool = False) -> None:
        """Set the units done (and the detail line); report when due."""
        self.done = min(float(done), self.total) if self.total else float(done)
        now = self.clock()
        if not force and self.done < self.total and now - self._last < self.min_interval_s:
            return
        self._last = now
        rep = ProgressReport(self.task, self.done, self.total, now - self.start, detail)
        for cb in list(self.callbacks):
            try:
                cb(rep)
            except Exception as exc:  # a display must never stop the work
                log.warning("progress display for %s failed and is dropped: %s", self.task, exc)
                self.callbacks.remove(cb)

    def advance(self, n: float = 1, detail: str = "") -> None:
        self.update(self.done + n, detail)


@contextmanager
def rich_callback(console: Any = None) -> Iterator[ProgressCallback]:
    """A rich progress bar per task (description, bar, done/total, elapsed, remaining, detail)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), TextColumn("{task.fields[detail]}"), console=console, transient=False,
    ) as bar:  # fmt: skip

        def on_report(r: ProgressReport) -> None:
            if r.task not in tasks:
                tasks[r.task] = bar.add_task(r.task, total=r.total, detail="")
            bar.update(tasks[r.task], completed=r.done, total=r.total, detail=r.detail)

        yield on_report
