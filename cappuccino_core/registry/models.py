"""Log a trained SB3 policy as an MLflow pyfunc model, and load it back -- only against matching data.

A model's identity is the MLflow run id of the trial that trained it. A model can be named by:

* a run id (``7bc8b513...``)                       -> ``runs:/<run_id>/policy``
* a role alias (``champion``)                      -> ``models:/<registered name>@champion``
* ``name@alias`` or ``name/<version>``             -> ``models:/name@alias`` / ``models:/name/<version>``
* any MLflow model URI (``models:/...``, ``runs:/...``, ``m-<model id>``)

:func:`load_policy` refuses (``FeatureSpecMismatch``) when the model's FeatureSpec is not compatible with
the spec of the data it will see: tickers and their order, timeframe, indicators and parameters,
lookback, normalisation.

A model also carries the env it was trained with (registry/model_env.py: the ``env_config`` artifact, else
its run's ``env.*`` params): :meth:`LoadedPolicy.env_config` is the env it backtests, is gated, plays and
trades under.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.spec import FeatureSpec, FeatureSpecMismatch
from cappuccino_core.registry.model_env import (
    ENV_ARTIFACT,
    ENV_FILE,
    SOURCE_ARTIFACT,
    SOURCE_NONE,
    SOURCE_RUN,
    apply_trained,
    fields_from_params,
    load_env,
    no_env_warning,
    save_env,
)
from cappuccino_core.registry.pyfunc_model import POLICY_ARTIFACT, SPEC_ARTIFACT, SB3PolicyModel
from cappuccino_core.registry.redact import safe_str_mapping
from cappuccino_core.registry.tracking import TAG_MODEL_URI, TAG_SPEC_HASH, Tracking, as_tracking

MODEL_NAME = "policy"  # the logged model's name inside its run: runs:/<run_id>/policy
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_ROLE_WORDS = ("challenger", "champion", "sandbox", "production", "live")

__all__ = [
    "MODEL_NAME",
    "FeatureSpecMismatch",
    "LoadedPolicy",
    "LoggedPolicy",
    "load_policy",
    "log_policy",
    "resolve_model_uri",
]


@dataclass(frozen=True)
class LoggedPolicy:
    """A policy logged to a trial run: the run, the logged model's id and URI, its FeatureSpec hash."""

    run_id: str
    model_id: str
    model_uri: str  # models:/m-<model id>
    spec_hash: str


def _requirements() -> list[str]:
    reqs = []
    for dist in ("mlflow", "stable-baselines3", "torch", "gymnasium", "numpy", "cloudpickle"):
        try:
            reqs.append(f"{dist}=={importlib_metadata.version(dist)}")
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            reqs.append(dist)
    return reqs


def _signature(sb3: Any) -> Any:
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    obs_shape = tuple(int(x) for x in sb3.observation_space.shape)
    act_shape = tuple(int(x) for x in (sb3.action_space.shape or ()))
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, *obs_shape))]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, *act_shape))]),
    )


def log_policy(
    model: Any,
    spec: FeatureSpec,
    *,
    algo: str | None = None,
    run_id: str | None = None,
    name: str = MODEL_NAME,
    tags: dict[str, Any] | None = None,
    env: EnvConfig | None = None,
) -> LoggedPolicy:
    """Log ``model`` (an SB3 algorithm object, or the path of its saved zip) with ``spec`` as a pyfunc.

    ``env``: the env the model was trained with; its model fields (registry/model_env.py) are stored as the
    ``env_config`` artifact, and every later backtest, gate, bout and trading session applies them.

    Logged into the active run, or into ``run_id`` (resumed for the call) when given. The tracking URI
    must already be set (:meth:`Tracking.activate`, done by :func:`~cappuccino_core.registry.trial_run`).
    """
    import mlflow

    from cappuccino_core.registry.pyfunc_model import algo_class

    with tempfile.TemporaryDirectory(prefix="cappuccino-policy-") as tmp:
        if isinstance(model, str | Path):
            zip_path = Path(model)
            if not zip_path.is_file():
                raise FileNotFoundError(f"policy zip {zip_path} does not exist")
            algo = algo or "PPO"
            sb3 = algo_class(algo).load(zip_path, device="cpu")
        else:
            sb3 = model
            algo = algo or type(model).__name__
            zip_path = Path(tmp) / "policy.zip"
            sb3.save(zip_path)
        spec_path = Path(tmp) / "feature_spec.json"
        spec.save(spec_path)
        spec_hash = spec.content_hash()
        artifacts = {POLICY_ARTIFACT: str(zip_path), SPEC_ARTIFACT: str(spec_path)}
        if env is not None:
            artifacts[ENV_ARTIFACT] = str(save_env(env, Path(tmp) / ENV_FILE))
        all_tags = {TAG_SPEC_HASH: spec_hash, "algo": algo, **(tags or {})}

        def _log() -> Any:
            return mlflow.pyfunc.log_model(
                name=name,
                python_model=SB3PolicyModel(algo),
                artifacts=artifacts,
                signature=_signature(sb3),
                # Logging loads the model back and predicts this example: a broken artifact fails here.
                input_example=np.zeros((1, *sb3.observation_space.shape), dtype=np.float32),
                pip_requirements=_requirements(),
                metadata={
                    TAG_SPEC_HASH: spec_hash,
                    "algo": algo,
                    "tickers": list(spec.tickers),
                    "timeframe": spec.timeframe,
                    "lookback": spec.lookback,
                },
                tags=safe_str_mapping(all_tags),
            )

        active = mlflow.active_run()
        if run_id is None or (active is not None and active.info.run_id == run_id):
            if active is None:
                raise RuntimeError("log_policy needs an active MLflow run or a run_id")
            info = _log()
        else:
            with mlflow.start_run(run_id=run_id, nested=active is not None):
                info = _log()
        # The run records which model it produced and the spec hash (searchable: tags.feature_spec_hash).
        client = mlflow.MlflowClient()
        client.set_tag(info.run_id, TAG_MODEL_URI, info.model_uri)
        client.set_tag(info.run_id, TAG_SPEC_HASH, spec_hash)
        return LoggedPolicy(
            run_id=info.run_id, model_id=info.model_id, model_uri=info.model_uri, spec_hash=spec_hash
        )


