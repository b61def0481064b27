"""Every page over a `make run`-sized state (numbers from the fixture on the page, each page rendered in
under a second once warm) and over an empty state ("nothing yet", never a 500)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from cappuccino_core.dashboard.health import TOKEN_ENV
from tests.unit.dashboard.conftest import temp_settings

PAGES = ("training", "gates", "arena", "trading", "health")


def _client(settings: Any) -> Any:
    from fastapi.testclient import TestClient

    from cappuccino_core.dashboard.app import create_app, warm_up

    app = create_app(settings)
    warm_up(app)
    return TestClient(app)


def test_empty_state_renders_nothing_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # the discard port: refused
    c = _client(temp_settings(tmp_path))
    for page in PAGES[:4]:
        r = c.get(f"/{page}")
        assert r.status_code == 200 and 'id="nothing"' in r.text and 'id="error"' not in r.text, page
    r = c.get("/health")
    assert r.status_code == 200 and 'id="error"' not in r.text
    assert "no stored bars yet" in r.text and "no trader has sent a heartbeat" in r.text
    assert "Prefect API not reachable" in r.text
    assert f"set {TOKEN_ENV}" in r.text and 'id="btn-stop" disabled' in r.text  # control off, and why
    r = c.post("/health/emergency-stop", data={"action": "stop", "token": "x"})
    assert r.status_code == 403 and f"set {TOKEN_ENV}" in r.text
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "optuna.journal").exists()  # read-only
    assert c.get("/").status_code == 200  # redirected to the training page


def test_pages_show_the_state_within_a_second(built: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    c = _client(built["settings"])
    text, seconds = {}, {}
    for page in PAGES:
        t0 = time.perf_counter()
        r = c.get(f"/{page}")
        seconds[page] = time.perf_counter() - t0
        assert r.status_code == 200 and 'id="error"' not in r.text and 'id="nothing"' not in r.text, page
        text[page] = r.text
    print("server render seconds:", {k: round(v, 3) for k, v in seconds.items()})
    assert max(seconds.values()) < 1.0, seconds
    t = text["training"]
    assert 'id="finished">3 / 3<' in t and 'id="rate">1.00<' in t and 'id="eta">done<' in t  # 3 trials in 3 h
    assert 'id="pbo">0.250<' in t and 'id="dsr">0.970<' in t and "selection gate: challenger: trial 1" in t
    assert "1.40 · 1.60 · 1.20 · 2.00" in t and "2.0%" in t  # trial 1's split Sharpes, its cost share
    assert 'id="chart-importance"' in t and 'id="chart-history"' in t
    g = text["gates"]
    assert "<b>sharpe_vs_ew</b> = -0.4100, needs &gt; 0.0000" in g and g.count('class="regimes"') == 2
    a = text["arena"]
    assert 'id="streak">2<' in a and "c" * 32 in a and "arena:defend" in a
    tr = text["trading"]
    paper = built["paper"]
    assert f"{paper['fills']} / 0.0%" in tr  # fills, all taker on the sim broker
    assert 'id="chart-equity"' in tr and "equal weight" in tr and "BTC hold" in tr
    assert "benchmarks unavailable" not in tr
    model = built["trial_runs"][1]  # the paper session's report names the model: its backtest Sharpe shows
    assert f"<code>{model[:12]}</code>" in tr and re.search(r'id="sharpe">-?[0-9.]+ / 1\.55<', tr)
    assert re.search(r'id="fee-tier"[^>]*>taker 120\.0 bp', tr)  # the configured 1.2% taker fee
    h = text["health"]
    assert h.count(">stale<") == 6 and "<td>trader</td>" in h  # make run's bars are the sample's: old
    assert re.search(r"bar=20\d\d-\d\d-\d\d \d\d:\d\d", h)  # the bar of the last beat, as a time
    js = c.get("/static/plotly.min.js")  # served from the installed package, gzipped once
    assert js.headers["content-type"].startswith("application/javascript")
    assert js.headers["content-encoding"] == "gzip" and js.content.startswith(b"/**")
    plain = c.get("/static/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == js.content
