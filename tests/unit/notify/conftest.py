"""Notifier fixtures: a loopback receiver, a state store, settings with one json:// target from the env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cappuccino_core.config.notify import NotifyConfig, TargetConfig
from cappuccino_core.notify import AppriseNotifier
from cappuccino_core.state import StateStore

from .receiver import Receiver, receiver


@pytest.fixture()
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture()
def store(settings) -> StateStore:
    return StateStore(settings.paths.state_url)


@pytest.fixture()
def notify_cfg(rx: Receiver, monkeypatch: pytest.MonkeyPatch) -> NotifyConfig:
    monkeypatch.setenv("CAPPUCCINO_TEST_HOOK_URL", rx.url("hook-s3cr3t-token"))
    return NotifyConfig(
        targets=[TargetConfig(name="ops", kind="json", url_env="CAPPUCCINO_TEST_HOOK_URL")], timeout_s=2.0
    )


@pytest.fixture()
def notifier(notify_cfg: NotifyConfig, store: StateStore) -> AppriseNotifier:
    return AppriseNotifier(notify_cfg, store)
