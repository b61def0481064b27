"""The env a model was trained with: which ``[env]`` fields are the model's, and how they travel with it.

A trial samples env hyperparameters (training/hyperparams.py, the ``env`` group: reward, reward_scale,
cash_reserve, hold_band, rebalance_band, decision_every) and trains under ``hp.env_config(settings.env)``.
The same action means a different order under another ``hold_band`` or ``decision_every``, so a model is
backtested, gated, played in the arena and traded under the env it was trained with.

The fields split in two:

* :data:`MODEL_FIELDS`, the model's: everything that turns an action into an order (action mode and trade
  fraction, position cap, cash reserve, hold band, rebalance band, minimum order share, action smoothing,
  decision interval) and how it was trained (its reward, turnover penalty, action repeat: provenance only,
  no order depends on them). Stored with the model as the ``env_config`` artifact (``env_config.json``)
  beside its FeatureSpec.
* :data:`DEPLOYMENT_FIELDS`, the account's and the venue's: starting cash, the venue's minimum notional and
  lot sizes, shorting, and the training episode layout. These stay from the configured ``[env]``. The
  operator's own limits live in ``[risk]`` (position caps, stops, loss limits) and apply on top.

A model logged before the artifact existed falls back to its run's logged configuration (params
``env.<field>``, logged by the study from the trial's env); with neither, it runs under the configured
``[env]`` and the loader logs a warning naming the model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cappuccino_core.config.env import EnvConfig

log = logging.getLogger(__name__)

ENV_ARTIFACT = "env_config"  # the pyfunc artifact key
ENV_FILE = "env_config.json"  # its file name (also beside a saved policy zip)

MODEL_FIELDS: tuple[str, ...] = (
    "action_mode",
    "max_trade_fraction",
    "position_cap",
    "cash_reserve",
    "hold_band",
    "rebalance_band",
    "min_order_fraction",
    "action_smoothing",
    "decision_every",
    "reward",
    "reward_scale",
    "dsr_eta",
    "action_repeat",
    "turnover_penalty",
)
# How the model was trained (its reward and turnover penalty, whether it was asked only on decision bars):
# provenance only.
TRAINING_FIELDS: tuple[str, ...] = ("reward", "reward_scale", "dsr_eta", "action_repeat", "turnover_penalty")
# The fields that decide which order an action becomes.
ORDER_FIELDS: tuple[str, ...] = tuple(f for f in MODEL_FIELDS if f not in TRAINING_FIELDS)
DEPLOYMENT_FIELDS: tuple[str, ...] = (
    "initial_cash",
    "allow_short",
    "min_order_value",
    "lot_size",
    "episode_length",
    "n_envs",
)

SOURCE_ARTIFACT = "artifact"  # the model's env_config artifact
SOURCE_RUN = "run params"  # the trial run's logged env.* params (models logged before the artifact)
SOURCE_NONE = "none"  # neither: the configured [env]


def trained_fields(env: EnvConfig) -> dict[str, Any]:
    """The model's fields of ``env`` (:data:`MODEL_FIELDS`), as JSON-ready values."""
    dumped = env.model_dump(mode="json")
    return {name: dumped[name] for name in MODEL_FIELDS}


def apply_trained(fields: Mapping[str, Any], base: EnvConfig, *, model: str = "model") -> EnvConfig:
    """``base`` with the model's trained ``fields`` applied, validated; the deployment's fields stay from
    ``base``. A field that is not the model's, or a value EnvConfig refuses, raises ValueError naming
    ``model``."""
    foreign = sorted(set(fields) - set(MODEL_FIELDS))
    if foreign:
        raise ValueError(
            f"{model}: env fields {foreign} are not a model's (model fields: {list(MODEL_FIELDS)})"
        )
    try:
        return EnvConfig.model_validate({**base.model_dump(), **dict(fields)})
    except ValueError as exc:
        raise ValueError(f"{model}: its trained env does not validate: {exc}") from None


def save_env(env: EnvConfig, path: Path) -> Path:
    """Write the model's fields of ``env`` to ``path`` (JSON); returns the path."""
    path.write_text(json.dumps(trained_fields(env), indent=2, sort_keys=True))
    return path


def load_env(path: Path) -> dict[str, Any]:
    """The model fields stored at ``path`` (ValueError naming the file when it is not such a JSON object)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of env fields, got {type(data).__name__}")
    foreign = sorted(set(data) - set(MODEL_FIELDS))
    if foreign:
        raise ValueError(f"{path}: {foreign} are not model env fields ({list(MODEL_FIELDS)})")
    return data


def fields_from_params(params: Mapping[str, str]) -> dict[str, Any] | None:
    """The model fields a trial run logged as ``env.<field>`` params (strings; EnvConfig converts them when
    applied), or None when the run logged none."""
    found = {name: params[f"env.{name}"] for name in MODEL_FIELDS if f"env.{name}" in params}
    return found or None


def order_differences(envs: Mapping[str, EnvConfig]) -> dict[str, dict[str, Any]]:
    """Per order field (:data:`ORDER_FIELDS`) on which the named envs disagree: name -> value."""
    out: dict[str, dict[str, Any]] = {}
    for f in ORDER_FIELDS:
        values = {name: getattr(env, f) for name, env in envs.items()}
        if len({repr(v) for v in values.values()}) > 1:
            out[f] = values
    return out


def no_env_warning(model: str) -> None:
    """Log that ``model`` carries no trained env and runs under the configured ``[env]``."""
    log.warning(
        "model %s carries no trained env (no %s artifact, no env.* params on its run): it runs under the "
        "configured [env], which may not be the action semantics it was trained with",
        model,
        ENV_FILE,
    )
