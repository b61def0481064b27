"""`cappuccino run`: the main job. Each lifecycle stage adds its step here as it lands."""

from __future__ import annotations

from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, settings_or_exit


def run(config: Path | None = ConfigOption) -> None:
    settings = settings_or_exit(config)
    console.rule("Cappuccino: main job")
    console.print(f"data root: {settings.paths.data_root}")
    raise typer.Exit(0)
