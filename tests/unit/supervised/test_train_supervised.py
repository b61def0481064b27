"""`cappuccino train supervised` end to end on a tiny planted market: Optuna on the configured storage,
MLflow runs and registered versions (retraining increments them), verdicts in the state store shown by
`cappuccino gates show`, models read back with their FeatureSpec."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.features.supervised_set import supervised_frame_features
from cappuccino_core.registry.tracking import Tracking
from cappuccino_core.state import StateStore
from cappuccino_core.supervised.fit import Samples, decision_rows, pick_device, predict_proba
from cappuccino_core.supervised.run import train_supervised
from cappuccino_core.supervised.split import TimeSplit, iso_time, training_window
from cappuccino_core.supervised.synthetic import planted_frames
from cappuccino_core.supervised.tracking import find_run, load_supervised

TINY = SupervisedConfig(
    lookback=4, vol_short=4, vol_long=12, epochs=2, patience=1, batch_size=64, lstm_hidden=8,
    transformer_d_model=8, transformer_heads=2, transformer_layers=1, optuna_trials=1, embargo=2,
    max_bars=None, device="cpu",
)  # fmt: skip


@pytest.fixture()
def tiny(settings):
    return settings.model_copy(update={"supervised": TINY})


def test_train_gate_register_and_retrain(tiny, monkeypatch) -> None:
    from typer.testing import CliRunner

    import cappuccino_cli.gates as gates_cli
    from cappuccino_cli.main import app

    frames = planted_frames(360, ("AAA/USD", "BBB/USD"), seed=5)
    first = train_supervised(tiny, frames)
    assert [k.kind for k in first.kinds] == ["lstm", "transformer"]
    assert [k.version for k in first.kinds] == ["1", "1"]
    assert all(k.trials == 1 for k in first.kinds)
    store = StateStore(tiny.paths.state_url)
    for k in first.kinds:
        rows = store.verdicts(k.run_id)
        assert [r.gate for r in rows] == ["supervised"]
        names = {c["name"] for c in rows[0].figures["checks"]}
        assert {"accuracy[AAA/USD]", "calibration_error", "leak_future_features"} <= names
        assert any(n.startswith("leak_shuffled_accuracy") for n in names)
    tracking = Tracking.from_settings(tiny)
    run = tracking.activate().get_run(first.kinds[0].run_id)
    assert run.data.tags["version"] == "1" and "gate.supervised.passed" in run.data.tags
    again = train_supervised(tiny, frames, kinds=["lstm"], trials=0)
    assert again.kinds[0].version == "2"
    assert find_run(tracking, TINY.lstm_model_name) == again.kinds[0].run_id

    model = load_supervised(tracking, first.kinds[1].run_id)
    data = supervised_frame_features(frames, model.spec)
    dec = decision_rows(data, None)
    p = predict_proba(model.units[0], Samples.from_data(data, pick_device("cpu")), dec, None)
    assert p.shape == (dec.size, 2) and np.all((p > 0) & (p < 1))
    w = model.window  # the bars it was trained on, logged as window.* params and read back
    assert w["train_start"] == iso_time(int(data.times[0]))  # the same bars: the first feature row
    assert w["train_start"] < w["train_end"] < w["test_start"] <= w["test_end"]
    other = load_supervised(tracking, first.kinds[0].run_id)
    with pytest.raises(FeatureSpecMismatch):
        load_supervised(tracking, first.kinds[0].run_id, expected_spec=_renamed(other.spec))

    monkeypatch.setattr(gates_cli, "settings_or_exit", lambda _cfg: tiny)
    res = CliRunner().invoke(app, ["gates", "show", first.kinds[1].run_id])
    assert res.exit_code == 0, res.output
    assert "supervised" in res.output and ("PASSED" in res.output or "FAILED" in res.output)


def test_training_window_spans_the_fit_and_validation_bars() -> None:
    times = np.datetime64("2025-01-01T00:00", "ns") + np.arange(20) * np.timedelta64(5, "m")
    t = times.astype(np.int64)
    a = TimeSplit(np.arange(2, 8), np.arange(10, 13), np.arange(16, 19), purge=2, embargo=1)
    b = TimeSplit(np.arange(3, 8), np.arange(10, 14), np.arange(15, 20), purge=2, embargo=1)
    w = training_window(t, [a, b], horizon=2)
    # row 0 on; validation labels up to row 13 + 2 = 15; test from row 15, labels clipped at the last bar
    assert w == {"train_start": "2025-01-01T00:00:00Z", "train_end": "2025-01-01T01:15:00Z",
                 "test_start": "2025-01-01T01:15:00Z", "test_end": "2025-01-01T01:35:00Z"}  # fmt: skip


def _renamed(spec):
    from dataclasses import replace

    return replace(spec, tickers=tuple(reversed(spec.tickers)))


def test_cli_is_reachable_and_refuses_bad_input(settings) -> None:
    from typer.testing import CliRunner

    from cappuccino_cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["train", "--help"])
    assert res.exit_code == 0 and "supervised" in res.output
    res = runner.invoke(app, ["train", "supervised", "--source", "nowhere"])
    assert res.exit_code != 0 and "--source" in res.output
    res = runner.invoke(app, ["train", "supervised", "--kind", "gru", "--source", "sample"])
    assert res.exit_code != 0 and "unknown model kind" in res.output
