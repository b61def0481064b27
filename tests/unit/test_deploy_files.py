"""prefect.yaml parses, every entrypoint imports and names a flow, crons are valid; compose is consistent."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prefect_yaml() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())


def test_deployments_import_and_name_flows(prefect_yaml) -> None:
    from prefect import Flow

    names = set()
    for dep in prefect_yaml["deployments"]:
        path, func = dep["entrypoint"].split(":")
        assert (ROOT / path).is_file(), path
        obj = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), func)
        assert isinstance(obj, Flow), dep["entrypoint"]
        assert dep["work_pool"]["name"] == "cappuccino-process"
        names.add(f"{obj.name}/{dep['name']}")
    expected = {"retrain/monthly", "pipeline/tick", "trade/hourly", "train-shard/shard", "monitor/monitor"}
    assert expected <= names
    # Training shards go to the pool's `training` queue (workers started with --work-queue training).
    (shard,) = [d for d in prefect_yaml["deployments"] if d["name"] == "shard"]
    assert shard["work_pool"]["work_queue_name"] == "training" and "schedules" not in shard
    from tasks.shards import SHARD_DEPLOYMENT, SHARD_QUEUE

    assert SHARD_DEPLOYMENT == "train-shard/shard" and shard["work_pool"]["work_queue_name"] == SHARD_QUEUE


def test_schedules(prefect_yaml) -> None:
    from datetime import datetime

    from cronsim import CronSim
    from prefect.client.schemas.schedules import CronSchedule

    by_name = {d["name"]: d for d in prefect_yaml["deployments"]}
    assert by_name["monthly"]["schedules"] == [{"cron": "0 3 1 * *", "timezone": "UTC"}]
    assert by_name["tick"]["schedules"] == [{"interval": 1800}]
    for d in prefect_yaml["deployments"]:
        for s in d.get("schedules", []):
            if "cron" in s:
                CronSchedule(cron=s["cron"], timezone=s.get("timezone"))  # raises when invalid
    with pytest.raises(ValueError):
        CronSchedule(cron="0 3 32 * *")
    # The monthly retrain fires on the first of the month at 03:00 UTC.
    assert next(CronSim("0 3 1 * *", datetime(2025, 1, 15))) == datetime(2025, 2, 1, 3, 0)


def test_work_pool_files() -> None:
    for target, kind in (("process", "process"), ("docker", "docker"), ("kubernetes", "kubernetes")):
        doc = yaml.safe_load((ROOT / "deployments" / f"{target}.yaml").read_text())
        assert doc["work_pool"]["type"] == kind and "job_variables" in doc
    import runpy

    mod = runpy.run_path(str(ROOT / "deployments" / "serve.py"), run_name="not_main")
    deps = {d.name: d for d in mod["deployments"]()}
    assert set(deps) == {"monthly", "tick", "hourly", "monitor"}


def test_compose_references_exist() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "prefect-server", "mlflow", "worker"} <= set(services)
    assert (ROOT / "docker" / "Dockerfile").is_file()
    for svc in services.values():
        build = svc.get("build")
        if isinstance(build, dict):
            ctx = (ROOT / "docker" / build.get("context", ".")).resolve()
            assert (ctx / build.get("dockerfile", "Dockerfile")).is_file(), build
        for vol in svc.get("volumes", []):
            src = str(vol).split(":")[0]
            if src.startswith((".", "/")):
                assert (ROOT / "docker" / src).resolve().exists(), vol


def _base_job_variables(worker_type: str) -> dict:
    """The variables schema of ``worker_type``'s default base job template, as Prefect itself ships it
    (the server's aggregate worker metadata covers prefect-docker and prefect-kubernetes without them
    installed)."""
    import json

    import prefect

    views = Path(prefect.__file__).parent / "server" / "api" / "collections_data" / "views"
    meta = json.loads((views / "aggregate-worker-metadata.json").read_text())
    for workers in meta.values():
        if worker_type in workers:
            return workers[worker_type]["default_base_job_configuration"]["variables"]
    raise LookupError(worker_type)


@pytest.mark.parametrize("target", ["process", "docker", "kubernetes"])
def test_work_pool_job_variables_match_prefects_base_job_templates(target: str) -> None:
    import jsonschema

    doc = yaml.safe_load((ROOT / "deployments" / f"{target}.yaml").read_text())
    schema = _base_job_variables(doc["work_pool"]["type"])
    unknown = set(doc["job_variables"]) - set(schema["properties"])
    assert not unknown, f"{target}.yaml: not variables of the {target} base job template: {sorted(unknown)}"
    jsonschema.validate(doc["job_variables"], schema)


def test_prefect_yaml_job_variables_match_the_process_template(prefect_yaml) -> None:
    import jsonschema

    schema = _base_job_variables("process")
    for dep in prefect_yaml["deployments"]:
        jv = dep["work_pool"].get("job_variables", {})
        assert set(jv) <= set(schema["properties"]), (dep["name"], sorted(jv))
        jsonschema.validate(jv, schema)


def test_the_job_variable_check_can_fail() -> None:
    import jsonschema

    schema = _base_job_variables("kubernetes")
    assert "job_manifest_overrides" not in schema["properties"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"finished_job_ttl": "an hour"}, schema)
