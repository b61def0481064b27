"""The MLflow model registry: one registered model (``cappuccino-ppo`` by default); its versions are trials'
policies, its aliases are roles.

Roles: ``challenger``, ``champion``, ``sandbox``, ``production``, ``live``. Each role is an MLflow alias, so
it names at most one version at a time and setting it moves it (atomically) from the previous holder.
Rules on top of that:

* exactly one production: once a version is production, the role can be moved to another version but
  never cleared (:func:`clear_role` refuses);
* ``live`` can only be given to the version that is production (live trading is production with a green
  light; the green light itself is the promotion stage's decision).

Each move is recorded on the versions as tags ``role.<role>.since`` / ``role.<role>.until`` (UTC ISO).
A version can be named by its number or by the run id of the trial that trained it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cappuccino_core.registry.models import MODEL_NAME
from cappuccino_core.registry.redact import redact_text, safe_str_mapping
from cappuccino_core.registry.tracking import TAG_MODEL_URI, Tracking, as_tracking

CHALLENGER = "challenger"
CHAMPION = "champion"
SANDBOX = "sandbox"
PRODUCTION = "production"
LIVE = "live"
ROLES = (CHALLENGER, CHAMPION, SANDBOX, PRODUCTION, LIVE)

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class RoleError(ValueError):
    """A role change that would break the registry's rules."""


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version: its number, the trial run that trained it, its roles and tags."""

    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...]
    tags: dict[str, str]

    @property
    def model_uri(self) -> str:
        """``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"

    @property
    def roles(self) -> tuple[str, ...]:
        """The aliases that are roles (challenger, champion, sandbox, production, live)."""
        return tuple(a for a in self.aliases if a in ROLES)


