"""`cappuccino trade paper --ensemble ...`: the README's command as written, on registered (tiny) LSTM and
Transformer models and a registered PPO holding the champion role; and the errors when a member is missing."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cappuccino_core.state import StateStore
from tests.unit.readme_blocks import commands

SECTION = "### 3b. Supervised signal line"


def _register_supervised(settings: Any, older: int = 0) -> dict[str, str]:
    """Tiny LSTM + Transformer on 500 of the sample's bars ending ``older`` bars before its newest, logged
    with the bars they were trained on and registered (as training does)."""
    from cappuccino_core.config.supervised import SupervisedConfig
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.supervised_set import build_supervised
    from cappuccino_core.registry.tracking import Tracking
    from cappuccino_core.supervised.fit import pick_device
    from cappuccino_core.supervised.pipeline import train_kind
    from cappuccino_core.supervised.split import training_window
    from cappuccino_core.supervised.tracking import log_kind, register

    frames = load_aligned(settings, source="sample").frames
    tail = {k: v.slice(v.height - older - 500, 500) for k, v in frames.items()}
    cfg = SupervisedConfig(lookback=4, epochs=1, patience=1, batch_size=128, lstm_hidden=8,
                           transformer_d_model=8, transformer_heads=2, embargo=2)  # fmt: skip
    sup = build_supervised(tail, settings.features, cfg, "1h", fit_end=300)
    trk = Tracking.from_settings(settings)
    sc = settings.supervised
    names = {"lstm": sc.lstm_model_name, "transformer": sc.transformer_model_name}
    runs = {}
    for kind in ("lstm", "transformer"):
        res = train_kind(kind, sup, cfg, device=pick_device("cpu"), score_test=False)
        window = training_window(sup.times, res.splits, cfg.horizon)
        rid = log_kind(trk, sc.experiment, kind, res.models, sup.spec, {"lookback": 4}, {}, window)
        register(trk, names[kind], rid, {"kind": kind})
        runs[kind] = rid
    return runs


def _register_champion_ppo(settings: Any) -> str:
    """An (untrained) SB3 PPO on the sample's RL features, registered with the champion alias."""
    from stable_baselines3 import PPO

    from cappuccino_core.env.vec_env import KernelVecEnv
    from cappuccino_core.features.builder import build_dataset
    from cappuccino_core.registry import register_policy, trial_run
    from cappuccino_core.registry.tracking import Tracking
    from cappuccino_core.trading.loop.replay import load_bars

    bars = load_bars(settings, "1h", source="sample")
    data = build_dataset(bars.frames, settings.features, "1h")
    ppo = PPO("MlpPolicy", KernelVecEnv.build(data, settings.env, settings.costs, 2), n_steps=8,
              batch_size=16, device="cpu", seed=0)  # fmt: skip
    trk = Tracking.from_settings(settings)
    with trial_run(trk, "ensemble-cli", 0) as run:
        run.log_policy(ppo, data.spec)
        run.log_objective(0.0)
    register_policy(run.run_id, alias="champion", tracking=trk)
    return str(run.run_id)


