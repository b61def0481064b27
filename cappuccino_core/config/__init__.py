"""One configuration for the whole system: a TOML file plus CAPPUCCINO_* environment overrides."""

from cappuccino_core.config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
