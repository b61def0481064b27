"""The supervised ensemble as an arena contender (``[arena] ensemble``): the arena-hill task the flow calls,
on registered (tiny) LSTM + Transformer models and a registered PPO, after the strategy contest seated the
floor. It enters once its ``ensemble_stress`` verdict passed (computed when missing), its bout is recorded
under its identity, it cannot be promoted past champion, and a missing member keeps it out with the reason."""

from __future__ import annotations

import tomllib
from typing import Any

import numpy as np

from cappuccino_core.arena import holders, run_hill, windows
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.state import StateStore
from tests.env_presets import NO_BAND
from tests.unit.arena.conftest import ConstPolicy
from tests.unit.readme_blocks import blocks
from tests.unit.supervised.test_ensemble_cli import (
    _register_champion_ppo,
    _register_supervised,
    _small_scenario_set,
)

LAX_STRESS = {  # thresholds any policy clears: the entry test is about the arena, not the gate's figures
    "stress_min_profitable_share": 0.0,
    "stress_min_median_sharpe": -1e9,
    "stress_max_drawdown": 1.0,
    "stress_max_scenario_loss": 1.0,
}


def _with(settings: Any, ensemble: str, gates: dict[str, Any] | None = None, **arena: Any) -> Any:
    return settings.model_copy(
        update={
            "arena": settings.arena.model_copy(update={"ensemble": ensemble, "window_bars": 48, **arena}),
            "gates": settings.gates.model_copy(update=gates or {}),
        }
    )


def _readme_ensemble() -> str:
    """``[arena] ensemble`` as README section 3b shows it."""
    (block,) = blocks("### 3b. Supervised signal line", "toml")
    return str(tomllib.loads(block)["arena"]["ensemble"])


def _hill(settings: Any) -> list[str]:
    from cappuccino_core.arena import strategy_contest
    from tasks.stages import arena_hill

    strategy_contest(settings)  # as the arena flow does first: the best strategy takes the empty seat
    return list(arena_hill.fn(settings, [], False))


OLDER = 200  # the members train on bars ending 200 before the sample's newest: the 48-bar bout is unseen


def test_ensemble_enters_fights_and_is_recorded(settings, sample_dir) -> None:
    from cappuccino_core.arena.referee import standing

    runs = _register_supervised(settings, older=OLDER)
    rl_run = _register_champion_ppo(settings)
    assert _readme_ensemble() == "lstm,transformer,rl=champion"
    s = _with(_small_scenario_set(settings), _readme_ensemble(), LAX_STRESS, wins_to_sandbox=1)
    eid = f"ensemble:lstm/1+transformer/1+rl={rl_run[:8]}"
    lines = _hill(s)
    text = "\n".join(lines)
    assert f"{eid} entered: ensemble(lstm 0.35, transformer 0.40, rl 0.25), configured weights" in text
    assert "passed ensemble_stress computed now" in text
    (bout,) = [ln for ln in lines if ln.strip().startswith("bout strategy:")]
    assert bout.strip().split(" vs ")[1].startswith(f"{eid}:")  # the strategy champion against the ensemble
    store = StateStore(s.paths.state_url)
    row = standing(store, eid)
    assert row is not None and row.matches == 1 and row.role in ("champion", "eliminated")
    (audit,) = [a for a in store.audit_log(eid) if a.action in ("arena:crown", "arena:eliminate")]
    assert audit.evidence["challenger"]["model"] == eid  # its figures on the window, under its identity
    assert audit.evidence["incumbent"]["model"].startswith("strategy:")
    assert isinstance(audit.evidence["challenger"]["trades"], int) and audit.evidence["winner"] in bout
    for rid in (runs["lstm"], runs["transformer"], rl_run):  # the verdict computed at entry was stored
        assert [v.gate for v in store.verdicts(rid)] == ["ensemble_stress"]
    if row.role == "champion":  # wins_to_sandbox=1: a model would go to the sandbox; the ensemble cannot
        assert f"not promoted: {eid} has 1 consecutive wins but is not a registered model" in text
    again = "\n".join(_hill(s))  # it entered once: no second challenge, no second gate run
    assert f"{eid} already entered the arena (now {row.role}): no new challenge" in again
    assert again.startswith("champion strategy:") or again.startswith(f"champion {eid} (1 wins)")
    assert len(store.verdicts(runs["lstm"])) == 1


