"""Per-regime summary statistics of a stored scenario set (``cappuccino cge describe``)."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from cappuccino_core.cge.garch_fit import HOURS_PER_YEAR
from cappuccino_core.cge.regimes import REGIMES
from cappuccino_core.cge.store import ScenarioSet


def max_drawdown(prices: np.ndarray, axis: int = 0) -> np.ndarray:
    """Largest peak-to-trough fall (as a positive fraction) along ``axis``."""
    peak = np.maximum.accumulate(prices, axis=axis)
    return np.max(1.0 - prices / peak, axis=axis)


def path_stats(prices: np.ndarray, years: float = 1.0) -> dict[str, np.ndarray]:
    """Per scenario and asset, from prices (S, H+1, N) of paths spanning ``years`` of CGE time: annualised
    vol of hourly log returns, log return per year of CGE time, max drawdown, excess kurtosis of returns."""
    r = np.diff(np.log(prices), axis=1)
    return {
        "ann_vol": r.std(axis=1) * np.sqrt(HOURS_PER_YEAR),
        "log_return_1y": np.log(prices[:, -1] / prices[:, 0]) / years,
        "max_drawdown": max_drawdown(prices, axis=1),
        "excess_kurtosis": stats.kurtosis(r, axis=1),
    }


def asset_summary(scenario_set: ScenarioSet, prices: np.ndarray | None = None) -> pl.DataFrame:
    """One row per regime and ticker: medians (and the 10th/90th percentile of the 1y log return), plus the
    share of paths that did not fit their price band."""
    prices = scenario_set.all_prices() if prices is None else prices
    st = path_stats(prices, years=scenario_set.quarters / 4.0)
    regimes = np.array(scenario_set.regimes())
    fits = scenario_set.bands()["fits"].to_numpy().reshape(len(regimes), -1)  # written scenario x ticker
    rows = []
    for reg in [r for r in REGIMES if (regimes == r).any()]:
        m = regimes == reg
        for k, t in enumerate(scenario_set.tickers):
            lr = st["log_return_1y"][m, k]
            rows.append(
                {
                    "regime": reg,
                    "ticker": t,
                    "n": int(m.sum()),
                    "ann_vol": float(np.median(st["ann_vol"][m, k])),
                    "log_return_1y": float(np.median(lr)),
                    "log_return_p10": float(np.percentile(lr, 10)),
                    "log_return_p90": float(np.percentile(lr, 90)),
                    "max_drawdown": float(np.median(st["max_drawdown"][m, k])),
                    "excess_kurtosis": float(np.median(st["excess_kurtosis"][m, k])),
                    "band_flag_rate": float(1.0 - fits[m, k].mean()),
                }
            )
    return pl.DataFrame(rows)


def macro_summary(scenario_set: ScenarioSet) -> pl.DataFrame:
    """Medians per regime and quarter: GDP (% vs the start), unemployment, inflation and policy rate (%)."""
    m = scenario_set.macro.join(scenario_set.scenarios.select("scenario_id", "regime"), on="scenario_id")
    gdp0 = m.filter(pl.col("quarter") == 0).select("scenario_id", pl.col("gdp").alias("gdp0"))
    m = m.join(gdp0, on="scenario_id")
    out = m.group_by("regime", "quarter").agg(
        ((pl.col("gdp") / pl.col("gdp0") - 1.0) * 100).median().alias("gdp_pct"),
        (pl.col("unemployment") * 100).median().alias("unemployment_pct"),
        (pl.col("inflation") * 100).median().alias("inflation_pct"),
        (pl.col("policy_rate") * 100).median().alias("policy_rate_pct"),
        pl.col("ln_pc").median().alias("ln_pc"),
    )
    order = {r: k for k, r in enumerate(REGIMES)}
    return (
        out.with_columns(pl.col("regime").replace_strict(order).alias("_o")).sort("_o", "quarter").drop("_o")
    )
