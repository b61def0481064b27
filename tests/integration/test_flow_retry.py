"""A failed training task is retried at flow level (the train flow's retries) and the flow completes.

Runs the real train flow on Prefect's ephemeral API; the Optuna phase itself is replaced by a recorder
(the real one is covered by the server test), so this checks the orchestration: which attempt failed,
that the retry re-ran both phases, and the final state.
"""

from __future__ import annotations

from typing import Any

import pytest

from cappuccino_core.training import study as study_mod


class _Report:
    """The fields of training.study.PhaseReport the train task reads."""

    def __init__(self, phase: int) -> None:
        self.study = f"test-phase{phase}"
        self.states = {"COMPLETE": 1}
        self.best = {"value": 0.1, "params": {}}
        self.all_terminal_with_reason = True
        self.worker_exitcodes = [0]
        self.summary = None
        self.phase = phase


FAILURES = "CAPPUCCINO_TEST_TRAIN_FAILURES"


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[int]:
    """The recorder; its fault hook fails the first $CAPPUCCINO_TEST_TRAIN_FAILURES phase-1 calls before
    any work (fault injection from the test, no production parameter)."""
    import os

    seen: list[int] = []
    failed: list[int] = []

    def fake_run_phase(s: Any, phase: int, **kw: Any) -> _Report:
        if phase == 1 and len(failed) < int(os.environ.get(FAILURES, "0")):
            failed.append(phase)
            raise RuntimeError(f"injected failure in train-phase {phase} (fault injection)")
        seen.append(phase)
        return _Report(phase)

    monkeypatch.setattr(study_mod, "run_phase", fake_run_phase)
    for key, value in {
        "CAPPUCCINO_PATHS__STATE_URL": settings.paths.state_url,
        "CAPPUCCINO_PATHS__DATA_ROOT": str(settings.paths.data_root),
    }.items():
        monkeypatch.setenv(key, value)
    return seen


def _attempts(flow_run_id: Any) -> tuple[Any, list[str]]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as c:
        fr = c.read_flow_run(flow_run_id)
        history = [s.type.value for s in c.read_flow_run_states(flow_run_id)]
    return fr, history


def test_injected_training_failure_is_retried_and_the_flow_completes(
    calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.train import train

    monkeypatch.setenv(FAILURES, "1")
    state = train.with_options(retry_delay_seconds=0)(phase1_trials=1, phase2_trials=1, return_state=True)
    assert state.is_completed(), state
    out = state.result()
    assert out["phase1"]["states"] == {"COMPLETE": 1} and out["phase2"]["exit_codes"] == [0]
    # Attempt 1 failed in train-phase 1 before any work; attempt 2 ran phase 1 then phase 2 once each.
    assert calls == [1, 2]
    fr, history = _attempts(state.state_details.flow_run_id)
    assert fr.run_count == 2
    assert "AWAITINGRETRY" in history or "SCHEDULED" in history, history
    assert history[-1] == "COMPLETED"


def test_failures_beyond_the_retries_fail_the_flow(calls: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.train import train

    monkeypatch.setenv(FAILURES, "2")
    state = train.with_options(retry_delay_seconds=0)(return_state=True)
    assert state.is_failed(), state
    assert calls == []  # both attempts failed before training
    fr, _ = _attempts(state.state_details.flow_run_id)
    assert fr.run_count == 2
    with pytest.raises(RuntimeError, match="injected failure in train-phase 1"):
        state.result()
