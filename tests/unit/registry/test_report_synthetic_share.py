"""The study report states the synthetic share of each CPCV split's training rows (logged per split)."""

from __future__ import annotations

from rich.console import Console

from cappuccino_core.registry.report import StudyReport
from cappuccino_core.registry.trials import TrialRecord


def _trial(k: int, shares: list[float]) -> TrialRecord:
    metrics = {f"test_{i}/synthetic_share": s for i, s in enumerate(shares)}
    return TrialRecord(f"r{k}", k, "COMPLETE", 0.1, {}, {**metrics, "test/sharpe": 1.0}, None, False)


def test_report_prints_the_split_share_range() -> None:
    rep = StudyReport(
        "s", [_trial(0, [0.2995, 0.3004]), _trial(1, [0.3001])], 2, 2, 0, 0, None, None, None, None
    )
    assert rep.synthetic_share_line() == "synthetic share of split training rows: 29.9-30.0% (3 splits)"
    console = Console(record=True, width=200)
    console.print(rep)
    assert "synthetic share of split training rows: 29.9-30.0%" in console.export_text()
    none = StudyReport("s", [_trial(0, [])], 1, 1, 0, 0, None, None, None, None)
    assert none.synthetic_share_line() is None  # a study without synthetic rows says nothing
