"""`cappuccino data` commands: ingest."""

from __future__ import annotations


def download() -> None:
    raise NotImplementedError


def update() -> None:
    raise NotImplementedError


def import_files() -> None:
    raise NotImplementedError
