"""Stage 7: the degradation monitor, data drift and retrain triggers (no Prefect here: the flow layer
passes the launcher that starts the retrain deployment)."""

from cappuccino_core.monitor.degradation import Assessment, assess, backtest_figures, paper_live_drift
from cappuccino_core.monitor.drift import feature_drift, ks, psi
from cappuccino_core.monitor.run import MonitorInputs, MonitorReport, run_monitor, watched
from cappuccino_core.monitor.triggers import Trigger, fire_retrain, last_started

__all__ = [
    "Assessment",
    "MonitorInputs",
    "MonitorReport",
    "Trigger",
    "assess",
    "backtest_figures",
    "feature_drift",
    "fire_retrain",
    "ks",
    "last_started",
    "paper_live_drift",
    "psi",
    "run_monitor",
    "watched",
]
