"""The env a session trades under is the decision's: a model's trained env, the tactical model's for
``mtf:``, and an ensemble's members' shared one (refused when they were trained with different order
semantics). Members are stand-ins carrying a trained env like a loaded registered model does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from cappuccino_core.common.policy import policy_env
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.data.resample import resample_bars
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.registry.model_env import apply_trained
from cappuccino_core.trading.loop import session
from tests.unit.trading.test_session_ensemble import _Broker, _Client, _Member


@dataclass
class _Trained(_Member):
    trained: dict[str, Any] = field(default_factory=dict)

    def env_config(self, base: EnvConfig) -> EnvConfig:
        return apply_trained(self.trained, base)


@pytest.fixture()
def wired(settings: Any, sample_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from cappuccino_core.trading.loop.replay import load_bars

    bars = load_bars(settings, "1h", source="sample")
    spec_1h = build_dataset(bars.frames, settings.features, "1h").spec
    coarse = {t: resample_bars(df, "1h", "4h") for t, df in bars.frames.items()}
    spec_4h = build_dataset(coarse, settings.features, "4h").spec
    specs = {"tac": spec_1h, "held": spec_1h, "plain": spec_1h, "up": spec_4h}
    members = {
        "tac": _Trained("tac", spec_1h, 1.0, {"hold_band": 0.25, "decision_every": 2}),
        "held": _Trained("held", spec_1h, 1.0, {"hold_band": 0.25, "decision_every": 2}),
        "plain": _Trained("plain", spec_1h, 1.0, {}),
        "up": _Trained("up", spec_4h, 0.7, {"hold_band": 0.05, "decision_every": 4}),
    }
    import cappuccino_core.registry as registry
    from cappuccino_core.registry.tracking import Tracking

    monkeypatch.setattr(registry, "model_spec", lambda ref, trk=None: specs[ref])
    monkeypatch.setattr(registry, "load_policy", lambda ref, exp, trk=None: members[ref])
    monkeypatch.setattr(Tracking, "activate", lambda self: _Client({"tac": 1.0, "held": 1.0, "plain": 1.0}))
    return bars


def _env(settings: Any, bars: Any, model: str) -> EnvConfig:
    decide, _ = session.decider(settings, model, bars, _Broker(), tuple(bars.tickers))
    return policy_env(decide, settings.env)  # what open_session gives the bar loop


def test_a_single_model_trades_under_its_trained_env(settings: Any, wired: Any) -> None:
    env = _env(settings, wired, "tac")
    assert (env.hold_band, env.decision_every, env.initial_cash) == (0.25, 2, settings.env.initial_cash)


def test_mtf_trades_under_the_tactical_models_env(settings: Any, wired: Any) -> None:
    decide, _ = session.decider(settings, "mtf:tac,up", wired, _Broker(), tuple(wired.tickers))
    assert decide.env.hold_band == 0.25  # the hold action is built with the env the loop trades under
    env = policy_env(decide, settings.env)
    assert (env.hold_band, env.decision_every) == (0.25, 2)


def test_an_ensemble_shares_its_members_env_or_is_refused(settings: Any, wired: Any) -> None:
    env = _env(settings, wired, "tac,held")
    assert (env.hold_band, env.decision_every) == (0.25, 2)
    with pytest.raises(ValueError, match=r"different action semantics.*hold_band.*decision_every"):
        _env(settings, wired, "tac,plain")
