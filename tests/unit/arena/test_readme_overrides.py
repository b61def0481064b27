"""The README's Manual overrides block, line by line as written (``$RUN`` set to a registered model),
through the CLI on a temp MLflow registry and state store; then the audit log holds who, when and why."""

from __future__ import annotations

import os
import shlex

from typer.testing import CliRunner

from tests.unit.readme_blocks import commands


def test_override_commands_as_written(settings, monkeypatch) -> None:
    from cappuccino_cli.main import app
    from cappuccino_core.registry import Tracking, get_role
    from cappuccino_core.state import StateStore

    trk = Tracking.from_settings(settings)
    client = trk.activate()
    client.create_registered_model(trk.registered_model_name)
    run_id = client.create_run(client.create_experiment("overrides")).info.run_id
    client.create_model_version(trk.registered_model_name, source=f"runs:/{run_id}/policy", run_id=run_id)
    for key, value in (("STATE_URL", settings.paths.state_url),
                       ("MLFLOW_TRACKING_URI", settings.paths.mlflow_tracking_uri)):  # fmt: skip
        monkeypatch.setenv(f"CAPPUCCINO_PATHS__{key}", str(value))
    monkeypatch.setenv("RUN", run_id)
    monkeypatch.setenv("USER", "ana")
    monkeypatch.setenv("LOGNAME", "ana")  # getpass reads LOGNAME first
    lines = commands("### Manual overrides")
    assert len(lines) == 6 and all(ln.startswith("cappuccino pipeline ") for ln in lines)
    outputs = []
    for line in lines:
        argv = shlex.split(os.path.expandvars(line))[1:]
        r = CliRunner().invoke(app, argv)
        assert r.exit_code == 0, f"{line}\n{r.output}"
        outputs.append(r.output)
    assert get_role("challenger", tracking=trk).run_id == run_id and get_role("sandbox", tracking=trk) is None
    rows = StateStore(settings.paths.state_url).audit_log(limit=20)
    mine = [(r.actor, r.action, r.reason) for r in rows if r.actor == "operator:ana"]
    assert ("operator:ana", "override:gate_skipped", "scenario set being rebuilt") in mine
    assert ("operator:ana", "arena:promote", "ana: strong paper week") in mine
    assert ("operator:ana", "arena:override_demote", "ana: needs more bouts first") in mine
    assert ("operator:ana", "override:auto_promotion=off", "holiday week: no automatic promotions") in mine
    assert "override:auto_promotion=on" in outputs[-1] and run_id in outputs[-1]  # the audit command
