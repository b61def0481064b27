"""`trade paper --model a,b`: the members' ensemble, weighted by their validation Sharpe, decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from cappuccino_core.features.builder import build_dataset
from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.trading.loop import session
from cappuccino_core.trading.loop.replay import load_bars


@dataclass
class _Member:
    run_id: str
    spec: Any
    action: float

    def predict(self, obs: Any) -> np.ndarray:
        return np.full((np.asarray(obs).shape[0], len(self.spec.tickers)), self.action)


class _Client:
    def __init__(self, sharpes: dict[str, float]) -> None:
        self.sharpes = sharpes

    def get_run(self, run_id: str) -> Any:
        metrics = {"test/sharpe": self.sharpes[run_id]} if run_id in self.sharpes else {}
        return type("Run", (), {"data": type("Data", (), {"metrics": metrics})()})()


class _Broker:
    def positions(self) -> dict[str, float]:
        return {}

    def cash(self) -> float:
        return 100_000.0


@pytest.fixture()
def wired(settings: Any, sample_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    bars = load_bars(settings, "1h", source="sample")
    spec = build_dataset(bars.frames, settings.features, "1h").spec
    members = {"aaa": _Member("aaa", spec, 1.0), "bbb": _Member("bbb", spec, -1.0)}
    import cappuccino_core.registry as registry
    from cappuccino_core.registry.tracking import Tracking

    monkeypatch.setattr(registry, "model_spec", lambda ref, trk=None: spec)
    monkeypatch.setattr(registry, "load_policy", lambda ref, exp, trk=None: members[ref])
    monkeypatch.setattr(Tracking, "activate", lambda self: _Client({"aaa": 1.5, "bbb": 0.5}))
    return bars


def test_ensemble_weights_members_by_validation_sharpe(settings: Any, wired: Any) -> None:
    decide, label = session.decider(settings, "aaa, bbb", wired, _Broker(), tuple(wired.tickers))
    assert label == "ensemble:aaa+bbb"
    # weights 1.5/2.0 and 0.5/2.0: 0.75 x (+1) + 0.25 x (-1) = +0.5 on every asset, once features exist
    acts = decide(len(wired.times) - 1)
    np.testing.assert_allclose(acts, np.full((1, len(wired.tickers)), 0.5))


def test_single_model_is_not_wrapped(settings: Any, wired: Any) -> None:
    decide, label = session.decider(settings, "bbb", wired, _Broker(), tuple(wired.tickers))
    assert label == "bbb"
    np.testing.assert_allclose(decide(len(wired.times) - 1), -1.0)


def test_member_without_validation_sharpe_is_refused(
    settings: Any, wired: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cappuccino_core.registry.tracking import Tracking

    monkeypatch.setattr(Tracking, "activate", lambda self: _Client({"aaa": 1.0}))
    with pytest.raises(ValueError, match="bbb has no test/sharpe"):
        session.decider(settings, "aaa,bbb", wired, _Broker(), tuple(wired.tickers))


def test_other_tickers_are_refused(settings: Any, wired: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import cappuccino_core.registry as registry

    spec = registry.model_spec("aaa")
    other = type(spec)(**{**spec.__dict__, "tickers": tuple(reversed(spec.tickers))})
    monkeypatch.setattr(registry, "model_spec", lambda ref, trk=None: other)
    with pytest.raises(FeatureSpecMismatch, match="trades"):
        session.decider(settings, "aaa", wired, _Broker(), tuple(wired.tickers))
