"""`cappuccino data` commands: features."""

from __future__ import annotations


def features() -> None:
    raise NotImplementedError
