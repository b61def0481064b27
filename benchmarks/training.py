"""Training study throughput and robustness: a fixed small study with 1 and with 2 worker processes.

Setup: the bundled real sample, 1h bars, 6 assets (the newest BARS bars), lookback 5, CPCV N=5 / k=2
(10 splits, purge and embargo 12 bars), PPO with 8 envs x 64 steps, 512 env steps per split plus the
final fit, MLflow tracking on (every trial is a run with its policy), journal storage, pruner off so
both runs do the same work. Every trial has the same configuration (one timeframe, one lookback), so
trials/hour compares the infrastructure, not the luck of the sampler.

Run A: 1 worker, TRIALS_1 trials. Run B: 2 workers, TRIALS_2 trials (the study measured).
Reported: trials per hour (A, B), B/A speed-up, share of trials COMPLETE or PRUNED, every trial
terminal with a reason, peak RSS per trial (the trial's child process), and the growth of each worker's
RSS from its first to its last trial.

Targets: 100% terminal with reasons, RSS growth <= 5%, speed-up >= 1.7 (needs 2 free cores).
The last line printed is a JSON object; the exit status is 1 when a target is missed.
Run: .venv/bin/python benchmarks/training.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402
import polars as pl  # noqa: E402

from cappuccino_core.config import Settings, load_settings  # noqa: E402
from cappuccino_core.registry import Tracking  # noqa: E402
from cappuccino_core.training.study import open_study, phase_report, prepare_phase  # noqa: E402
from cappuccino_core.training.workers import run_workers  # noqa: E402

BARS = 4000
TRIALS_1, TRIALS_2 = 6, 12
TARGET_SPEEDUP, TARGET_GROWTH = 1.7, 0.05


def settings_for(root: Path, sample: Path, name: str, trials: int) -> Settings:
    return load_settings(
        paths={
            "data_root": root / "data",
            "sample_dir": sample,
            "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
            "mlflow_artifact_root": root / "mlartifacts",
            "optuna_storage": f"journal:{root / 'optuna.journal'}",
        },
        env={"n_envs": 8, "episode_length": 256},
        training={
            "experiment": name,
            "phase1_trials": trials,
            "phase1_timeframes": ["1h"],
            "phase1_lookbacks": [5],
            "cv_groups": 5,
            "cv_test_groups": 2,
            "purge_bars": 12,
            "embargo_bars": 12,
            "phase1_timesteps_per_split": 512,
            "checkpoint_every_steps": 256,
            "n_steps_choices": [64],
            "batch_size_choices": [128],
            "net_width_choices": [64],
            "net_depth_max": 2,
            "pruner": "none",
            "trial_timeout_s": 900,
            "trial_memory_mb": 3000,
        },
    )


def run(root: Path, sample: Path, name: str, workers: int, trials: int) -> dict[str, Any]:
    settings = settings_for(root, sample, name, trials)
    study = prepare_phase(settings, 1, trials)
    Tracking.from_settings(settings).ensure_experiment(study.study_name)
    t0 = time.monotonic()
    codes = run_workers(settings, 1, workers, trials)
    wall = time.monotonic() - t0
    load = os.getloadavg()[1]  # 5-minute load average: other processes compete for the cores
    study = open_study(settings, 1)
    report = phase_report(study, trials)
    frozen = study.get_trials(deepcopy=False)
    by_worker: dict[int, list[float]] = {}
    for t in sorted(frozen, key=lambda t: t.datetime_start or 0):
        rss = t.user_attrs.get("worker_rss_mb", 0.0)
        by_worker.setdefault(t.user_attrs.get("worker_pid", -1), []).append(rss)
    growth = max((v[-1] - v[0]) / v[0] for v in by_worker.values() if len(v) > 1 and v[0] > 0)
    peaks = [t.user_attrs.get("peak_rss_mb", 0.0) for t in frozen]
    done = sum(t.state.name in ("COMPLETE", "PRUNED") for t in frozen)
    return {
        "workers": workers,
        "trials": len(frozen),
        "wall_s": wall,
        "trials_per_hour": len(frozen) / wall * 3600,
        "complete_or_pruned": done / len(frozen),
        "terminal_with_reason": report.all_terminal_with_reason,
        "states": report.states,
        "peak_rss_mb_max": max(peaks),
        "peak_rss_mb_median": sorted(peaks)[len(peaks) // 2],
        "worker_rss_mb": by_worker,
        "worker_rss_growth": growth,
        "exit_codes": codes,
        "load_avg": load,
        "mean_trial_s": sum(t.user_attrs.get("wall_s", 0) for t in frozen) / len(frozen),
    }


def main() -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="cappuccino-bench-training-") as tmp:
        root = Path(tmp)
        sample = root / "sample"
        sample.mkdir()
        for f in (ROOT / "data" / "sample").glob("*_1h.parquet"):
            pl.read_parquet(f).tail(BARS).write_parquet(sample / f.name)
        a = run(root, sample, "bench-1w", 1, TRIALS_1)
        b = run(root, sample, "bench-2w", 2, TRIALS_2)
    speedup = b["trials_per_hour"] / a["trials_per_hour"]
    for r in (a, b):
        print(
            f"{r['workers']} worker(s): {r['trials']} trials in {r['wall_s']:.0f} s = "
            f"{r['trials_per_hour']:.0f} trials/h (mean trial {r['mean_trial_s']:.1f} s, load avg "
            f"{r['load_avg']:.1f}); states {r['states']}; terminal with reason: {r['terminal_with_reason']}"
        )
        print(
            f"  child peak RSS median {r['peak_rss_mb_median']:.0f} MB, max {r['peak_rss_mb_max']:.0f} MB; "
            f"worker RSS first->last trial {100 * r['worker_rss_growth']:+.2f}% ({r['worker_rss_mb']})"
        )
    print(f"speed-up 2 workers / 1: {speedup:.2f}x (target >= {TARGET_SPEEDUP}); cores {os.cpu_count()}")
    growth = max(a["worker_rss_growth"], b["worker_rss_growth"])
    ok = (
        a["terminal_with_reason"]
        and b["terminal_with_reason"]
        and growth <= TARGET_GROWTH
        and speedup >= TARGET_SPEEDUP
    )
    result = {
        "metric": "training_trials_per_hour_2_workers",
        "value": round(b["trials_per_hour"], 1),
        "unit": "trials/h",
        "baseline": round(a["trials_per_hour"], 1),
        "ratio": round(speedup, 3),
        "target": f"ratio >= {TARGET_SPEEDUP}, RSS growth <= {100 * TARGET_GROWTH:.0f}%, all terminal+reason",
        "pass": bool(ok),
        "complete_or_pruned": b["complete_or_pruned"],
        "terminal_with_reason": bool(a["terminal_with_reason"] and b["terminal_with_reason"]),
        "rss_growth": round(growth, 4),
        "peak_rss_mb": round(b["peak_rss_mb_max"], 1),
    }
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
