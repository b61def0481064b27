"""Retry policy: what is retried, how long it waits, and what it says when the source stays down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from alpaca.common.exceptions import APIError

from cappuccino_core.config.data import DataConfig
from cappuccino_core.data.http import (
    RetryPolicy,
    SourceRejected,
    SourceUnavailable,
    apply_timeout,
    classify,
    parse_retry_after,
)


def _response(status: int, body: str = '{"message":"x"}', headers: dict[str, str] | None = None):
    r = requests.Response()
    r.status_code = status
    r.reason = "Reason"
    r._content = body.encode()
    r.headers.update(headers or {})
    r.url = "http://127.0.0.1/x"
    return r


def coinbase_error(status: int, **kw) -> requests.HTTPError:
    """What coinbase-advanced-py raises: requests.HTTPError with the response attached."""
    return requests.HTTPError(f"{status} Error", response=_response(status, **kw))


def alpaca_error(status: int, **kw) -> APIError:
    """What alpaca-py raises: APIError(text, http_error) with the requests error inside."""
    resp = _response(status, **kw)
    return APIError(resp.text, requests.HTTPError(f"{status}", response=resp))


class Flaky:
    """Fails with the given exceptions in order, then returns 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(**kw) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    kw.setdefault("backoff_s", 0.5)
    return RetryPolicy(sleep=slept.append, **kw), slept


@pytest.mark.parametrize("make", [coinbase_error, alpaca_error])
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 408])
def test_transient_statuses_are_retried(make, status: int) -> None:
    p, slept = policy(retries=3)
    fn = Flaky(make(status), make(status))
    assert p.call(fn, source="s", symbol="BTC/USD") == "ok"
    assert fn.calls == 3
    assert slept == [0.5, 1.0]  # exponential backoff


@pytest.mark.parametrize(
    "exc",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
        requests.ConnectionError("connection refused"),
        requests.exceptions.ChunkedEncodingError("truncated"),
        TimeoutError("socket timeout"),
    ],
)
def test_timeouts_and_connection_errors_are_retried(exc: BaseException) -> None:
    p, _ = policy(retries=1)
    fn = Flaky(exc)
    assert p.call(fn, source="s", symbol="X") == "ok"
    assert fn.calls == 2


def test_backoff_doubles_and_is_capped() -> None:
    p, slept = policy(retries=6, backoff_s=1.0, max_backoff_s=10.0)
    fn = Flaky(*[coinbase_error(503) for _ in range(6)])
    p.call(fn, source="s", symbol="X")
    assert slept == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.parametrize("make", [coinbase_error, alpaca_error])
def test_retry_after_seconds_is_honoured(make) -> None:
    p, slept = policy(retries=2, backoff_s=0.1)
    fn = Flaky(make(429, headers={"Retry-After": "7"}))
    p.call(fn, source="s", symbol="X")
    assert slept == [7.0]


def test_retry_after_http_date_and_cap() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    p, slept = policy(retries=1, max_retry_after_s=60)
    p.call(Flaky(coinbase_error(429, headers={"Retry-After": "3600"})), source="s", symbol="X")
    assert slept == [60]
    # a Retry-After shorter than the backoff does not shorten it
    p, slept = policy(retries=1, backoff_s=2.0)
    p.call(Flaky(coinbase_error(503, headers={"Retry-After": "0"})), source="s", symbol="X")
    assert slept == [2.0]


def test_storm_raises_source_unavailable_naming_source_symbol_and_last_error() -> None:
    p, slept = policy(retries=3)
    fn = Flaky(*[coinbase_error(503, body='{"error":"UNAVAILABLE","message":"down for maintenance"}')] * 10)
    with pytest.raises(SourceUnavailable) as info:
        p.call(fn, source="coinbase", symbol="BTC/USD", what="candles request")
    msg = str(info.value)
    assert fn.calls == 4
    assert len(slept) == 3
    assert "coinbase" in msg and "BTC/USD" in msg and "candles request" in msg
    assert "4 time(s)" in msg and "HTTP 503" in msg and "down for maintenance" in msg
    assert info.value.source == "coinbase" and info.value.symbol == "BTC/USD" and info.value.status == 503


def test_timeout_storm_message() -> None:
    p, _ = policy(retries=1)
    with pytest.raises(SourceUnavailable, match=r"alpaca unavailable for ETH/USD.*timeout"):
        p.call(Flaky(*[requests.ReadTimeout("read timed out")] * 3), source="alpaca", symbol="ETH/USD")


@pytest.mark.parametrize("make", [coinbase_error, alpaca_error])
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(make, status: int) -> None:
    p, slept = policy(retries=5)
    fn = Flaky(make(status, body='{"message":"bad symbol"}'))
    with pytest.raises(SourceRejected, match=rf"alpaca rejected .* for BTC/USD: HTTP {status}.*bad symbol"):
        p.call(fn, source="alpaca", symbol="BTC/USD")
    assert fn.calls == 1 and slept == []


def test_unexpected_exceptions_propagate_unchanged() -> None:
    p, slept = policy(retries=5)
    fn = Flaky(KeyError("bug"))
    with pytest.raises(KeyError):
        p.call(fn, source="s", symbol="X")
    assert fn.calls == 1 and slept == []


def test_zero_retries_means_one_attempt() -> None:
    p, slept = policy(retries=0)
    fn = Flaky(coinbase_error(500))
    with pytest.raises(SourceUnavailable, match="1 time"):
        p.call(fn, source="s", symbol="X")
    assert fn.calls == 1 and slept == []


def test_long_bodies_are_shortened() -> None:
    f = classify(coinbase_error(500, body="x" * 5000))
    assert f.retryable and f.status == 500 and len(f.detail) < 400


def test_policy_from_config() -> None:
    cfg = DataConfig(http_retries=2, http_backoff_s=0.25, http_timeout_s=3.0)
    p = RetryPolicy.from_config(cfg)
    assert (p.retries, p.backoff_s, p.timeout_s) == (2, 0.25, 3.0)
    assert p.delay(0) == 0.25 and p.delay(2) == 1.0
    with pytest.raises(ValueError):
        RetryPolicy(retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(timeout_s=0)


def test_apply_timeout_sets_a_default_timeout() -> None:
    s = requests.Session()
    apply_timeout(s, 0.2)
    adapter = s.get_adapter("http://127.0.0.1")
    assert getattr(adapter, "timeout_s", None) == 0.2
