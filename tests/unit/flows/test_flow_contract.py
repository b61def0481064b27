"""What a user sees of the deployed flows: every parameter described, no test-only parameter, and retries
only where a failure is transient (network, a locked database)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOYED = [d["entrypoint"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]]
SUBFLOWS = [
    "flows/ingest.py:ingest",
    "flows/augment.py:augment",
    "flows/train.py:train",
    "flows/gates.py:gates",
]


def _flow(entrypoint: str):
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


@pytest.mark.parametrize("entrypoint", DEPLOYED + SUBFLOWS)
def test_every_parameter_has_a_description(entrypoint: str) -> None:
    props = _flow(entrypoint).parameters.model_dump()["properties"]
    assert props, entrypoint
    missing = [name for name, p in props.items() if not p.get("description")]
    assert not missing, f"{entrypoint}: parameters without a description: {missing}"


def test_no_test_only_parameter_in_production_flows() -> None:
    for entrypoint in DEPLOYED + SUBFLOWS:
        names = set(_flow(entrypoint).parameters.model_dump()["properties"])
        assert not {n for n in names if "inject" in n or "fault" in n}, (entrypoint, names)


def test_monthly_retrain_fetches_unless_the_sample_is_asked_for() -> None:
    props = _flow("flows/retrain.py:retrain").parameters.model_dump()["properties"]
    assert props["source"].get("default") is None
    assert "sample" in props["source"]["description"]


def test_only_transient_failures_retry() -> None:
    from prefect import Task

    import tasks.common
    import tasks.data
    import tasks.stages

    retrying = {
        t.name: t.retries
        for mod in (tasks.common, tasks.data, tasks.stages)
        for t in vars(mod).values()
        if isinstance(t, Task) and t.retries
    }
    # Remote downloads (network) and the state-store calls (a locked SQLite file) retry; local imports,
    # deterministic computation, training phases, gates and anything that trades do not.
    assert retrying == {"update-bars": 4, "emergency-stop?": 3, "record-stage": 3}
    flows_retrying = {e: _flow(e).retries for e in DEPLOYED + SUBFLOWS if _flow(e).retries}
    assert flows_retrying == {"flows/train.py:train": 1}  # a failed training worker: the phase reruns


def test_downloads_retry_only_transient_failures() -> None:
    from prefect.states import Completed, Failed

    from cappuccino_core.data.http import SourceRejected, SourceUnavailable
    from tasks.data import transient_failure, update_bars

    assert update_bars.retry_condition_fn is transient_failure

    def retried(exc: BaseException) -> bool:
        return transient_failure(None, None, Failed(data=exc))

    assert retried(SourceUnavailable("alpaca", "BTC/USD", "503 after 5 tries"))
    assert retried(ConnectionError("reset")) and retried(TimeoutError("read timed out"))
    assert not retried(SourceRejected("alpaca", "BTC/USD", "400 bad symbol", status=400))
    assert not retried(ValueError("venue 'binance' has no download source"))
    assert not transient_failure(None, None, Completed(data=1))