def _cli(settings: Any, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> Any:
    import cappuccino_cli.gates as gates_cli
    import cappuccino_cli.trade as trade_cli
    from cappuccino_cli.main import app

    monkeypatch.setattr(trade_cli, "settings_or_exit", lambda _cfg: settings)
    monkeypatch.setattr(gates_cli, "settings_or_exit", lambda _cfg: settings)
    return CliRunner().invoke(app, argv)


def _small_scenario_set(settings: Any) -> Any:
    """A 4-scenario x 240 h CGE set of the sample's coins under cge.output_dir (the gate's default source)."""
    from cappuccino_core.cge.generate import generate, spec_from_settings

    small = settings.model_copy(
        update={"cge": settings.cge.model_copy(update={"n_scenarios": 4, "hours": 240, "workers": 1})}
    )
    generate(spec_from_settings(small), small.cge.output_dir)
    return small


def test_readme_ensemble_commands_as_written(settings, sample_dir, monkeypatch) -> None:
    runs = _register_supervised(settings)
    rl_run = _register_champion_ppo(settings)
    lines = [ln for ln in commands(SECTION) if "--ensemble" in ln]
    assert lines == ["cappuccino trade paper --broker local --days 1 --ensemble lstm,transformer,rl=champion"]
    res = _cli(settings, monkeypatch, shlex.split(lines[0])[1:])
    assert res.exit_code == 0, res.output
    assert "ensemble(lstm 0.35, transformer 0.40, rl 0.25)" in res.output
    assert "report: " in res.output
    out = Path(settings.paths.reports_dir) / settings.trading.reports_subdir
    (path,) = out.glob("paper_local_ensemble_*")
    report = json.loads(path.read_text())
    assert report["bars_replayed"] == 24 and report["broker"] == "local"
    assert report["members"]["lstm"].startswith(runs["lstm"]) and "version 1" in report["members"]["lstm"]
    assert report["members"]["transformer"].startswith(runs["transformer"])
    assert report["members"]["rl"] == "champion"

    settings = _small_scenario_set(settings)
    (line,) = [ln for ln in commands(SECTION) if ln.startswith("cappuccino gates stress-ensemble")]
    assert line == "cappuccino gates stress-ensemble lstm,transformer,rl=champion"
    res = _cli(settings, monkeypatch, shlex.split(line)[1:])
    assert res.exit_code in (0, 1), res.output  # 1: the gate failed (a verdict), never an error
    assert "ensemble(lstm 0.35, transformer 0.40, rl 0.25) over 4 scenarios" in res.output
    assert ("ensemble_stress: passed" in res.output) == (res.exit_code == 0)
    store = StateStore(settings.paths.state_url)
    for rid in (runs["lstm"], runs["transformer"], rl_run):
        (v,) = store.verdicts(rid)
        assert v.gate == "ensemble_stress" and v.figures["scenarios"] == 4
        assert v.inputs["members"]["rl"] == "champion" and "forecasts" in v.figures
    shown = _cli(settings, monkeypatch, ["gates", "show", runs["transformer"]])
    assert shown.exit_code == 0 and "ensemble_stress" in shown.output


def test_missing_members_are_named(settings, sample_dir, monkeypatch) -> None:
    argv = ["trade", "paper", "--broker", "local", "--ensemble", "lstm,transformer"]
    res = _cli(settings, monkeypatch, argv)
    assert res.exit_code != 0
    assert "ensemble member lstm: no registered versions of cappuccino-lstm" in res.output
    assert "cappuccino train supervised" in res.output
    res = _cli(settings, monkeypatch, ["trade", "paper", "--ensemble", "lstm,gru"])
    assert res.exit_code != 0 and "unknown member 'gru'" in res.output
    res = _cli(settings, monkeypatch, ["trade", "paper", "--ensemble", "rl=champion"])
    assert res.exit_code != 0 and "at least one supervised member" in res.output
    res = _cli(settings, monkeypatch, ["trade", "paper", "--model", "abc", "--ensemble", "lstm"])
    assert res.exit_code != 0 and "not both" in res.output


def test_missing_version_and_rl_member_are_named(settings, sample_dir, monkeypatch) -> None:
    from cappuccino_core.supervised.members import load_members, parse_members

    _register_supervised(settings)
    with pytest.raises(ValueError, match="ensemble member lstm: cappuccino-lstm has no version 7"):
        load_members(settings, parse_members("lstm/7"))
    with pytest.raises(ValueError, match=r"ensemble member rl=champion: not found in the registry"):
        load_members(settings, parse_members("lstm,rl=champion"))  # nobody holds the champion role
    with pytest.raises(ValueError, match=r"rl=0123456789abcdef0123456789abcdef: not found"):
        load_members(settings, parse_members("transformer,rl=0123456789abcdef0123456789abcdef"))
    models = load_members(settings, parse_members("transformer/1"))
    assert [m.kind for m in models] == ["transformer"] and models[0].version == "1"
