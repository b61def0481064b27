"""Training of one forecaster: mini-batches of windows, masked binary cross-entropy, early stopping.

Windows are gathered per batch from the (T, N, F) feature tensor (never materialised for all samples).
Early stopping watches the validation loss and restores the best epoch's weights. Seeds are fixed
(torch, the batch order); the device is CPU unless CUDA is present and allowed (``device = "auto"``).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cappuccino_core.features.supervised_set import SupervisedData
from cappuccino_core.features.targets import MASKED


def pick_device(preference: str = "auto") -> torch.device:
    """``cuda`` when asked for or (``auto``) present, else ``cpu``; asking for absent CUDA raises."""
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available")
    if preference in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def seed_all(seed: int) -> None:
    """Fix torch's (CPU and CUDA) and numpy's global seeds."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


@dataclass
class Samples:
    """The data on the device: features (T, N, F), labels (T, N) and their mask, plus the lookback."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    lookback: int

    @classmethod
    def from_data(
        cls, data: SupervisedData, device: torch.device, labels: np.ndarray | None = None
    ) -> Samples:
        """``data``'s features and labels (or ``labels``) on ``device``; masked labels become 0 with mask
        False."""
        lab = data.labels if labels is None else labels
        return cls(
            torch.as_tensor(data.features, device=device),
            torch.as_tensor(np.maximum(lab, 0).astype(np.float32), device=device),
            torch.as_tensor(lab != MASKED, device=device),
            data.spec.lookback,
        )

    def batch(self, rows: np.ndarray, asset: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Windows ending at ``rows``: (B, L, F) for one ``asset`` or (B, L, N, F) for all (asset None)."""
        r = torch.as_tensor(rows, device=self.x.device)
        idx = r[:, None] + torch.arange(-self.lookback + 1, 1, device=self.x.device)[None, :]
        if asset is None:
            return self.x[idx], self.y[r], self.mask[r]
        return self.x[idx, asset], self.y[r, asset], self.mask[r, asset]


def decision_rows(data: SupervisedData, asset: int | None) -> np.ndarray:
    """Rows whose whole window lies in one segment and which have a label (for ``asset``, or any asset)."""
    lb = data.spec.lookback
    ok = np.zeros(data.n_bars, dtype=bool)
    for s, e in data.segments:
        ok[s + lb - 1 : e] = True
    lab = data.labels != MASKED
    ok &= lab.any(axis=1) if asset is None else lab[:, asset]
    return np.flatnonzero(ok)


@dataclass
class FitResult:
    """The trained model (best epoch restored) and how training went."""

    model: nn.Module
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    samples_seen: int = 0

    @property
    def samples_per_second(self) -> float:
        """Training throughput: samples seen per second of training (NaN when no time was measured)."""
        return self.samples_seen / self.train_seconds if self.train_seconds > 0 else float("nan")


def _loss(model: nn.Module, s: Samples, rows: np.ndarray, asset: int | None) -> torch.Tensor:
    x, y, m = s.batch(rows, asset)
    logits = model(x)
    per = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (per * m).sum() / m.sum().clamp(min=1)


def fit(
    model: nn.Module,
    samples: Samples,
    train: np.ndarray,
    val: np.ndarray,
    *,
    asset: int | None,
    epochs: int,
    patience: int,
    batch_size: int,
    lr: float,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> FitResult:
    """Adam on masked BCE; stop after ``patience`` epochs without a lower validation loss."""
    seed_all(seed)
    model.to(samples.x.device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    best, best_state, best_epoch, waited = float("inf"), copy.deepcopy(model.state_dict()), -1, 0
    history: list[dict[str, float]] = []
    seen, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(train)
        total = 0.0
        for k in range(0, order.size, batch_size):
            rows = order[k : k + batch_size]
            loss = _loss(model, samples, rows, asset)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * rows.size
            seen += rows.size
        val_loss = evaluate_loss(model, samples, val, asset, batch_size)
        history.append({"epoch": epoch, "train_loss": total / max(order.size, 1), "val_loss": val_loss})
        if val_loss < best - 1e-6:
            best, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(model, best_epoch, best, history, time.perf_counter() - t0, seen)


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, s: Samples, rows: np.ndarray, asset: int | None, batch_size: int
) -> float:
    """Masked BCE over ``rows`` (labelled entries weighted equally)."""
    model.eval()
    num, den = 0.0, 0.0
    for k in range(0, rows.size, batch_size * 4):
        r = rows[k : k + batch_size * 4]
        x, y, m = s.batch(r, asset)
        per = nn.functional.binary_cross_entropy_with_logits(model(x), y, reduction="none")
        num += float((per * m).sum())
        den += float(m.sum())
    return num / den if den else float("nan")


@torch.no_grad()
def predict_proba(
    model: nn.Module, s: Samples, rows: np.ndarray, asset: int | None, batch_size: int = 1024
) -> np.ndarray:
    """P(up) at ``rows``: (n,) for one asset, (n, N) for all."""
    model.eval()
    outs = [
        torch.sigmoid(model(s.batch(rows[k : k + batch_size], asset)[0])).cpu().numpy()
        for k in range(0, rows.size, batch_size)
    ]
    if not outs:
        return np.empty((0,) if asset is not None else (0, s.x.shape[1]))
    return np.concatenate(outs).astype(np.float64)
