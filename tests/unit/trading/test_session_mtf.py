"""`trade paper --model mtf:TACTICAL,STRATEGIC`: the multi-timeframe ensemble picked by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cappuccino_core.data.resample import resample_bars
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.trading.loop import session
from cappuccino_core.trading.loop.mtf import MtfDecider
from cappuccino_core.trading.loop.policies import parse_model
from cappuccino_core.trading.loop.replay import load_bars
from tests.unit.trading.test_session_ensemble import _Broker, _Member

HOUR = 3600 * 10**9


@pytest.fixture()
def wired(settings: Any, sample_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    bars = load_bars(settings, "1h", source="sample")
    spec_1h = build_dataset(bars.frames, settings.features, "1h").spec
    coarse = {t: resample_bars(df, "1h", "4h") for t, df in bars.frames.items()}
    spec_4h = build_dataset(coarse, settings.features, "4h").spec
    specs = {"tac": spec_1h, "up": spec_4h, "down": spec_4h}
    members = {"tac": _Member("tac", spec_1h, 1.0), "up": _Member("up", spec_4h, 0.7),
               "down": _Member("down", spec_4h, -0.7)}  # fmt: skip
    import cappuccino_core.registry as registry

    monkeypatch.setattr(registry, "model_spec", lambda ref, trk=None: specs[ref])
    monkeypatch.setattr(registry, "load_policy", lambda ref, exp, trk=None: members[ref])
    return bars


def test_the_model_string_names_the_kind() -> None:
    assert parse_model("mtf:a,b") == ("mtf", "a,b")
    assert parse_model("baseline") == ("baseline", "")
    assert parse_model("abc123") == ("model", "abc123")
    assert parse_model("models:/cappuccino/3") == ("model", "models:/cappuccino/3")  # not a kind


def test_agreeing_models_trade_the_tactical_action(settings: Any, wired: Any) -> None:
    decide, label = session.decider(settings, "mtf:tac,up", wired, _Broker(), tuple(wired.tickers))
    assert label == "mtf:tac+up" and isinstance(decide, MtfDecider)
    np.testing.assert_allclose(decide(len(wired.times) - 1), 1.0)
    assert session.model_timeframe(settings, "mtf:tac,up") == "1h"


def test_disagreeing_models_hold(settings: Any, wired: Any) -> None:
    decide, _ = session.decider(settings, "mtf:tac,down", wired, _Broker(), tuple(wired.tickers))
    # A flat account (the broker holds nothing): holding is weight 0, action 0 with the hold region.
    np.testing.assert_allclose(decide(len(wired.times) - 1), 0.0)


def test_the_strategic_bar_is_the_newest_closed_one(settings: Any, wired: Any) -> None:
    decide, _ = session.decider(settings, "mtf:tac,up", wired, _Broker(), tuple(wired.tickers))
    coarse = decide.coarse.times
    # the tactical bar that closes exactly when strategic bar k closes sees bar k; the bar before it, k - 1
    k = len(coarse) - 2
    t_close = int(np.searchsorted(wired.times, coarse[k] + 3 * HOUR))
    assert wired.times[t_close] + HOUR == coarse[k] + 4 * HOUR
    assert decide.strategic_bar(t_close) == k
    assert decide.strategic_bar(t_close - 1) == k - 1


def test_a_wrong_mtf_argument_is_refused(settings: Any, wired: Any) -> None:
    with pytest.raises(ValueError, match="give two models"):
        session.decider(settings, "mtf:tac", wired, _Broker(), tuple(wired.tickers))


def test_the_hourly_trader_runs_the_ensemble_when_a_strategic_model_is_set(
    settings: Any, wired: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import polars as pl

    from cappuccino_core.data.store import BarStore
    from cappuccino_core.trading.brokers.factory import sample_files

    store = BarStore(settings.paths.data_root)
    for t, path in sample_files(settings).items():
        store.write(settings.data.venue, t, "1h", pl.read_parquet(path).sort("time"))
    models: list[str] = []
    real = session.open_session

    def spy(*args: Any, **kw: Any) -> Any:
        models.append(args[2])
        return real(*args, **kw)

    monkeypatch.setattr(session, "open_session", spy)
    now = int(wired.times[-1]) + HOUR  # the newest bar has just closed
    outs = {}
    for strategic in ("down", "up"):
        paths = settings.paths.model_copy(update={"state_url": f"sqlite:///{tmp_path}/{strategic}.db"})
        trading = settings.trading.model_copy(update={"mtf_strategic_model": strategic})
        s = settings.model_copy(update={"trading": trading, "paths": paths})
        outs[strategic] = session.live_tick(s, "tac", 0.5, "sim", now_ns=now)  # the hourly flow's call
    assert models == ["mtf:tac,down", "mtf:tac,up"] and outs["down"]["run_id"] == "tac"
    assert not outs["down"]["skipped"] and outs["down"]["orders"] == []  # long vs short: hold (flat)
    assert outs["up"]["orders"]  # both long: the tactical buy goes out
