"""The trial child process: results, errors, wall-time and memory limits, crashes, kill on prune."""

from __future__ import annotations

import time

import psutil
import pytest

from cappuccino_core.training.trial_runner import ChildStats, Limits, TrialEnded, run_in_child

F = "tests.unit.training.faults:"
LIMITS = Limits(timeout_s=60, memory_mb=1000)


def test_result_and_messages() -> None:
    seen: list[dict] = []
    stats = ChildStats()
    assert run_in_child(F + "ok", {"n": 3}, LIMITS, seen.append, stats) == "done"
    assert [m["split"] for m in seen] == [0, 1, 2]
    assert stats.exitcode == 0 and stats.peak_rss_mb > 0


def test_error_is_reported_with_reason() -> None:
    with pytest.raises(TrialEnded) as ei:
        run_in_child(F + "raise_error", {}, LIMITS)
    assert ei.value.kind == "error" and "injected failure" in ei.value.reason
    assert "Traceback" in ei.value.detail


def test_non_finite_is_classified() -> None:
    with pytest.raises(TrialEnded) as ei:
        run_in_child(F + "non_finite", {}, LIMITS)
    assert ei.value.kind == "non_finite"


def test_wall_time_limit_kills_child() -> None:
    stats = ChildStats()
    t0 = time.monotonic()
    with pytest.raises(TrialEnded) as ei:
        run_in_child(F + "sleep", {"seconds": 60}, Limits(timeout_s=2, memory_mb=1000), None, stats)
    assert ei.value.kind == "timeout"
    assert time.monotonic() - t0 < 15
    assert stats.exitcode is not None  # reaped


def test_memory_cap_kills_child() -> None:
    stats = ChildStats()
    with pytest.raises(TrialEnded) as ei:
        run_in_child(F + "allocate", {"mb": 1500}, Limits(timeout_s=60, memory_mb=600), None, stats)
    assert ei.value.kind == "memory" and "cap" in ei.value.reason
    assert stats.peak_rss_mb > 600


def test_hard_exit_is_a_crash() -> None:
    with pytest.raises(TrialEnded) as ei:
        run_in_child(F + "hard_exit", {}, LIMITS)
    assert ei.value.kind == "crash" and "code 7" in ei.value.reason


def test_exception_in_handler_kills_child() -> None:
    pids: list[int] = []

    def handler(msg: dict) -> None:
        pids.append(msg["pid"])
        raise KeyError("prune")

    with pytest.raises(KeyError):
        run_in_child(F + "report_pid", {}, LIMITS, handler)
    assert not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
