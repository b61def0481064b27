"""CGE scenario engine: the stress/augmentation scenario set (shared/design/CGE.md).

The defaults are the published stress set: 200 scenarios, the frozen regime mix 80 normal / 40 bull /
50 bear / 30 crisis, base seed 20250701, one year (4 quarters, 8760 hours). Whether a model passes the stress
gate depends on them: change them only together with ``version``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, field_validator

from cappuccino_core.config.base import Section

_REGIMES = ("normal", "bull", "bear", "crisis")


def _default_bands() -> dict[str, tuple[float, float]]:
    # Price bands per base asset (quote USD/USDT). BTC and ETH as CGE.md; the others span roughly their
    # 2023-07..2025-06 trading ranges on Binance (data/sample, ../shared/data/real).
    return {
        "BTC": (50_000.0, 150_000.0),
        "ETH": (1_400.0, 5_000.0),
        "SOL": (60.0, 300.0),
        "LINK": (6.0, 30.0),
        "LTC": (45.0, 160.0),
        "ADA": (0.22, 1.30),
        "XRP": (0.40, 3.50),
        "DOGE": (0.05, 0.50),
        "AVAX": (10.0, 65.0),
        "DOT": (2.5, 12.0),
        "NEAR": (1.2, 8.5),
        "BCH": (180.0, 720.0),
    }


class CgeConfig(Section):
    """``[cge]``: the CGE scenario set (version, size, regime mix, horizon, tickers, seeds) and its hourly
    layer."""

    version: str = Field(
        "cge-1",
        min_length=1,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="scenario-set version string; part of the set's directory name and of its config hash",
    )
    n_scenarios: int = Field(200, ge=1, le=65535, description="scenarios in the set")
    regime_mix: dict[str, int] = Field(
        default_factory=lambda: {"normal": 80, "bull": 40, "bear": 50, "crisis": 30},
        description="scenario counts per regime (normal, bull, bear, crisis); scaled by largest remainder "
        "when n_scenarios differs from their total; the frozen default is 80/40/50/30 of 200",
    )
    base_seed: int = Field(
        20250701, ge=0, description="base seed; scenario k's seed is SeedSequence([base_seed, k]) (frozen)"
    )
    quarters: int = Field(4, ge=1, le=40, description="CGE quarters per scenario (4 = one year)")
    hours: int = Field(8760, ge=24, description="hourly bars per scenario path (8760 = one year)")
    tickers: list[str] | None = Field(
        None, description="assets of the price paths, in order; default: data.tickers"
    )
    bands: dict[str, tuple[float, float]] = Field(
        default_factory=_default_bands,
        description="price band [Pmin, Pmax] per base asset (BTC, ETH, ...): paths are placed inside "
        "without clipping; every configured ticker needs one",
    )
    output_dir: Path = Field(Path("data/cge"), description="where scenario sets are written")
    calibration_path: Path | None = Field(
        None,
        description="hourly-layer fit (JSON) to use; default: the bundled fit if it covers the tickers, "
        "else a fit from the real data saved as <output_dir>/hourly_calibration.json",
    )
    calibration_hours: int = Field(
        35040, ge=2000, description="most recent common hourly bars the hourly-layer fit uses (4 years)"
    )
    real_data_dir: Path | None = Field(
        Path("../shared/data/real"),
        description="fallback directory of real hourly bars ({VENUE}_{PAIR}_1h.feather, columns date/...) "
        "for tickers missing from paths.sample_dir",
    )
    clock_start: datetime = Field(
        datetime(2001, 1, 1, tzinfo=UTC),
        description="UTC time of hour 0 of every scenario's own hourly clock (before any real crypto bar, "
        "so synthetic timestamps never collide with real ones)",
    )
    workers: int = Field(2, ge=1, le=64, description="processes that simulate scenario batches")
    homotopy_steps: int = Field(10, ge=2, le=200, description="steps of the homotopy fallback")
    tol: float = Field(1e-6, gt=0, lt=1e-2, description="convergence: max |relative residual| per period")
    synthetic_ratio: float = Field(
        0.3, ge=0, lt=1, description="share of synthetic windows among training windows (augmentation)"
    )

    @field_validator("regime_mix")
    @classmethod
    def _known_regimes(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = [k for k in v if k not in _REGIMES]
        if unknown:
            raise ValueError(f"unknown regime(s) {unknown}; known: {list(_REGIMES)}")
        if any(n < 0 for n in v.values()) or sum(v.values()) <= 0:
            raise ValueError("regime counts must be >= 0 with a positive total")
        return v

    @field_validator("bands")
    @classmethod
    def _valid_bands(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        bad = [k for k, (lo, hi) in v.items() if not 0 < lo < hi]
        if bad:
            raise ValueError(f"bands must satisfy 0 < Pmin < Pmax: {bad}")
        return {k.upper(): (float(lo), float(hi)) for k, (lo, hi) in v.items()}

    @field_validator("clock_start")
    @classmethod
    def _clock_is_utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
