"""Run the schedules of prefect.yaml without a server or worker: `python deployments/serve.py`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefect import serve  # noqa: E402

from flows.monitor import monitor  # noqa: E402
from flows.retrain import retrain  # noqa: E402
from flows.tick import pipeline_tick  # noqa: E402
from flows.trade import trade  # noqa: E402


def deployments() -> list:
    return [
        retrain.to_deployment(name="monthly", cron="0 3 1 * *"),
        pipeline_tick.to_deployment(name="tick", interval=1800),
        trade.to_deployment(name="hourly", cron="2 * * * *"),
        monitor.to_deployment(name="monitor", interval=1800),
    ]


if __name__ == "__main__":
    serve(*deployments())
