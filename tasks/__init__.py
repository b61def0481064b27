"""Prefect tasks: thin wrappers around cappuccino_core with retries, timeouts and caching policy."""
