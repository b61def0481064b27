"""Prefect flows composing the tasks: ingest, augment, train, gates, arena, trade, retrain, tick, main_job."""
