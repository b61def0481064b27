"""Registry roles are aliases: one holder each, production only moves, live only on production."""

from __future__ import annotations

import pytest

from cappuccino_core.registry import (
    ROLES,
    RoleError,
    all_roles,
    clear_role,
    find_version,
    get_role,
    list_versions,
    register_policy,
    set_role,
    tag_run,
    tag_version,
    trial_run,
)


@pytest.fixture()
def versions(tracking, tiny_ppo, spec) -> list:
    out = []
    for n in range(3):
        with trial_run(tracking, "roles-study", n) as run:
            run.log_policy(tiny_ppo, spec)
            run.log_objective(float(n))
        out.append(register_policy(run.run_id, tags={"study": "roles-study", "trial": n}, tracking=tracking))
    return out


def _holders(tracking, role: str) -> list[str]:
    return [v.version for v in list_versions(tracking=tracking) if role in v.aliases]


def test_exactly_one_production(tracking, versions) -> None:
    v1, v2, _ = versions
    assert get_role("production", tracking=tracking) is None
    set_role(v1.version, "production", tracking=tracking)
    assert _holders(tracking, "production") == [v1.version]
    # Moving production to v2 takes it from v1 in the same step.
    moved = set_role(v2.version, "production", tracking=tracking)
    assert "production" in moved.roles
    assert _holders(tracking, "production") == [v2.version]
    assert get_role("production", tracking=tracking).run_id == v2.run_id
    # It can never be cleared, only moved.
    with pytest.raises(RoleError, match="exactly one production"):
        clear_role("production", tracking=tracking)
    assert _holders(tracking, "production") == [v2.version]
    # History on the versions.
    old = find_version(v1.version, tracking=tracking)
    assert "role.production.since" in old.tags and "role.production.until" in old.tags
    assert "role.production.until" not in find_version(v2.version, tracking=tracking).tags


def test_live_only_on_the_production_version(tracking, versions) -> None:
    v1, v2, _ = versions
    with pytest.raises(RoleError, match="live"):
        set_role(v1.version, "live", tracking=tracking)  # no production yet
    set_role(v1.version, "production", tracking=tracking)
    with pytest.raises(RoleError, match="live"):
        set_role(v2.version, "live", tracking=tracking)
    set_role(v1.version, "live", tracking=tracking)
    assert get_role("live", tracking=tracking).version == v1.version


def test_roles_by_run_id_and_each_role_has_one_holder(tracking, versions) -> None:
    v1, v2, v3 = versions
    set_role(v3.run_id, "challenger", tracking=tracking)  # a run id names its version
    set_role(v2.version, "champion", tracking=tracking)
    set_role(v2.version, "sandbox", tracking=tracking)
    set_role(v1.version, "challenger", tracking=tracking)
    roles = all_roles(tracking=tracking)
    assert set(roles) == set(ROLES)
    assert roles["challenger"].version == v1.version and roles["champion"].version == v2.version
    assert roles["production"] is None
    for role in ROLES:
        assert len(_holders(tracking, role)) <= 1
    assert set(find_version(v2.version, tracking=tracking).roles) == {"champion", "sandbox"}
    clear_role("challenger", tracking=tracking)
    assert get_role("challenger", tracking=tracking) is None
    clear_role("challenger", tracking=tracking)  # clearing an unset role is a no-op


def test_bad_role_and_version_are_refused(tracking, versions) -> None:
    with pytest.raises(RoleError, match="unknown role"):
        set_role(versions[0].version, "king", tracking=tracking)
    with pytest.raises(RoleError):
        set_role("0123456789abcdef0123456789abcdef", "champion", tracking=tracking)


def test_registration_is_idempotent_per_run(tracking, versions) -> None:
    v1 = versions[0]
    again = register_policy(v1.run_id, tags={"objective": 1.5}, alias="challenger", tracking=tracking)
    assert again.version == v1.version and again.tags["objective"] == "1.5"
    assert "challenger" in again.aliases
    assert len(list_versions(tracking=tracking, study="roles-study")) == 3


def test_reasons_and_verdict_tags(tracking, versions, monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = versions[0]
    monkeypatch.setenv("COINBASE_API_SECRET", "cb-secret-zz9900aa")
    set_role(v1.version, "champion", reason="beat 20 challengers in a row", tracking=tracking)
    verdict = {"gate.backtest": "pass", "note": "cb-secret-zz9900aa"}
    tagged = tag_version(v1.run_id, verdict, tracking=tracking)
    assert tagged.tags["role.champion.reason"] == "beat 20 challengers in a row"
    assert tagged.tags["gate.backtest"] == "pass" and tagged.tags["note"] == "[redacted]"
    tag_run(v1.run_id, {"gate.backtest": "pass", "api_token": "x" * 10}, tracking=tracking)
    run_tags = tracking.activate().get_run(v1.run_id).data.tags
    assert run_tags["gate.backtest"] == "pass" and "api_token" not in run_tags
