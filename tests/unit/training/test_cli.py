"""`cappuccino train` (the typer app in cappuccino_cli/train.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cappuccino_cli.train import app

runner = CliRunner()


def _config(tmp_path: Path, sample_dir: Path) -> Path:
    sample = tmp_path / "sample"
    sample.mkdir()
    for f in sample_dir.glob("*_1h.parquet"):
        pl.read_parquet(f).tail(800).write_parquet(sample / f.name)
    cfg = tmp_path / "cappuccino.toml"
    cfg.write_text(
        f"""
[paths]
data_root = "{tmp_path / "data"}"
sample_dir = "{sample}"
mlflow_tracking_uri = "sqlite:///{tmp_path / "mlflow.db"}"
mlflow_artifact_root = "{tmp_path / "mlartifacts"}"
optuna_storage = "journal:{tmp_path / "optuna.journal"}"

[env]
n_envs = 2
episode_length = 32

[training]
experiment = "cli"
phase1_timeframes = ["4h"]
phase1_lookbacks = [3]
cv_groups = 3
cv_test_groups = 1
purge_bars = 2
embargo_bars = 2
phase1_timesteps_per_split = 32
checkpoint_every_steps = 32
n_steps_choices = [16]
batch_size_choices = [16]
net_width_choices = [8]
final_fit = false
"""
    )
    return cfg


def test_help_and_bad_phase() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for opt in ("--phase", "--trials", "--workers", "--report"):
        assert opt in res.output
    assert runner.invoke(app, ["--phase", "3"]).exit_code != 0


def test_phase2_before_phase1_fails_clearly(tmp_path: Path, sample_dir: Path) -> None:
    res = runner.invoke(app, ["--phase", "2", "--config", str(_config(tmp_path, sample_dir))])
    assert res.exit_code == 2
    assert "phase 1" in res.output


@pytest.mark.slow
def test_train_phase1_one_trial_then_report(tmp_path: Path, sample_dir: Path) -> None:
    cfg = _config(tmp_path, sample_dir)
    res = runner.invoke(app, ["--phase", "1", "--trials", "1", "--workers", "1", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "cli-phase1" in res.output and "limit 1" in res.output and "COMPLETE 1" in res.output
    rep = runner.invoke(app, ["--phase", "1", "--report", "--config", str(cfg)])
    assert rep.exit_code == 0, rep.output
    assert "cli-phase1" in rep.output
