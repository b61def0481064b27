"""FeatureSpec: everything a model needs to see the same features at inference as in training.

A model artifact carries its FeatureSpec; loading it against data built with a different spec fails
loudly (tickers in order, timeframe, indicators and parameters, lookback, normalisation).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class FeatureSpecMismatch(ValueError):
    """The data's features are not the ones a model was trained on."""


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of a FeatureSpec: its registry name, parameters (sorted pairs) and output column
    names."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    outputs: tuple[str, ...] = ()  # column names this indicator produces, e.g. ("macd", "macd_signal", ...)

    def params_dict(self) -> dict[str, Any]:
        """The parameters as a dict."""
        return dict(self.params)


@dataclass(frozen=True)
class FeatureSpec:
    """What a model was trained on (tickers in model order, timeframe, indicators, normalisation, lookback);
    loading a model checks it against the data's."""

    tickers: tuple[str, ...]  # in model order, never sorted
    timeframe: str
    indicators: tuple[IndicatorSpec, ...]
    lookback: int
    warmup: int  # bars dropped at the start so every indicator is defined
    normalisation: str = "zscore"
    # Fitted on training data only: per (ticker, feature) mean and std, shape [N][F] as nested lists.
    norm_mean: tuple[tuple[float, ...], ...] = ()
    norm_std: tuple[tuple[float, ...], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Every indicator output, in feature order."""
        return tuple(o for ind in self.indicators for o in ind.outputs)

    @property
    def n_features(self) -> int:
        """Number of features per asset."""
        return len(self.feature_names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (indicators with their params as a mapping)."""
        d = asdict(self)
        d["indicators"] = [
            {"name": i.name, "params": dict(i.params), "outputs": list(i.outputs)} for i in self.indicators
        ]
        d["tickers"] = list(self.tickers)
        d["norm_mean"] = [list(r) for r in self.norm_mean]
        d["norm_std"] = [list(r) for r in self.norm_std]
        d["hash"] = self.content_hash()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        """The spec of :meth:`to_dict`'s dict."""
        inds = tuple(
            IndicatorSpec(i["name"], tuple(sorted(i["params"].items())), tuple(i["outputs"]))
            for i in d["indicators"]
        )
        spec = cls(
            tickers=tuple(d["tickers"]),
            timeframe=d["timeframe"],
            indicators=inds,
            lookback=int(d["lookback"]),
            warmup=int(d["warmup"]),
            normalisation=d.get("normalisation", "zscore"),
            norm_mean=tuple(tuple(float(x) for x in r) for r in d.get("norm_mean", [])),
            norm_std=tuple(tuple(float(x) for x in r) for r in d.get("norm_std", [])),
            extra=d.get("extra", {}),
        )
        if "hash" in d and d["hash"] != spec.content_hash():
            raise FeatureSpecMismatch(f"FeatureSpec hash {d['hash']} does not match its content")
        return spec

    def content_hash(self) -> str:
        """sha256 over the defining content (not ``extra``); 16 hex chars."""
        body = {
            "tickers": list(self.tickers),
            "timeframe": self.timeframe,
            "indicators": [[i.name, [list(p) for p in i.params], list(i.outputs)] for i in self.indicators],
            "lookback": self.lookback,
            "warmup": self.warmup,
            "normalisation": self.normalisation,
            "norm_mean": [[round(x, 12) for x in r] for r in self.norm_mean],
            "norm_std": [[round(x, 12) for x in r] for r in self.norm_std],
        }
        blob = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def save(self, path: str | Path) -> None:
        """Write the spec as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str))

    @classmethod
    def load(cls, path: str | Path) -> FeatureSpec:
        """A spec written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def check_compatible(self, other: FeatureSpec) -> None:
        """Raise FeatureSpecMismatch naming every difference that would make a model see other data."""
        problems = []
        if self.tickers != other.tickers:
            problems.append(f"tickers {list(self.tickers)} != {list(other.tickers)} (order matters)")
        if self.timeframe != other.timeframe:
            problems.append(f"timeframe {self.timeframe} != {other.timeframe}")
        if [(i.name, i.params) for i in self.indicators] != [(i.name, i.params) for i in other.indicators]:
            problems.append(
                f"indicators {[i.name for i in self.indicators]} != {[i.name for i in other.indicators]}"
                " (names or parameters differ)"
            )
        if self.lookback != other.lookback:
            problems.append(f"lookback {self.lookback} != {other.lookback}")
        if self.normalisation != other.normalisation:
            problems.append(f"normalisation {self.normalisation} != {other.normalisation}")
        if problems:
            raise FeatureSpecMismatch("FeatureSpec mismatch: " + "; ".join(problems))
