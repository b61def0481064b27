"""Progress of long work: the meter's ETA arithmetic and throttle, a failing display dropped, the stress
run's and the training study's reports, the rich bar in the terminal, the Prefect progress artifact."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from cappuccino_core.progress import ProgressMeter, ProgressReport, rich_callback


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_eta_by_hand_and_the_throttle() -> None:
    clock, got = Clock(), []
    m = ProgressMeter("work", 10, [got.append], min_interval_s=5.0, clock=clock)
    clock.t += 6.0
    m.advance(3, "three")  # 3 of 10 after 6 s: 2 s each, 7 to go -> ETA 14 s
    assert got[-1].eta_s == pytest.approx(14.0) and got[-1].fraction == pytest.approx(0.3)
    assert got[-1].line() == "work: 3/10 (30%), 6 s elapsed, ETA 14 s; three"
    clock.t += 1.0
    m.advance(1)  # within 5 s of the last report: held
    assert len(got) == 1
    m.update(10)  # the last unit is always reported
    assert got[-1].done == 10 and got[-1].eta_s is None and len(got) == 2
    with pytest.raises(ValueError, match="total of 'x'"):
        ProgressMeter("x", -1)


def test_a_failing_display_is_dropped_and_the_work_goes_on(caplog) -> None:
    calls = []

    def broken(r: ProgressReport) -> None:
        raise RuntimeError("terminal gone")

    m = ProgressMeter("w", 3, [broken, calls.append], min_interval_s=0.0)
    m.advance()
    m.advance()
    assert len(calls) == 2 and m.callbacks == [calls.append]
    assert "terminal gone" in caplog.text


def test_stress_run_reports_bars_up_to_the_longest_scenario() -> None:
    from cappuccino_core.backtest.baselines import make_baseline
    from cappuccino_core.gates import run_stress
    from tests.unit.gates.test_stress_gate import ALL_IN, BARS, FREE, scenario_data

    data = scenario_data([0.01, -0.005])
    got: list[ProgressReport] = []
    run_stress(make_baseline("equal_weight", data.tickers, ALL_IN), data, ALL_IN, FREE, progress=got.append)
    assert got[0].task == "stress 2 scenarios" and got[-1].done == got[-1].total == BARS - 2
    assert got[-1].detail == "done"


def test_training_study_progress_reports_trials_eta_and_best() -> None:
    from optuna.trial import TrialState

    from cappuccino_core.training.study import trial_progress

    t0 = datetime(2026, 1, 1)

    def trial(n: int, state: TrialState, value: float | None) -> SimpleNamespace:
        return SimpleNamespace(number=n, state=state, value=value, datetime_start=t0,
                               datetime_complete=t0 + timedelta(minutes=n))  # fmt: skip

    trials = [trial(0, TrialState.COMPLETE, 0.5), trial(1, TrialState.PRUNED, None),
              trial(2, TrialState.COMPLETE, 0.2), trial(3, TrialState.RUNNING, None)]  # fmt: skip
    study = SimpleNamespace(get_trials=lambda deepcopy: trials, best_value=0.5)
    got: list[ProgressReport] = []
    poll = trial_progress(study, 10, "phase 2 trials", got.append, every_s=60.0)
    poll()
    poll()  # within every_s: not read again
    assert len(got) == 1
    assert (got[0].task, got[0].done, got[0].total) == ("phase 2 trials", 3, 10)
    assert got[0].detail == "1 running; trial 2 COMPLETE 0.2000; best 0.5000"
    poll(final=True)
    assert len(got) == 2


def test_rich_bar_in_the_terminal() -> None:
    from rich.console import Console

    console = Console(record=True, width=120, force_terminal=False)
    with rich_callback(console) as cb:
        m = ProgressMeter("phase 2 trials", 4, [cb], min_interval_s=0.0)
        m.advance(4, "best 0.4200")
    out = console.export_text()
    assert "phase 2 trials" in out and "4/4" in out and "best 0.4200" in out
