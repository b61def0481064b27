"""The README's run scripts of section 3b, as written: each script's short command, the line the README gives
beside its full-size measurement, runs from the repository root in a fresh interpreter, and its summary (the
script's last output line, JSON) must say what the README says the run shows. (Each decision's vote and
action, recomputed by hand from the members' inputs: tests/unit/supervised/test_signals_ensemble.py.)"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
REAL_5M = ROOT.parent / "shared" / "data" / "real"

PAPER = ".venv/bin/python scripts/paper_planted.py --hours 6 --rl-timesteps 256"
SOAK_PLANTED = ".venv/bin/python scripts/soak_planted.py --hours 6"
SOAK_REAL = ".venv/bin/python scripts/soak_real.py --real-dir ../shared/data/real --hours 6 --train-bars 3000"
ARENA = ".venv/bin/python scripts/ensemble_arena_sample.py --scenarios 10 --hours 240"


def run_as_written(command: str, timeout_s: float = 600) -> dict[str, Any]:
    """The README's ``command`` (checked to be in the README, joined across its line breaks), run from the
    repository root; its last output line parsed as JSON."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert command in readme, f"README does not show {command!r}"
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/python"
    argv[0] = sys.executable if not (ROOT / ".venv/bin/python").exists() else argv[0]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_paper_session_of_lstm_transformer_and_ppo_places_orders() -> None:
    s = run_as_written(PAPER)
    assert s["model"] == "ensemble(lstm 0.35, transformer 0.40, rl 0.25)"
    assert s["members"]["rl"] == "cappuccino-ppo/1" and s["bars_replayed"] == 72
    assert s["gate_passed"] == {"lstm": True, "transformer": True}
    votes = s["votes"]
    assert votes["decisions"] == 72 * 2 and s["orders"] == votes["orders"] > 0 and s["fills"] > 0
    assert {k: m["weight"] for k, m in votes["members"].items()} == {
        "lstm": 0.35,
        "transformer": 0.4,
        "rl": 0.25,
    }
    assert all(m["orders"] == votes["orders"] for m in votes["members"].values())  # all three on every order
    assert votes["orders_on_a_signal"] + votes["orders_without_a_signal"] == votes["orders"]
    assert -1 <= votes["rl_action_on_orders"]["min"] <= votes["rl_action_on_orders"]["max"] <= 1
    assert s["round_trips"] > 0 and s["backtest_round_trips"] > 0


def test_planted_soak_trades_survives_faults_and_halts_after_the_gap() -> None:
    s = run_as_written(SOAK_PLANTED)
    assert s["gate_passed"] == {"lstm": True, "transformer": True}
    assert s["bars_replayed"] == 72 and s["faults_injected"] > 0 and s["broker_errors"] == 0
    assert s["orders"] > 0 and s["round_trips"] > 0 and s["high_tier_signals"] > 0
    assert s["prop_firm_halted"] and s["buys_after_breach_same_day"] == 0
    assert s["received_by_loopback"] == s["notifications"]["sent"] > 0


def test_soak_with_forecasters_trained_on_real_bars_stays_up() -> None:
    if not any(REAL_5M.glob("BINANCE_BTCUSDT_5m.*")):
        pytest.skip(f"no BINANCE_BTCUSDT_5m.* under {REAL_5M}")
    s = run_as_written(SOAK_REAL)
    assert s["bars_replayed"] == 72 and s["faults_injected"] > 0 and s["broker_errors"] == 0
    assert s["buys_after_breach_same_day"] == 0
    assert 0.5 <= s["max_confidence"] <= 1.0 and s["signals"] >= s["high_tier_signals"] >= 0


def test_ensemble_in_the_arena_on_the_bundled_sample() -> None:
    s = run_as_written(ARENA)
    assert set(s["supervised_gate_passed"]) == {"lstm", "transformer"}
    arena = "\n".join(s["arena"])
    assert "strategy:" in arena  # the strategy contest seated a champion
    assert "ensemble:lstm/1+transformer/1" in arena  # the ensemble's entry is reported, whichever way it went