def _info(mv: Any) -> ModelVersionInfo:
    return ModelVersionInfo(
        name=mv.name,
        version=str(mv.version),
        run_id=mv.run_id,
        aliases=tuple(getattr(mv, "aliases", ()) or ()),
        tags=dict(mv.tags or {}),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _ctx(tracking: Tracking | Any | None, name: str | None) -> tuple[Any, str]:
    trk = as_tracking(tracking)
    return trk.activate(), name or trk.registered_model_name


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(
                name, description="Cappuccino trading policies; roles are aliases."
            )
        except MlflowException:  # created concurrently by another worker
            client.get_registered_model(name)


def find_version(
    version_or_run_id: str | int, *, tracking: Tracking | Any | None = None, name: str | None = None
) -> ModelVersionInfo:
    """The registered version named by its number or by its run id (the newest version of that run)."""
    client, name = _ctx(tracking, name)
    ref = str(version_or_run_id)
    if _RUN_ID.match(ref):
        found = client.search_model_versions(f"name = '{name}' and run_id = '{ref}'")
        if not found:
            raise RoleError(f"run {ref} has no registered version in {name}")
        return _info(max(found, key=lambda mv: int(mv.version)))
    if not ref.isdigit():
        raise RoleError(f"{ref!r} is neither a version number nor a run id")
    return _info(client.get_model_version(name, ref))


def register_policy(
    run_id: str,
    *,
    tags: dict[str, Any] | None = None,
    alias: str | None = None,
    tracking: Tracking | Any | None = None,
    name: str | None = None,
) -> ModelVersionInfo:
    """Register the policy logged by trial run ``run_id`` (idempotent: an existing version of the same run
    is reused and its tags updated). ``alias`` (e.g. ``challenger``) is set on it when given."""
    import mlflow

    client, name = _ctx(tracking, name)
    _ensure_registered_model(client, name)
    clean_tags = safe_str_mapping({"run_id": run_id, **(tags or {})})
    existing = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    if existing:
        mv = max(existing, key=lambda m: int(m.version))
        for k, v in clean_tags.items():
            client.set_model_version_tag(name, str(mv.version), k, v)
    else:
        source = client.get_run(run_id).data.tags.get(TAG_MODEL_URI) or f"runs:/{run_id}/{MODEL_NAME}"
        mv = mlflow.register_model(source, name, tags=clean_tags)
    if alias is not None:
        set_role(mv.version, alias, tracking=tracking, name=name)
    return _info(client.get_model_version(name, str(mv.version)))


def set_role(
    version: str | int,
    role: str,
    *,
    reason: str | None = None,
    tracking: Tracking | Any | None = None,
    name: str | None = None,
) -> ModelVersionInfo:
    """Give ``role`` to ``version`` (a version number or a run id), moving it from its previous holder.

    ``reason`` (e.g. "beat 20 challengers") is kept on the version as tag ``role.<role>.reason``."""
    from mlflow.exceptions import MlflowException

    _check_role(role)
    client, name = _ctx(tracking, name)
    target = find_version(version, tracking=tracking, name=name)
    if role == LIVE:
        prod = get_role(PRODUCTION, tracking=tracking, name=name)
        if prod is None or prod.version != target.version:
            raise RoleError(
                f"live goes only to the production version (production is "
                f"{'unset' if prod is None else 'v' + prod.version}; asked for v{target.version})"
            )
    try:
        previous = _info(client.get_model_version_by_alias(name, role))
    except MlflowException:
        previous = None
    now = _now()
    client.set_registered_model_alias(name, role, target.version)
    if previous is not None and previous.version != target.version:
        client.set_model_version_tag(name, previous.version, f"role.{role}.until", now)
    if previous is None or previous.version != target.version:
        client.set_model_version_tag(name, target.version, f"role.{role}.since", now)
    if reason:
        client.set_model_version_tag(name, target.version, f"role.{role}.reason", redact_text(reason)[:5000])
    return _info(client.get_model_version(name, target.version))


def tag_version(
    version: str | int,
    tags: dict[str, Any],
    *,
    tracking: Tracking | Any | None = None,
    name: str | None = None,
) -> ModelVersionInfo:
    """Set tags (secrets filtered) on a registered version named by number or run id (e.g. gate verdicts)."""
    client, name = _ctx(tracking, name)
    target = find_version(version, tracking=tracking, name=name)
    for k, v in safe_str_mapping(tags).items():
        client.set_model_version_tag(name, target.version, k, v)
    return _info(client.get_model_version(name, target.version))


def get_role(
    role: str, *, tracking: Tracking | Any | None = None, name: str | None = None
) -> ModelVersionInfo | None:
    """The version holding ``role`` (its ``.version``, ``.run_id``, ``.tags``), or None."""
    from mlflow.exceptions import MlflowException

    _check_role(role)
    client, name = _ctx(tracking, name)
    try:
        return _info(client.get_model_version_by_alias(name, role))
    except MlflowException:
        return None


def clear_role(role: str, *, tracking: Tracking | Any | None = None, name: str | None = None) -> None:
    """Remove ``role`` from whichever version holds it. Production cannot be cleared, only moved."""
    from mlflow.exceptions import MlflowException

    _check_role(role)
    if role == PRODUCTION:
        raise RoleError("exactly one production: move it with set_role(<version>, 'production')")
    client, name = _ctx(tracking, name)
    holder = get_role(role, tracking=tracking, name=name)
    if holder is None:
        return
    try:
        client.delete_registered_model_alias(name, role)
    except MlflowException:  # already gone
        return
    client.set_model_version_tag(name, holder.version, f"role.{role}.until", _now())


def all_roles(
    *, tracking: Tracking | Any | None = None, name: str | None = None
) -> dict[str, ModelVersionInfo | None]:
    """Every role and the version holding it (None where unset)."""
    return {r: get_role(r, tracking=tracking, name=name) for r in ROLES}


def list_versions(
    *,
    tracking: Tracking | Any | None = None,
    name: str | None = None,
    study: str | None = None,
) -> list[ModelVersionInfo]:
    """Registered versions (newest first), optionally only those of one study."""
    client, name = _ctx(tracking, name)
    query = f"name = '{name}'"
    if study is not None:
        query += f" and tags.study = '{study}'"
    found = [_info(mv) for mv in client.search_model_versions(query)]
    # search_model_versions does not return aliases on every backend: fill them from the registered model.
    try:
        aliases = client.get_registered_model(name).aliases or {}
    except Exception:
        aliases = {}
    by_version: dict[str, list[str]] = {}
    for alias, ver in aliases.items():
        by_version.setdefault(str(ver), []).append(alias)
    out = [
        ModelVersionInfo(
            v.name, v.version, v.run_id, tuple(sorted(by_version.get(v.version, v.aliases))), v.tags
        )
        for v in found
    ]
    return sorted(out, key=lambda v: int(v.version), reverse=True)
