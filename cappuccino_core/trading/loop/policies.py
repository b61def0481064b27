"""Policies by name: what the bar loop, ``trade paper``, ``trade live`` and the hourly trader can run.

A ``--model`` string names one: ``<kind>:<arguments>`` picks the registered kind (``mtf:TACTICAL,STRATEGIC``
is the multi-timeframe ensemble), ``baseline`` the trend baseline, anything else is ``model``: a registered
model's run id or registry reference, or several comma-separated (their Sharpe-weighted ensemble). Each kind
says how to build the decision, which bar interval it decides on and how much history a live tick needs.
:data:`POLICIES` imports the modules of ``trading/loop`` on first lookup, so a new kind is one file there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cappuccino_core.common.registry import Registry

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.trading.loop.replay import ReplayBars

Decide = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class PolicyKind:
    """How to run one kind of policy, given the arguments of its ``--model`` string.

    ``decide(settings, args, bars, broker, assets) -> (decide, label)``; ``timeframe(settings, args)``: the
    bar interval it decides on; ``history(settings, args)``: bars of history a live tick needs (without the
    conviction filter's)."""

    decide: Callable[[Settings, str, ReplayBars, Any, tuple[str, ...]], tuple[Decide, str]]
    timeframe: Callable[[Settings, str], str]
    history: Callable[[Settings, str], int]


POLICIES: Registry[PolicyKind] = Registry("policy kind", ("cappuccino_core.trading.loop",))


def parse_model(model: str) -> tuple[str, str]:
    """``(kind, arguments)`` of a ``--model`` string (module docstring)."""
    model = model.strip()
    if model == "baseline":
        return "baseline", ""
    kind, sep, args = model.partition(":")
    if sep and kind in POLICIES:
        return kind, args
    return "model", model


def policy_kind(model: str) -> tuple[PolicyKind, str]:
    """The registered kind a ``--model`` string names and its arguments."""
    kind, args = parse_model(model)
    return POLICIES.get(kind), args