@dataclass
class LoadedPolicy:
    """A registered model loaded from MLflow, a :class:`~cappuccino_core.common.policy.Policy`
    (``predict(obs_batch) -> actions``, deterministic), plus its identity, FeatureSpec and trained env."""

    model: SB3PolicyModel
    spec: FeatureSpec
    run_id: str | None
    model_uri: str
    version: str | None = None  # registry version when loaded through the registry
    registered_name: str | None = None
    trained_env: dict[str, Any] | None = None  # the model's env fields (registry/model_env.py); None: unknown
    env_source: str = SOURCE_NONE  # where trained_env came from: artifact, run params, none

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The env this model runs under: ``base`` (the configured ``[env]``: capital, venue minimums) with
        the model's trained fields applied; ``base`` itself for a model that carries none (warned at load)."""
        if self.trained_env is None:
            return base
        return apply_trained(self.trained_env, base, model=self.model_uri)

    def predict(self, observations: Any) -> np.ndarray:
        """Deterministic actions for a batch of observations (``(B, *obs_shape) -> (B, *action_shape)``)."""
        return self.model.act(observations)

    @property
    def algo(self) -> str:
        """The SB3 algorithm's name (``PPO``)."""
        return self.model.algo

    @property
    def sb3(self) -> Any:
        """The loaded SB3 model."""
        return self.model.sb3

    @property
    def observation_shape(self) -> tuple[int, ...]:
        """The observation shape the policy was trained on."""
        return self.model.observation_shape


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to its URI, with the run, registry version and name where known."""

    model_uri: str
    run_id: str | None
    version: str | None
    registered_name: str | None


def resolve_model_uri(ref: str, tracking: Tracking | Any | None = None) -> ResolvedModel:
    """Turn a run id, role alias, ``name@alias``, ``name/version`` or model URI into a model URI."""
    trk = as_tracking(tracking)
    client = trk.activate()
    ref = ref.strip()
    reg_name: str | None = None
    version: str | None = None
    run_id: str | None = None
    if _RUN_ID.match(ref):
        return ResolvedModel(f"runs:/{ref}/{MODEL_NAME}", ref, None, None)
    bare_model_id = re.match(r"^m-[0-9a-f]{32}$", ref) is not None
    bare_registry_ref = "://" not in ref and ":/" not in ref and ("@" in ref or "/" in ref)
    if ref in _ROLE_WORDS:
        ref = f"models:/{trk.registered_model_name}@{ref}"
    elif bare_model_id or bare_registry_ref:
        ref = f"models:/{ref}"
    if ref.startswith("runs:/"):
        run_id = ref[len("runs:/") :].split("/", 1)[0]
        return ResolvedModel(ref, run_id, None, None)
    if ref.startswith("models:/"):
        body = ref[len("models:/") :]
        if "@" in body:
            reg_name, alias = body.split("@", 1)
            mv = client.get_model_version_by_alias(reg_name, alias)
            version, run_id = str(mv.version), mv.run_id
        elif body.startswith("m-"):
            run_id = client.get_logged_model(body.split("/", 1)[0]).source_run_id
        elif "/" in body:
            reg_name, version = body.rsplit("/", 1)
            if version.isdigit():
                run_id = client.get_model_version(reg_name, version).run_id
            else:
                raise ValueError(f"{ref}: stages are not used; name a version number or an alias")
        return ResolvedModel(ref, run_id, version, reg_name)
    raise ValueError(
        f"cannot resolve model reference {ref!r}: expected a run id, a role ({', '.join(_ROLE_WORDS)}), "
        "name@alias, name/version or an MLflow model URI"
    )


def _expected_spec(expected: Any) -> FeatureSpec:
    if isinstance(expected, FeatureSpec):
        return expected
    spec = getattr(expected, "spec", None)  # a MarketDataset carries its spec
    if isinstance(spec, FeatureSpec):
        return spec
    raise TypeError(
        "load_policy needs the FeatureSpec of the data the policy will see (a FeatureSpec or a dataset with "
        f".spec); got {type(expected).__name__}"
    )


def model_spec(ref: str, tracking: Tracking | Any | None = None) -> FeatureSpec:
    """The FeatureSpec a registered model was trained with (no weights loaded): the data to build for it."""
    import mlflow

    resolved = resolve_model_uri(ref, tracking)
    with tempfile.TemporaryDirectory(prefix="cappuccino-spec-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=resolved.model_uri, dst_path=tmp))
        arts = mlflow.models.Model.load(local).flavors.get("python_function", {}).get("artifacts", {})
        if SPEC_ARTIFACT not in arts:
            raise FeatureSpecMismatch(f"{resolved.model_uri} carries no FeatureSpec")
        return FeatureSpec.load(local / arts[SPEC_ARTIFACT]["path"])


def load_policy(ref: str, expected_spec: Any, tracking: Tracking | Any | None = None) -> LoadedPolicy:
    """Load the policy named by ``ref`` for data built with ``expected_spec``.

    ``expected_spec`` is the FeatureSpec of the data (or a MarketDataset). The model's own spec is read
    first and checked; any mismatch raises :class:`FeatureSpecMismatch` before the weights are loaded.
    """
    import mlflow

    expected = _expected_spec(expected_spec)
    resolved = resolve_model_uri(ref, tracking)
    with tempfile.TemporaryDirectory(prefix="cappuccino-load-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=resolved.model_uri, dst_path=tmp))
        conf = mlflow.models.Model.load(local).flavors.get("python_function", {})
        arts = conf.get("artifacts", {})
        if SPEC_ARTIFACT not in arts:
            raise FeatureSpecMismatch(f"{resolved.model_uri} carries no FeatureSpec; refusing to load it")
        model_spec = FeatureSpec.load(local / arts[SPEC_ARTIFACT]["path"])
        try:
            model_spec.check_compatible(expected)
        except FeatureSpecMismatch as exc:
            raise FeatureSpecMismatch(
                f"model {resolved.model_uri} (run {resolved.run_id}) cannot run on this data: {exc}"
            ) from None
        trained, source = _trained_env(local, arts, resolved)
        # The weights are read into memory here; the downloaded copy is not needed afterwards.
        inner = mlflow.pyfunc.load_model(str(local)).unwrap_python_model()
    if not isinstance(inner, SB3PolicyModel):
        raise TypeError(f"{resolved.model_uri} is not a Cappuccino SB3 policy ({type(inner).__name__})")
    return LoadedPolicy(
        trained_env=trained,
        env_source=source,
        model=inner,
        spec=model_spec,
        run_id=resolved.run_id,
        model_uri=resolved.model_uri,
        version=resolved.version,
        registered_name=resolved.registered_name,
    )


def _trained_env(
    local: Path, arts: dict[str, Any], resolved: ResolvedModel
) -> tuple[dict[str, Any] | None, str]:
    """The model's trained env fields and their source: its ``env_config`` artifact; else (a model logged
    before the artifact) its run's ``env.*`` params; else None, with a warning naming the model."""
    import mlflow

    found: dict[str, Any] | None = None
    if ENV_ARTIFACT in arts:
        found, source = load_env(local / arts[ENV_ARTIFACT]["path"]), SOURCE_ARTIFACT
    elif resolved.run_id is not None:
        try:
            params = mlflow.MlflowClient().get_run(resolved.run_id).data.params
        except mlflow.exceptions.MlflowException:
            params = {}
        found, source = fields_from_params(params), SOURCE_RUN
    if found is not None:
        apply_trained(
            found, EnvConfig(), model=resolved.model_uri
        )  # a broken record fails at load, not later
        return found, source
    no_env_warning(f"{resolved.model_uri} (run {resolved.run_id})")
    return None, SOURCE_NONE
