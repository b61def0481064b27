"""The augmentation ablation, run as the README shows it (`cappuccino train --ablation --config
configs/quickstart.toml`), with tiny budgets from the environment: two real studies (0% and 30% synthetic
windows), each best trial on the held-out real window and on the bear and crisis CGE scenarios, the comparison
printed and saved."""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.integration.prefect_helpers import ROOT, tiny_env

pytestmark = pytest.mark.slow
COMMAND = "cappuccino train --ablation --config configs/quickstart.toml"


def test_readme_ablation_command_compares_both_arms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert COMMAND in (ROOT / "README.md").read_text()
    env = {
        **tiny_env(tmp_path),
        "CAPPUCCINO_TRAINING__PHASE1_TRIALS": "1",
        "CAPPUCCINO_TRAINING__PHASE2_TRIALS": "1",
        "CAPPUCCINO_TRAINING__WORKERS": "1",
        "CAPPUCCINO_TRAINING__SYNTHETIC_WINDOW_BARS": "300",
        "CAPPUCCINO_CGE__N_SCENARIOS": "10",
        "CAPPUCCINO_CGE__REGIME_MIX": '{"normal": 4, "bull": 2, "bear": 2, "crisis": 2}',
        "CAPPUCCINO_CGE__HOURS": "400",
        "CAPPUCCINO_GATES__STRESS_MAX_HOURS": "300",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from cappuccino_core.cge.generate import generate, spec_from_settings
    from cappuccino_core.config import load_settings

    s = load_settings(ROOT / "configs" / "quickstart.toml")
    generate(spec_from_settings(s), s.cge.output_dir)  # the scenario set `make run` would have made

    exe, *args = shlex.split(COMMAND)
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / exe), *args], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    printed = " ".join(out.stdout.split())  # the console wraps long lines at the terminal's width
    assert "bear: median Sharpe" in printed and "(0% -> 30% synthetic)" in printed
    rep = json.loads((tmp_path / "reports" / "ablation" / "augmentation.json").read_text())
    assert [a["synthetic_share"] for a in rep["arms"]] == [0.0, 0.3] and rep["regimes"] == ["bear", "crisis"]
    assert rep["arms"][0]["study"] != rep["arms"][1]["study"]  # separate studies, separate experiments
    for arm in rep["arms"]:
        assert arm["best_run_id"] and math.isfinite(arm["held_out"]["sharpe"])
        assert arm["stress"]["bear"]["scenarios"] == 2 and arm["stress"]["crisis"]["scenarios"] == 2
