"""One kind trained and gated without MLflow: shapes, the split's purge, early stopping, a verdict with the
per-coin, calibration and leakage checks; CPU by default, CUDA refused when absent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.supervised_set import build_supervised
from cappuccino_core.supervised.ensemble import forecast_table
from cappuccino_core.supervised.fit import pick_device
from cappuccino_core.supervised.models import LSTMClassifier, TransformerClassifier
from cappuccino_core.supervised.pipeline import gate_kind, train_kind
from cappuccino_core.supervised.synthetic import planted_frames
from cappuccino_core.supervised.tracking import SupervisedModel

CFG = SupervisedConfig(
    lookback=4, vol_short=4, vol_long=12, epochs=3, patience=1, batch_size=64, lstm_hidden=8,
    transformer_d_model=8, transformer_heads=2, transformer_layers=1, embargo=2, learning_rate=3e-3,
)  # fmt: skip
FRAMES = planted_frames(300, seed=2)
FEATS = FeaturesConfig(indicators=[{"name": "close"}, {"name": "rsi", "params": {"timeperiod": 5}}])


def test_model_shapes() -> None:
    assert LSTMClassifier(5, 8)(torch.zeros(3, 4, 5)).shape == (3,)
    assert TransformerClassifier(2, 5, 4, 8, 2, 1)(torch.zeros(3, 4, 2, 5)).shape == (3, 2)


def test_device_choice() -> None:
    assert pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert pick_device("auto").type == "cpu"
        with pytest.raises(ValueError, match="CUDA"):
            pick_device("cuda")


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_train_and_gate_one_kind(kind: str) -> None:
    data = build_supervised(FRAMES, FEATS, CFG, "1h", fit_end=180)
    res = train_kind(kind, data, CFG, device=pick_device("cpu"))
    assert len(res.models) == (2 if kind == "lstm" else 1)
    for s in res.splits:
        assert s.val[0] - s.train[-1] > CFG.purge_bars + CFG.embargo
        assert s.test[0] - s.val[-1] > CFG.purge_bars + CFG.embargo
    assert all(0 <= f.best_epoch < CFG.epochs for f in res.fits)
    for p, y, r in zip(res.p_test, res.y_test, res.test_rows, strict=True):
        assert p.shape == y.shape == r.shape and np.all((p > 0) & (p < 1))
    v = gate_kind(res, data, CFG, GatesConfig(), "r" * 32, device=pick_device("cpu"))
    names = [c.name for c in v.checks]
    assert "accuracy[AAA/USD]" in names and "accuracy_ci_low[BBB/USD]" in names
    assert "calibration_error" in names and sum(n.startswith("leak_shuffled") for n in names) == len(
        res.models
    )
    assert v.gate == "supervised" and v.figures["reliability"][0]["tier"] == "low"
    table = forecast_table(SupervisedModel(kind, res.models, data.spec), FRAMES)
    assert table.p_up.shape == (data.n_bars, 2)
    assert (
        np.isnan(table.p_up[: CFG.lookback - 1]).all() and np.isfinite(table.p_up[CFG.lookback - 1 :]).all()
    )


def test_torch_threads_are_restored() -> None:
    from cappuccino_core.supervised.run import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_the_shuffled_retrain_sees_no_true_label_on_its_training_or_validation_rows(monkeypatch) -> None:
    """Early stopping reads the validation labels: true ones there would let the shuffled fit pick the epoch
    that tracks the signal. Train and validation rows carry permuted labels; the test rows keep the truth."""
    import cappuccino_core.supervised.pipeline as pipeline
    from cappuccino_core.supervised.pipeline import shuffled_run

    data = build_supervised(FRAMES, FEATS, CFG, "1h", fit_end=180)
    seen: list[tuple[np.ndarray, object]] = []
    real_fit = pipeline._fit_unit

    def spy(kind, data_, samples, split, *args, **kwargs):
        seen.append((samples.y.cpu().numpy().copy(), split))
        return real_fit(kind, data_, samples, split, *args, **kwargs)

    monkeypatch.setattr(pipeline, "_fit_unit", spy)
    params = pipeline.default_params("lstm", CFG)
    shuffled_run("lstm", data, CFG, params, device=pick_device("cpu"), z=1.96)
    truth = np.maximum(data.labels, 0)
    assert seen
    for y, split in seen:
        for rows in (split.train, split.val):
            assert not np.array_equal(y[rows], truth[rows])  # permuted
            assert sorted(map(tuple, y[rows])) == sorted(map(tuple, truth[rows]))  # the same labels
        assert np.array_equal(y[split.test], truth[split.test])
