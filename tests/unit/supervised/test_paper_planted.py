"""LSTM + Transformer + PPO trade a paper session together (short): on the planted 5m market, the two
forecasters trained by ``train_supervised`` and a PPO by one phase-1 trial of the RL study, all registered;
then the session ``trade paper --ensemble lstm,transformer,rl=<ref>`` runs (``ensemble_paper_session``,
``--broker local``: alpaca-py against the loopback exchange) on 6 h of later, unseen bars.
(``scripts/paper_planted.py`` is the 72-hour run.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.supervised.planted_paper import PlantedPaper, planted_paper, planted_settings

pytestmark = pytest.mark.slow  # about 50 s on one core: two forecasters, a PPO trial in its worker, a session
RUN = PlantedPaper(hours=6, train_bars=2400, rl_timesteps=256, supervised_epochs=5)


def test_lstm_transformer_and_ppo_place_orders_together(tmp_path: Path) -> None:
    settings = planted_settings(tmp_path, RUN)
    rep = planted_paper(settings, RUN)
    assert rep["model"] == "ensemble(lstm 0.35, transformer 0.40, rl 0.25)"
    assert rep["members"]["rl"] == "cappuccino-ppo/1" and rep["bars_replayed"] == 72
    votes = rep["votes"]
    assert votes["orders"] > 0 and rep["fills"] > 0 and votes["decisions"] == 72 * 2
    assert {k: m["weight"] for k, m in votes["members"].items()} == {
        "lstm": 0.35,
        "transformer": 0.4,
        "rl": 0.25,
    }
    assert all(m["orders"] == votes["orders"] for m in votes["members"].values())  # all three voted on each
    thr = settings.gates.supervised_confidence_threshold
    for d in rep["decisions"]:  # every decision, recomputed from the members' votes as configured
        p_lstm, p_tf, rl = d["p_up"]["lstm"], d["p_up"]["transformer"], d["rl"]
        assert None not in (p_lstm, p_tf, rl)  # the warm-up gave every bar a forecast
        p = (0.35 * p_lstm + 0.40 * p_tf) / 0.75
        assert d["vote"] == (1 if p >= thr else -1 if p <= 1 - thr else 0)
        assert d["action"] == pytest.approx(np.clip(0.75 * d["vote"] + 0.25 * rl, -1, 1), abs=1e-9)
    for o in rep["order_votes"]:  # each order's decision, the RL member's action part of it
        assert o["rl"] is not None and o["p_up"]["lstm"] is not None and o["p_up"]["transformer"] is not None
        if o["side"] == "buy":  # a buy needs a confident "up" (the threshold rule) and a long target
            assert o["vote"] == 1 and o["action"] > 0
    assert votes["rl_action_on_orders"]["min"] >= -1 and votes["rl_action_on_orders"]["max"] <= 1
    stored = json.loads(Path(rep["report_path"]).read_text())  # the session's report on disk says the same
    assert stored["votes"] == json.loads(json.dumps(votes)) and len(stored["decisions"]) == 144
    assert rep["round_trips"] > 0 and rep["backtest_round_trips"] > 0
