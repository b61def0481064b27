"""Root settings: composes one section per lifecycle stage.

Precedence (highest first): keyword arguments, ``CAPPUCCINO_*`` environment variables (nested with
``__``, e.g. ``CAPPUCCINO_COSTS__TAKER_FEE=0.008``), the TOML file, the defaults in the section classes.
The TOML file is ``$CAPPUCCINO_CONFIG`` if set, else ``./cappuccino.toml`` if present.
An invalid value fails at start with a :class:`ConfigError` naming the field and the reason.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.cge import CgeConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.data import DataConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.config.monitor import MonitorConfig, RetrainTriggerConfig
from cappuccino_core.config.notify import NotifyConfig
from cappuccino_core.config.paths import PathsConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.config.training import TrainingConfig

DEFAULT_CONFIG_FILE = Path("cappuccino.toml")
# The TOML file of the load_settings call being served, for settings_customise_sources; set only while that
# call constructs its Settings (a context variable: threads and tasks each see their own), so a later
# Settings() never reads a file some earlier call happened to load.
_toml_path: ContextVar[Path | None] = ContextVar("cappuccino_toml_path", default=None)


class ConfigError(ValueError):
    """Raised when the configuration is invalid; the message names every bad field and why."""


class Settings(BaseSettings):
    """The whole configuration: one section per area, read from TOML, overridden by ``CAPPUCCINO_*``
    variables."""

    model_config = SettingsConfigDict(
        env_prefix="CAPPUCCINO_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    paths: PathsConfig = Field(default_factory=PathsConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    env: EnvConfig = Field(default_factory=EnvConfig)
    cge: CgeConfig = Field(default_factory=CgeConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    arena: ArenaConfig = Field(default_factory=ArenaConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    retrain: RetrainTriggerConfig = Field(default_factory=RetrainTriggerConfig)
    supervised: SupervisedConfig = Field(default_factory=SupervisedConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _toml_path.get()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)


def _resolve_path(path: str | Path | None) -> Path | None:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        return p
    env = os.environ.get("CAPPUCCINO_CONFIG")
    if env:
        p = Path(env)
        if not p.is_file():
            raise ConfigError(f"CAPPUCCINO_CONFIG={env}: file does not exist")
        return p
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration; raise :class:`ConfigError` naming each bad field."""
    toml = _resolve_path(path)
    token = _toml_path.set(toml)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "<root>"
            lines.append(f"  {field}: {err['msg']} (got {err.get('input')!r})")
        where = f" in {toml}" if toml else ""
        raise ConfigError(f"invalid configuration{where}:\n" + "\n".join(lines)) from None
    except Exception as exc:  # malformed TOML and the like
        raise ConfigError(f"cannot read configuration {toml}: {exc}") from None
    finally:
        _toml_path.reset(token)
