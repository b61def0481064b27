"""`cappuccino data` commands: check."""

from __future__ import annotations


def check() -> None:
    raise NotImplementedError
