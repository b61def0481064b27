"""``[supervised] weights = "learned"``: the supervised share split by each member's held-out accuracy edge
read from its MLflow run, by hand; and the weights used are recorded by the paper session and the arena."""

from __future__ import annotations

import tomllib
from types import SimpleNamespace
from typing import Any

import pytest

from cappuccino_core.supervised.tracking import SupervisedModel
from cappuccino_core.supervised.weights import ensemble_weights_for
from tests.unit.readme_blocks import blocks
from tests.unit.supervised.test_ensemble_cli import _register_supervised

ACC = {  # per member run: the test_accuracy_<coin> metrics training logs (and one it logs beside them)
    "run-l": {"test_accuracy_BTC_USD": 0.55, "test_accuracy_ETH_USD": 0.53, "val_loss": 0.69},  # edge 0.04
    "run-t": {"test_accuracy_BTC_USD": 0.52, "test_accuracy_ETH_USD": 0.50, "val_loss": 0.70},  # edge 0.01
    "run-bad": {"test_accuracy_BTC_USD": 0.48, "test_accuracy_ETH_USD": 0.46},  # edge -0.03
    "run-none": {"val_loss": 0.7},
}


class FakeTracking:
    def activate(self) -> Any:
        return SimpleNamespace(get_run=lambda rid: SimpleNamespace(data=SimpleNamespace(metrics=ACC[rid])))


def _models(**runs: str) -> list[SupervisedModel]:
    return [SupervisedModel(kind, [], None, run) for kind, run in runs.items()]  # type: ignore[arg-type]


def _learned(settings: Any) -> Any:
    """``[supervised] weights`` as README section 3b shows it ("learned")."""
    (block,) = blocks("### 3b. Supervised signal line", "toml")
    sup = settings.supervised.model_copy(update={"weights": tomllib.loads(block)["supervised"]["weights"]})
    return settings.model_copy(update={"supervised": sup})


def test_weights_by_hand(settings) -> None:
    trk = FakeTracking()
    conf = ensemble_weights_for(settings, _models(lstm="run-l", transformer="run-t"), True, trk)
    assert conf.source == "configured" and conf.weights == {"lstm": 0.35, "transformer": 0.40, "rl": 0.25}
    s = _learned(settings)
    assert s.supervised.weights == "learned"
    w = ensemble_weights_for(s, _models(lstm="run-l", transformer="run-t"), True, trk)
    # edges 0.04 and 0.01 split the supervised share 0.75: 0.75 x 0.8 = 0.6, 0.75 x 0.2 = 0.15; RL keeps 0.25
    assert w.source == "learned" and w.edges == pytest.approx({"lstm": 0.04, "transformer": 0.01})
    assert w.weights == pytest.approx({"lstm": 0.6, "transformer": 0.15, "rl": 0.25})
    w = ensemble_weights_for(s, _models(lstm="run-l", transformer="run-bad"), False, trk)
    assert w.weights == pytest.approx({"lstm": 0.75, "transformer": 0.0})  # a negative edge weighs nothing
    w = ensemble_weights_for(s, _models(lstm="run-bad", transformer="run-bad"), False, trk)
    assert w.weights == pytest.approx({"lstm": 0.375, "transformer": 0.375})  # none beats chance: equal
    w = ensemble_weights_for(s, _models(transformer="run-t"), True, trk)
    assert w.weights == pytest.approx({"transformer": 0.40, "rl": 0.25})  # the share of the members named
    with pytest.raises(ValueError, match=r"ensemble member lstm \(run run-none\) logged no test_accuracy_"):
        ensemble_weights_for(s, _models(lstm="run-none"), False, trk)


def test_learned_weights_in_the_paper_report_and_the_arena_id(settings, sample_dir) -> None:
    from cappuccino_core.arena.ensemble_entry import resolve_entrant
    from cappuccino_core.registry.tracking import Tracking
    from cappuccino_core.supervised.members import load_members, parse_members
    from cappuccino_core.supervised.paper import ensemble_paper_session

    runs = _register_supervised(settings)
    client = Tracking.from_settings(settings).activate()
    for kind, run in (("lstm", "run-l"), ("transformer", "run-t")):
        for name, value in ACC[run].items():
            client.log_metric(runs[kind], name, value)
    s = _learned(settings)
    rep = ensemble_paper_session(s, load_members(s, parse_members("lstm,transformer")), days=1)
    assert rep["weights"]["source"] == "learned"
    assert rep["weights"]["weights"] == pytest.approx({"lstm": 0.6, "transformer": 0.15})
    assert rep["model"] == "ensemble(lstm 0.80, transformer 0.20)"  # normalised without an RL member
    arena = s.arena.model_copy(update={"ensemble": "lstm,transformer"})
    entrant, lines = resolve_entrant(s.model_copy(update={"arena": arena}))
    assert lines == [] and entrant is not None
    assert entrant.id == "ensemble:lstm/1+transformer/1:learned" and entrant.label == rep["model"]
