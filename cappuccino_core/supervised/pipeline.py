"""Train and gate one model kind on :class:`SupervisedData`: the split, the fit(s), the test forecasts, the
shuffled-label retrain and the verdict. No MLflow here (``tracking.py`` logs what this returns).

* ``lstm``: one :class:`LSTMClassifier` per coin, each on its own labelled rows, split and early stopping;
* ``transformer``: one :class:`TransformerClassifier` over all coins (a row is a sample, the loss is masked
  per coin).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import torch
from torch import nn

from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.supervised_set import SupervisedData
from cappuccino_core.gates.verdict import Check, Verdict
from cappuccino_core.supervised.fit import FitResult, Samples, decision_rows, fit, predict_proba
from cappuccino_core.supervised.gate import supervised_verdict
from cappuccino_core.supervised.leakage import shuffle_in_time, shuffled_label_check
from cappuccino_core.supervised.metrics import accuracy_stats
from cappuccino_core.supervised.models import LSTMClassifier, TransformerClassifier
from cappuccino_core.supervised.split import TimeSplit, gap_checks, time_split

KINDS = ("lstm", "transformer")
log = logging.getLogger(__name__)


def default_params(kind: str, cfg: SupervisedConfig) -> dict[str, Any]:
    """The configured hyperparameters of ``kind`` (what Optuna searches around)."""
    if kind == "lstm":
        return {
            "hidden": cfg.lstm_hidden,
            "layers": cfg.lstm_layers,
            "dropout": cfg.dropout,
            "lr": cfg.learning_rate,
        }
    if kind == "transformer":
        return {
            "d_model": cfg.transformer_d_model,
            "heads": cfg.transformer_heads,
            "layers": cfg.transformer_layers,
            "dropout": cfg.dropout,
            "lr": cfg.learning_rate,
        }
    raise ValueError(f"unknown model kind {kind!r}; expected one of {KINDS}")


def make_model(kind: str, data: SupervisedData, params: dict[str, Any]) -> nn.Module:
    """A fresh model of ``kind`` for ``data``'s shape."""
    f = data.features.shape[2]
    if kind == "lstm":
        return LSTMClassifier(f, params["hidden"], params["layers"], params["dropout"])
    return TransformerClassifier(
        data.features.shape[1],
        f,
        data.spec.lookback,
        params["d_model"],
        params["heads"],
        params["layers"],
        params["dropout"],
    )


@dataclass
class KindResult:
    """Trained models of one kind (one per coin for the LSTM), their splits, test forecasts and fits."""

    kind: str
    params: dict[str, Any]
    models: list[nn.Module]
    splits: list[TimeSplit]
    fits: list[FitResult]
    p_test: list[np.ndarray]  # per coin: P(up) on its labelled test rows
    y_test: list[np.ndarray]  # per coin: the 0/1 labels there
    test_rows: list[np.ndarray]  # per coin: the rows scored
    shuffled: list[Any] = field(default_factory=list)  # AccuracyStats of the shuffled-label retrain
    verdict: Verdict | None = None

    @property
    def val_loss(self) -> float:
        """Mean of the fits' best validation losses."""
        return float(np.mean([f.best_val_loss for f in self.fits]))


def _units(kind: str, data: SupervisedData) -> list[int | None]:
    return list(range(data.features.shape[1])) if kind == "lstm" else [None]


def _split(data: SupervisedData, cfg: SupervisedConfig, asset: int | None) -> TimeSplit:
    return time_split(decision_rows(data, asset), cfg.val_share, cfg.test_share, cfg.purge_bars, cfg.embargo)


def _fit_unit(
    kind: str,
    data: SupervisedData,
    samples: Samples,
    split: TimeSplit,
    asset: int | None,
    params: dict[str, Any],
    cfg: SupervisedConfig,
    epochs: int,
) -> FitResult:
    torch.manual_seed(cfg.seed + (asset or 0))
    model = make_model(kind, data, params)
    return fit(
        model,
        samples,
        split.train,
        split.val,
        asset=asset,
        epochs=epochs,
        patience=cfg.patience,
        batch_size=cfg.batch_size,
        lr=params["lr"],
        weight_decay=cfg.weight_decay,
        seed=cfg.seed + (asset or 0),
    )


