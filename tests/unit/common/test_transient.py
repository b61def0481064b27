"""One transient-error rule for market data and brokers: every status and exception class, both ways."""

from __future__ import annotations

import json

import pytest
import requests
from alpaca.common.exceptions import APIError

from cappuccino_core.common import transient as rule
from cappuccino_core.common.transient import classify, is_transient
from cappuccino_core.data import http
from cappuccino_core.trading.brokers import retry

TRANSIENT_STATUSES = [408, 425, 429, 500, 502, 503, 504, 507, 599]
FINAL_STATUSES = [400, 401, 403, 404, 405, 409, 410, 418, 422]


def _response(status: int, body: str = '{"message":"x"}', headers: dict[str, str] | None = None):
    r = requests.Response()
    r.status_code = status
    r.reason = "Reason"
    r._content = body.encode()
    r.headers.update(headers or {})
    r.url = "http://127.0.0.1/x"
    return r


def coinbase_error(status: int) -> requests.HTTPError:
    return requests.HTTPError(f"{status} Error", response=_response(status))


def coinbase_bare_error(status: int) -> requests.HTTPError:
    """The SDK's HTTPError raised without a response: the status starts the message."""
    return requests.HTTPError(f"{status} Server Error: x for url: http://127.0.0.1/x")


def alpaca_error(status: int) -> APIError:
    resp = _response(status)
    return APIError(resp.text, requests.HTTPError(f"{status}", response=resp))


MAKERS = [coinbase_error, coinbase_bare_error, alpaca_error]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("status", TRANSIENT_STATUSES)
def test_transient_statuses(make, status: int) -> None:
    f = classify(make(status))
    assert f.retryable and f.status == status
    assert is_transient(make(status))


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("status", FINAL_STATUSES)
def test_client_errors_are_final(make, status: int) -> None:
    f = classify(make(status))
    assert not f.retryable and f.status == status
    assert not is_transient(make(status))


@pytest.mark.parametrize(
    ("exc", "prefix"),
    [
        (requests.ReadTimeout("read timed out"), "timeout"),
        (requests.ConnectTimeout("connect timed out"), "timeout"),
        (requests.Timeout("t"), "timeout"),
        (requests.ConnectionError("connection refused"), "connection error"),
        (requests.exceptions.ChunkedEncodingError("truncated"), "connection error"),
        (requests.exceptions.ContentDecodingError("bad gzip"), "unreadable response"),
        (requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0), "unreadable response"),
        (TimeoutError("socket timeout"), "TimeoutError"),
        (ConnectionResetError("reset by peer"), "ConnectionResetError"),
        (ConnectionRefusedError("refused"), "ConnectionRefusedError"),
    ],
)
def test_transport_failures_are_transient(exc: BaseException, prefix: str) -> None:
    f = classify(exc)
    assert f.retryable and f.status is None and f.detail.startswith(prefix)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad price"),
        KeyError("fee_tier"),
        TypeError("x"),
        json.JSONDecodeError("Expecting value", "", 0),  # our own parsing, not the response's
        APIError('{"code": 1, "message": "no http error"}'),  # no response, no status: not known transient
        requests.HTTPError("no status here"),
        requests.exceptions.InvalidURL("bad url"),
    ],
)
def test_unknown_and_local_errors_are_final(exc: BaseException) -> None:
    f = classify(exc)
    assert not f.retryable and f.status is None


def test_retry_after_and_detail_from_the_response() -> None:
    exc = requests.HTTPError("429", response=_response(429, body="slow down", headers={"Retry-After": "7"}))
    f = classify(exc)
    assert (f.retryable, f.status, f.retry_after_s) == (True, 429, 7.0)
    assert f.detail == "HTTP 429 Reason: slow down"


def test_success_status_in_an_error_is_not_a_status() -> None:
    """A response below 400 attached to an error says nothing about the failure: the type decides."""
    exc = requests.ConnectionError("dropped", response=_response(200))
    assert classify(exc) == rule.Failure(True, None, None, "connection error: dropped")


def test_data_and_brokers_share_the_rule() -> None:
    assert http.classify is rule.classify and http.Failure is rule.Failure
    assert retry.is_transient is rule.is_transient


def test_broker_retries_use_the_rule_by_default() -> None:
    """with_retries without a ``transient`` argument: a 503 and a timeout are retried, a 404 is raised."""
    errors: list[BaseException] = [coinbase_error(503), requests.ReadTimeout("t")]

    def call() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    slept: list[float] = []
    kw = {"attempts": 3, "wait_s": 0.5, "wait_max_s": 10.0, "sleep": slept.append}
    assert retry.with_retries("read", call, **kw) == "ok"  # type: ignore[arg-type]
    assert slept == [0.5, 1.0]

    def missing() -> str:
        raise alpaca_error(404)

    with pytest.raises(APIError):
        retry.with_retries("read", missing, **kw)  # type: ignore[arg-type]
