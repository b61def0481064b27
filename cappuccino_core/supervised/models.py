"""The two forecasters: an LSTM per coin and a Transformer over all coins. Both output logits of P(up).

* :class:`LSTMClassifier`: (B, L, F) -> (B,): an LSTM over the coin's last L bars, a linear head on the last
  hidden state.
* :class:`TransformerClassifier`: (B, L, N, F) -> (B, N): every (bar, coin) is a token (features projected
  to ``d_model`` plus a learnt coin embedding and a learnt bar-position embedding); a pre-norm Transformer
  encoder attends across bars and coins; each coin's token at the last bar gives its logit. Causality is
  by construction: the window ends at the decision bar, so no token is from the future.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class LSTMClassifier(nn.Module):
    """An LSTM over one coin's feature window; ``forward`` returns the logit of P(up)."""

    kind = "lstm"

    def __init__(self, n_features: int, hidden: int = 32, layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = {
            "n_features": n_features,
            "hidden": hidden,
            "layers": layers,
            "dropout": dropout,
        }
        self.lstm = nn.LSTM(
            n_features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1])).squeeze(-1)


class TransformerClassifier(nn.Module):
    """A small Transformer encoder over (bar, coin) tokens; ``forward`` returns (B, N) logits of P(up)."""

    kind = "transformer"

    def __init__(
        self,
        n_assets: int,
        n_features: int,
        lookback: int,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = {
            "n_assets": n_assets,
            "n_features": n_features,
            "lookback": lookback,
            "d_model": d_model,
            "heads": heads,
            "layers": layers,
            "dropout": dropout,
        }
        self.proj = nn.Linear(n_features, d_model)
        self.asset = nn.Parameter(torch.zeros(n_assets, d_model))
        self.pos = nn.Parameter(torch.zeros(lookback, d_model))
        nn.init.normal_(self.asset, std=0.02)
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, lb, n, _ = x.shape
        h = self.proj(x) + self.asset[None, None, :, :] + self.pos[None, -lb:, None, :]
        h = self.encoder(h.reshape(b, lb * n, -1)).reshape(b, lb, n, -1)
        return self.head(self.norm(h[:, -1])).squeeze(-1)


def build_model(kind: str, hparams: dict[str, Any]) -> nn.Module:
    """A model of ``kind`` ("lstm" | "transformer") from its saved hyperparameters."""
    if kind == "lstm":
        return LSTMClassifier(**hparams)
    if kind == "transformer":
        return TransformerClassifier(**hparams)
    raise ValueError(f"unknown model kind {kind!r}; expected 'lstm' or 'transformer'")
