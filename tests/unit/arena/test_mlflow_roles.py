"""The referee on the real MLflow registry (temp SQLite): aliases move, tags and audit rows are written."""

from __future__ import annotations

import pytest

from cappuccino_core.arena import MlflowRoleBook, Referee, Transition, holders


@pytest.fixture()
def tracking(settings):
    from cappuccino_core.registry import Tracking

    return Tracking.from_settings(settings)


def _versions(tracking, n: int) -> list[str]:
    client = tracking.activate()
    name = tracking.registered_model_name
    client.create_registered_model(name)
    exp = client.create_experiment("arena-test")
    out = []
    for _ in range(n):
        run = client.create_run(exp)
        client.create_model_version(name, source=f"runs:/{run.info.run_id}/policy", run_id=run.info.run_id)
        out.append(run.info.run_id)
    return out


def test_transitions_move_mlflow_aliases(tracking, store) -> None:
    from cappuccino_core.registry import find_version, get_role

    a, b = _versions(tracking, 2)
    ref = Referee(store, MlflowRoleBook(tracking))
    ref.apply(Transition(a, "to_production", "production", "first", alias="production"))
    ref.apply(Transition(b, "to_sandbox", "sandbox", "20 wins", {"consecutive_wins": 20}, alias="sandbox"))
    assert get_role("production", tracking=tracking).run_id == a
    assert get_role("sandbox", tracking=tracking).run_id == b
    ref.apply(Transition(a, "retire", "retired", "replaced"))
    ref.apply(
        Transition(b, "replace_production", "production", "beat a", alias="production", clear_alias="sandbox")
    )
    assert get_role("production", tracking=tracking).run_id == b
    assert get_role("sandbox", tracking=tracking) is None
    assert holders(store, "production") == [b]
    tags = find_version(b, tracking=tracking).tags
    assert tags["arena.replace_production"].endswith("beat a") and "arena.to_sandbox" in tags
    assert [r.action for r in store.audit_log(subject=b)] == ["arena:replace_production", "arena:to_sandbox"]
