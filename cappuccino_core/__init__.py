"""Cappuccino's domain library. Packages follow the lifecycle; nothing here imports Prefect."""

__version__ = "0.1.0"
