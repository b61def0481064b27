"""The notifier against a loopback HTTP receiver (apprise json://): delivery, dedupe, rate limit, failed
delivery (logged with the URL masked, never raised), target event filters and the state-store record."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from cappuccino_core.config.notify import NotifyConfig, TargetConfig
from cappuccino_core.notify import AppriseNotifier, Event, mask, recent_notifications
from cappuccino_core.notify.secrets import MaskSecrets

from .receiver import Receiver


def _ev(key: str = "k1", kind: str = "degradation") -> Event:
    return Event(kind, key, f"title {key}", f"body {key}", "warning")


def test_delivers_title_body_and_type_and_records_it(notifier, rx: Receiver, store) -> None:
    assert notifier.notify(_ev()) == "sent"
    [got] = rx.received
    assert got["path"] == "/hook-s3cr3t-token"
    assert got["body"]["title"] == "title k1" and got["body"]["message"] == "body k1"
    assert got["body"]["type"] == "warning"
    [row] = recent_notifications(store)
    assert (row.event, row.key, row.status, row.targets) == ("degradation", "k1", "sent", {"ops": "sent"})
    assert "s3cr3t" not in str(row.targets) + row.error


def test_same_kind_and_key_within_the_window_is_sent_once(notifier, rx: Receiver, store) -> None:
    assert [notifier.notify(_ev("same")) for _ in range(3)] == ["sent", "deduplicated", "deduplicated"]
    assert notifier.notify(_ev("other")) == "sent"
    assert len(rx.received) == 2
    assert [r.status for r in recent_notifications(store)] == [
        "sent",
        "deduplicated",
        "deduplicated",
        "sent",
    ][::-1]


def test_dedupe_window_expires(notify_cfg, store, rx: Receiver) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    n = AppriseNotifier(notify_cfg.model_copy(update={"dedupe_window_s": 60.0}), store, clock=lambda: now[0])
    assert n.notify(_ev()) == "sent"
    now[0] += timedelta(seconds=59)
    assert n.notify(_ev()) == "deduplicated"
    now[0] += timedelta(seconds=2)
    assert n.notify(_ev()) == "sent"
    assert len(rx.received) == 2


def test_rate_limit_per_kind_and_the_stop_is_exempt(notify_cfg, store, rx: Receiver) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    cfg = notify_cfg.model_copy(update={"rate_limit": 2, "rate_window_s": 600.0})
    n = AppriseNotifier(cfg, store, clock=lambda: now[0])
    got = [n.notify(_ev(f"k{i}")) for i in range(4)]
    assert got == ["sent", "sent", "rate_limited", "rate_limited"]
    assert n.notify(_ev("t1", "trader_error")) == "sent"  # another kind has its own budget
    assert [n.notify(Event("emergency_stop", f"s{i}", "stop", "", "failure")) for i in range(3)] == [
        "sent"
    ] * 3
    now[0] += timedelta(seconds=601)
    assert n.notify(_ev("k9")) == "sent"
    assert len(rx.received) == 2 + 1 + 3 + 1


def test_failed_delivery_is_logged_masked_recorded_and_never_raises(store, monkeypatch, caplog) -> None:
    from tests.integration.prefect_helpers import free_port

    secret = f"json://127.0.0.1:{free_port()}/hook-TOPSECRET-abc123"  # nothing listens there
    monkeypatch.setenv("CAPPUCCINO_TEST_DEAD_URL", secret)
    cfg = NotifyConfig(targets=[TargetConfig(name="dead", kind="json", url_env="CAPPUCCINO_TEST_DEAD_URL")],
                       timeout_s=1.0)  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        assert AppriseNotifier(cfg, store).notify(_ev()) == "failed"
    [row] = recent_notifications(store)
    assert row.status == "failed" and row.targets == {"dead": "delivery failed"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "delivery failed" in logged
    assert "TOPSECRET" not in logged and "TOPSECRET" not in row.error


def test_unset_url_is_a_failed_delivery_naming_the_variable(store, monkeypatch) -> None:
    monkeypatch.delenv("CAPPUCCINO_NO_SUCH_URL", raising=False)
    cfg = NotifyConfig(targets=[TargetConfig(name="tg", kind="telegram", url_env="CAPPUCCINO_NO_SUCH_URL")])
    assert AppriseNotifier(cfg, store).notify(_ev()) == "failed"
    assert "CAPPUCCINO_NO_SUCH_URL is not set" in recent_notifications(store)[0].error


def test_targets_receive_only_their_events_and_disabled_sends_nothing(
    rx: Receiver, store, monkeypatch
) -> None:
    monkeypatch.setenv("U1", rx.url("gates"))
    monkeypatch.setenv("U2", rx.url("all"))
    cfg = NotifyConfig(targets=[TargetConfig(name="g", kind="json", url_env="U1", events=["gate_failed"]),
                                TargetConfig(name="a", kind="json", url_env="U2")])  # fmt: skip
    n = AppriseNotifier(cfg, store)
    n.notify(_ev("x", "gate_failed"))
    n.notify(_ev("y", "promotion"))
    assert sorted(r["path"] for r in rx.received) == ["/all", "/all", "/gates"]
    off = AppriseNotifier(cfg.model_copy(update={"enabled": False}), store)
    assert off.notify(_ev("z")) == "disabled" and len(rx.received) == 3


def test_config_refuses_a_target_without_a_secret_source() -> None:
    with pytest.raises(ValueError, match="url_env or secret_block"):
        TargetConfig(name="d", kind="discord")
    with pytest.raises(ValueError, match="event kind"):
        Event("no_such_event", "k", "t", "b")


def test_mask_hides_urls_and_known_secret_parts() -> None:
    assert (
        mask("sent to discord://1234/abcdef and tgram://bot:tok/123")
        == "sent to discord://*** and tgram://***"
    )
    f = MaskSecrets()
    f.add("mailto://user:hunter22@example.com")
    assert "hunter22" not in f.scrub("login hunter22 failed for user@example.com")
