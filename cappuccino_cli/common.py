"""Shared CLI helpers: load settings once, turn domain errors into one clear line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from cappuccino_core.config import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)

ConfigOption = typer.Option(None, "--config", "-c", help="TOML config (default: ./cappuccino.toml)")


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error (as plain text: brackets in it are not markup) and return exit 2."""
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(2)
