"""``cappuccino train supervised``: features, Optuna, final fit, gate, MLflow run, registered version.

Per kind (``lstm``, ``transformer``):

1. Optuna (``[supervised].optuna_trials`` trials, study ``<study_prefix>-<kind>`` on ``paths.optuna_storage``)
   minimises the validation loss (never the test window) over a small space around the configured values;
2. the best (or configured) hyperparameters are fitted with early stopping;
3. the gate scores the test window (the newest bars) and runs the leakage checks;
4. the run and its model files go to MLflow and become a new registered version; the verdict goes to the
   state store and onto the run and version (``cappuccino gates show <run id>``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.config import Settings
from cappuccino_core.features.supervised_set import SupervisedData, build_supervised
from cappuccino_core.gates.record import mirror_to_mlflow, save_verdict, verdict_tags
from cappuccino_core.gates.verdict import Check, Verdict
from cappuccino_core.registry.tracking import Tracking
from cappuccino_core.state import StateStore
from cappuccino_core.supervised.fit import pick_device
from cappuccino_core.supervised.leakage import causality_check
from cappuccino_core.supervised.pipeline import (
    KINDS,
    KindResult,
    default_params,
    gate_kind,
    score_kind,
    train_kind,
)
from cappuccino_core.supervised.split import training_window
from cappuccino_core.supervised.tracking import log_kind, register

log = logging.getLogger(__name__)


@dataclass
class KindOutcome:
    """What one kind's training left behind."""

    kind: str
    run_id: str
    version: str
    verdict: Verdict
    params: dict[str, Any]
    seconds: float
    samples_per_second: float
    trials: int = 0


@dataclass
class SupervisedOutcome:
    """What a supervised training run left behind: the number of bars it trained on and each kind's
    outcome."""

    data_bars: int
    kinds: list[KindOutcome] = field(default_factory=list)


def newest_frames(frames: Mapping[str, pl.DataFrame], max_bars: int | None) -> dict[str, pl.DataFrame]:
    """The newest ``max_bars`` rows of each frame (all when None)."""
    return {k: (v if max_bars is None else v.tail(max_bars)) for k, v in frames.items()}


def prepare(settings: Settings, frames: Mapping[str, pl.DataFrame]) -> tuple[SupervisedData, Check]:
    """Features and labels (normalisation fitted on the rows before the validation window) and the
    causality check of the feature pipeline on these frames."""
    cfg = settings.supervised
    n = next(iter(frames.values())).height
    fit_end = int(n * (1 - cfg.val_share - cfg.test_share))
    tf = settings.data.timeframe

    def fn(fr: Mapping[str, pl.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
        d = build_supervised(fr, settings.features, cfg, tf, fit_end=fit_end)
        return d.times, d.features

    data = build_supervised(frames, settings.features, cfg, tf, fit_end=fit_end)
    cuts = sorted({fit_end + (n - fit_end) * k // 4 for k in (1, 2, 3)})
    return data, causality_check(fn, frames, cuts)


def search(
    settings: Settings, kind: str, data: SupervisedData, trials: int, device: Any
) -> tuple[dict[str, Any], int, KindResult | None]:
    """Optuna over the kind's hyperparameters on the validation loss: (best params, trials run, the best
    trial's trained models when this call trained them: the final fit is then not repeated)."""
    cfg = settings.supervised
    base = default_params(kind, cfg)
    if trials <= 0:
        return base, 0, None
    fitted: dict[int, KindResult] = {}
    import optuna

    from cappuccino_core.training.storage import settings_storage

    def objective(trial: optuna.Trial) -> float:
        p = dict(base)
        p["lr"] = trial.suggest_float("lr", 3e-4, 1e-2, log=True)
        p["dropout"] = trial.suggest_float("dropout", 0.0, 0.3)
        if kind == "lstm":  # around the configured values (which trial 0 tries as they are)
            p["hidden"] = trial.suggest_categorical("hidden", sorted({base["hidden"], 2 * base["hidden"]}))
        else:
            p["d_model"] = trial.suggest_categorical(
                "d_model", sorted({base["d_model"], 2 * base["d_model"]})
            )
            p["layers"] = trial.suggest_int("layers", 1, max(2, base["layers"]))
        res = train_kind(kind, data, cfg, p, device=device, score_test=False)
        done = [t.value for t in study.trials if t.value is not None and t.number != trial.number]
        if res.val_loss < min(done, default=float("inf")):
            fitted.clear()  # only the best so far stays in memory
            fitted[trial.number] = res
        return res.val_loss

    study = optuna.create_study(
        study_name=f"{cfg.study_prefix}-{kind}",
        storage=settings_storage(settings),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        load_if_exists=True,
    )
    study.enqueue_trial(
        {k: v for k, v in base.items() if k in ("lr", "dropout", "hidden", "d_model", "layers")}
    )
    study.optimize(objective, n_trials=trials)
    best = dict(base)
    best.update(study.best_trial.params)
    return best, trials, fitted.get(study.best_trial.number)


def train_supervised(
    settings: Settings,
    frames: Mapping[str, pl.DataFrame],
    *,
    kinds: Sequence[str] = KINDS,
    trials: int | None = None,
) -> SupervisedOutcome:
    """Train, gate, log and register every kind in ``kinds`` on ``frames`` (see the module docstring)."""
    cfg = settings.supervised
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown model kind(s) {unknown}; expected some of {list(KINDS)}")
    device = pick_device(cfg.device)
    with torch_threads(cfg.cpu_threads if device.type == "cpu" else None):
        return _train_all(settings, frames, kinds, trials, device)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``n`` inside the block (None: unchanged), restored after it."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_all(
    settings: Settings,
    frames: Mapping[str, pl.DataFrame],
    kinds: Sequence[str],
    trials: int | None,
    device: Any,
) -> SupervisedOutcome:
    cfg = settings.supervised
    data, causal = prepare(settings, newest_frames(frames, cfg.max_bars))
    tracking = Tracking.from_settings(settings)
    store = StateStore(settings.paths.state_url)
    out = SupervisedOutcome(data.n_bars)
    for kind in kinds:
        t0 = time.perf_counter()
        n = cfg.optuna_trials if trials is None else trials
        params, n_trials, best = search(settings, kind, data, n, device)
        res = score_kind(best, data, device) if best else train_kind(kind, data, cfg, params, device=device)
        metrics = {"val_loss": res.val_loss}
        metrics.update(
            {
                f"test_accuracy[{t}]": float(np.mean((p >= 0.5) == (y == 1)))
                for t, p, y in zip(data.tickers, res.p_test, res.y_test, strict=True)
            }
        )
        name = cfg.lstm_model_name if kind == "lstm" else cfg.transformer_model_name
        window = training_window(data.times, res.splits, cfg.horizon)
        run_id = log_kind(tracking, cfg.experiment, kind, res.models, data.spec, params, metrics, window)
        verdict = gate_kind(res, data, cfg, settings.gates, run_id, [causal], device=device)
        save_verdict(verdict, store)
        if settings.gates.mirror_to_mlflow:
            mirror_to_mlflow(verdict, tracking)
        tags = {"kind": kind, "feature_spec_hash": data.spec.content_hash(), **verdict_tags(verdict)}
        version = register(tracking, name, run_id, tags)
        sps = float(np.nanmean([f.samples_per_second for f in res.fits]))
        out.kinds.append(
            KindOutcome(kind, run_id, version, verdict, params, time.perf_counter() - t0, sps, n_trials)
        )
    return out
