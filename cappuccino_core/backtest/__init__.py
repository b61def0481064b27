"""Backtests: run a policy through the step kernel on held-out data and report what happened."""
