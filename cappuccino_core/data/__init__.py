"""Stage 1: ingest, validate, store, resample and align market data."""
