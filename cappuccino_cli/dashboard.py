"""`cappuccino dashboard`: the local web dashboard (training, gates, arena, trading, health)."""

from __future__ import annotations

from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, settings_or_exit


def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (loopback by default)"),
    port: int = typer.Option(8050, "--port", min=1, max=65535, help="port to listen on"),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the dashboard: read-only pages over the state store, MLflow and Optuna, and the emergency stop
    (enabled only when CAPPUCCINO_DASHBOARD_TOKEN is set)."""
    import uvicorn

    from cappuccino_core.dashboard.app import create_app, warm_up
    from cappuccino_core.dashboard.health import control_disabled_reason

    settings = settings_or_exit(config)
    app = create_app(settings)
    console.print(f"dashboard: pages gathered once in {warm_up(app):.1f} s")
    console.print(f"dashboard on http://{host}:{port}  (emergency stop control: "
                  f"{control_disabled_reason() or 'enabled'})")  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="warning")