def test_failed_gate_and_missing_member_keep_it_out(settings, sample_dir) -> None:
    runs = _register_supervised(settings, older=OLDER)
    s = _with(settings, "lstm,transformer,rl=champion")
    lines = _hill(s)  # nobody holds the champion role: the RL member is missing
    assert any("ensemble 'lstm,transformer,rl=champion' not entered: ensemble member rl=champion" in ln
               for ln in lines), lines  # fmt: skip
    assert "no challenger: no bout" in "\n".join(lines)
    s = _with(_small_scenario_set(settings), "lstm,transformer", {"stress_min_median_sharpe": 1e9})
    text = "\n".join(_hill(s))  # members resolve, but no ensemble clears a median Sharpe of 1e9
    assert "ensemble:lstm/1+transformer/1 not entered: ensemble(lstm 0.47, transformer 0.53) FAILED" in text
    store = StateStore(s.paths.state_url)
    assert [v.passed for v in store.verdicts(runs["lstm"])] == [False]
    text = "\n".join(_hill(s))  # the next arena run reads the stored verdict of this very ensemble
    assert "FAILED its ensemble_stress gate (stored ensemble_stress verdict of " in text
    assert "median_sharpe = 0, needs > 1e+09" in text and len(store.verdicts(runs["lstm"])) == 1


def test_a_bout_window_inside_a_members_training_bars_keeps_it_out(settings, sample_dir) -> None:
    """Members trained on the sample's newest 500 bars (validation up to the newest 20% of them): the 48-bar
    bout window at the end of the held-out bars lies inside the LSTM's training + validation bars."""
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.registry import Tracking
    from cappuccino_core.supervised.tracking import load_supervised

    runs = _register_supervised(settings)  # newest 500 bars
    lstm = load_supervised(Tracking.from_settings(settings), runs["lstm"])
    times = load_aligned(settings, source="sample").times_ns()
    t = [str(np.datetime64(int(x), "ns").astype("datetime64[s]")) + "Z" for x in times[-500:]]
    # the first feature row follows the warm-up; validation labels end before the purge and test window
    assert lstm.window["train_start"] == t[lstm.spec.warmup] and t[-101] < lstm.window["train_end"] < t[-48]
    s = _with(settings, "lstm,transformer", LAX_STRESS, window_bars=150)
    lines = _hill(s)
    text = "\n".join(lines)
    bout = f"{t[-151]} .. {t[-1]}"  # the newest 150-step window of the held-out bars: 151 bars
    assert (f"ensemble:lstm/1+transformer/1 not entered: member lstm/1 (run {runs['lstm']}) was trained and "
            f"validated on {lstm.window['train_start']} .. {lstm.window['train_end']}, which the bout window "
            f"{bout} overlaps: its bout would not be out of sample") in text, text  # fmt: skip
    assert "no challenger: no bout" in text  # refused before its gate: no stress run, no verdict stored
    assert StateStore(s.paths.state_url).verdicts(runs["lstm"]) == []


def test_an_ensemble_champion_is_never_sent_to_the_sandbox(referee, store, roles, data) -> None:
    """With the wins for the sandbox, a model champion goes; the ensemble (no registered model) stays
    champion with a report note, and the referee gives it no alias or tag."""
    from cappuccino_core.arena import ArenaConfig

    cfg = ArenaConfig(min_trades=1, wins_to_sandbox=1, window_bars=40)
    ens = "ensemble:lstm/3+transformer/2+rl=1a2b3c4d"
    pols = {"flat": ConstPolicy(-1.0), ens: ConstPolicy(1.0), "other": ConstPolicy(-1.0)}
    w = windows(data, cfg.window_bars)
    report = run_hill(["flat", ens, "other"], pols.__getitem__, data, w, EnvConfig(**NO_BAND), CostsConfig(),
                      cfg, referee)  # fmt: skip
    assert report.champion == ens and report.champion_wins == 2 and report.promoted == []
    assert report.eliminated == ["flat", "other"]
    assert report.notes == [
        f"not promoted: {ens} has 1 consecutive wins but is not a registered model; the sandbox and "
        "production take registered models only, so it stays champion"
    ]  # noted once, at the first win that would have promoted a model
    assert holders(store, "champion") == [ens] and holders(store, "sandbox") == []
    assert roles.holder("champion") is None and ens not in roles.tags  # no registry alias or tag
    assert [a.action for a in store.audit_log(subject=ens)] == ["arena:defend", "arena:crown"]