def _scores(
    kind: str, model: nn.Module, samples: Samples, data: SupervisedData, rows: np.ndarray, asset: int | None
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    p = predict_proba(model, samples, rows, asset)
    if asset is not None:
        return [p], [data.labels[rows, asset].astype(np.int64)], [rows]
    ps, ys, rs = [], [], []
    for j in range(data.features.shape[1]):
        ok = data.labels[rows, j] >= 0
        ps.append(p[ok, j])
        ys.append(data.labels[rows[ok], j].astype(np.int64))
        rs.append(rows[ok])
    return ps, ys, rs


def train_kind(
    kind: str,
    data: SupervisedData,
    cfg: SupervisedConfig,
    params: dict[str, Any] | None = None,
    *,
    device: torch.device,
    epochs: int | None = None,
    score_test: bool = True,
) -> KindResult:
    """Fit ``kind`` on ``data`` (early stopping on validation); test forecasts when ``score_test``."""
    params = params or default_params(kind, cfg)
    samples = Samples.from_data(data, device)
    res = KindResult(kind, params, [], [], [], [], [], [])
    for asset in _units(kind, data):
        split = _split(data, cfg, asset)
        fr = _fit_unit(kind, data, samples, split, asset, params, cfg, epochs or cfg.epochs)
        log.info(
            "%s %s: best epoch %d of %d, val loss %.4f, %.0f samples/s",
            kind,
            "all" if asset is None else data.tickers[asset],
            fr.best_epoch,
            len(fr.history),
            fr.best_val_loss,
            fr.samples_per_second,
        )
        res.models.append(fr.model)
        res.splits.append(split)
        res.fits.append(fr)
    if score_test:
        score_kind(res, data, device)
    return res


def score_kind(res: KindResult, data: SupervisedData, device: torch.device) -> KindResult:
    """Fill ``res``'s test forecasts (P(up) per coin on its split's test rows) and labels."""
    samples = Samples.from_data(data, device)
    res.p_test, res.y_test, res.test_rows = [], [], []
    for model, split, asset in zip(res.models, res.splits, _units(res.kind, data), strict=True):
        p, y, r = _scores(res.kind, model, samples, data, split.test, asset)
        res.p_test += p
        res.y_test += y
        res.test_rows += r
    return res


def shuffled_run(
    kind: str,
    data: SupervisedData,
    cfg: SupervisedConfig,
    params: dict[str, Any],
    *,
    device: torch.device,
    z: float,
) -> list[Any]:
    """Retrain on training labels shuffled in time (same split, same test rows); test accuracy per unit."""
    out = []
    for asset in _units(kind, data):
        split = _split(data, cfg, asset)
        # Every label the fit sees is shuffled, the validation rows' too: early stopping on true validation
        # labels would pick, among the shuffled fits' epochs, the one that happens to track the signal.
        shuffled = shuffle_in_time(
            shuffle_in_time(data.labels, split.train, cfg.seed + 7), split.val, cfg.seed + 8
        )
        samples = Samples.from_data(data, device, labels=shuffled)
        fr = _fit_unit(kind, data, samples, split, asset, params, cfg, max(2, cfg.epochs // 2))
        ps, ys, _ = _scores(kind, fr.model, samples, data, split.test, asset)
        out.append(accuracy_stats(np.concatenate(ps), np.concatenate(ys), z))
    return out


def bonferroni_z(z: float, m: int) -> float:
    """The z whose one-sided tail is that of ``z`` divided by ``m`` tests: m chance checks at one level."""
    nd = NormalDist()
    return float(nd.inv_cdf(1.0 - (1.0 - nd.cdf(z)) / max(m, 1)))


def gate_kind(
    res: KindResult,
    data: SupervisedData,
    cfg: SupervisedConfig,
    gates: GatesConfig,
    run_id: str,
    extra_checks: Sequence[Check] = (),
    *,
    device: torch.device,
) -> Verdict:
    """The verdict of a trained kind: accuracy, calibration, and the leakage checks (split windows, the
    shuffled-label retrain when ``gates.supervised_shuffle_check``, and ``extra_checks``)."""
    leak: list[Check] = []
    labels = ["all"] if res.kind == "transformer" else list(data.tickers)
    for s, lab in zip(res.splits, labels, strict=True):
        leak += gap_checks(s, data.spec.lookback, cfg.horizon, lab)
    if gates.supervised_shuffle_check:
        z = bonferroni_z(gates.supervised_ci_z, len(labels))
        res.shuffled = shuffled_run(res.kind, data, cfg, res.params, device=device, z=z)
        leak += [shuffled_label_check(st, z, lab) for st, lab in zip(res.shuffled, labels, strict=True)]
    leak += list(extra_checks)
    inputs = {
        "kind": res.kind,
        "params": res.params,
        "horizon": cfg.horizon,
        "dead_zone": cfg.dead_zone,
        "lookback": data.spec.lookback,
        "purge": cfg.purge_bars,
        "embargo": cfg.embargo,
        "spec_hash": data.spec.content_hash(),
        "test_start": str(np.datetime64(int(data.times[min(s.test[0] for s in res.splits)]), "ns")),
    }
    res.verdict = supervised_verdict(
        run_id, res.kind, data.tickers, res.p_test, res.y_test, gates, leak, inputs
    )
    return res.verdict
