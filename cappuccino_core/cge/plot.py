"""PNG fan charts of a scenario set: price paths by regime (5-25-50-75-95% bands of P_h / P_0) and the
median macro paths (GDP, unemployment, inflation, policy rate) by regime. matplotlib, Agg backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cappuccino_core.cge.regimes import REGIMES
from cappuccino_core.cge.store import ScenarioSet
from cappuccino_core.common.atomic import atomic_write_bytes

COLOURS = {"normal": "tab:blue", "bull": "tab:green", "bear": "tab:orange", "crisis": "tab:red"}


def fan_chart(scenario_set: ScenarioSet, out: str | Path, ticker: str | None = None) -> Path:
    """Write a fan chart of ``ticker``'s relative price (median, 25-75% and 5-95% bands per regime) to
    ``out``."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    from cappuccino_core.cge.describe import macro_summary

    ticker = ticker or scenario_set.tickers[0]
    k = scenario_set.tickers.index(ticker)
    prices = scenario_set.all_prices()[:, :, k]
    rel = prices / prices[:, :1]
    step = max(1, rel.shape[1] // 365)
    days = np.arange(0, rel.shape[1], step) / 24.0
    rel = rel[:, ::step]
    regimes = np.array(scenario_set.regimes())
    present = [r for r in REGIMES if (regimes == r).any()]
    fig, axes = plt.subplots(2, 4, figsize=(18, 8), constrained_layout=True)
    for ax, reg in zip(axes[0], present, strict=False):
        q = np.percentile(rel[regimes == reg], [5, 25, 50, 75, 95], axis=0)
        c = COLOURS[reg]
        ax.fill_between(days, q[0], q[4], color=c, alpha=0.15, label="5-95%")
        ax.fill_between(days, q[1], q[3], color=c, alpha=0.35, label="25-75%")
        ax.plot(days, q[2], color=c, lw=1.5, label="median")
        ax.axhline(1.0, color="grey", lw=0.7)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_title(f"{ticker} {reg} (n={int((regimes == reg).sum())})")
        ax.set_xlabel("days")
        ax.set_ylabel("P / P0")
        ax.legend(loc="upper left", fontsize=8)
    macro = macro_summary(scenario_set)
    panels = [
        ("gdp_pct", "GDP vs start (%)"),
        ("unemployment_pct", "unemployment (%)"),
        ("inflation_pct", "inflation (% annualised)"),
        ("policy_rate_pct", "policy rate (%)"),
    ]
    for ax, (col, title) in zip(axes[1], panels, strict=True):
        for reg in present:
            d = macro.filter(macro["regime"] == reg)
            ax.plot(d["quarter"].to_numpy(), d[col].to_numpy(), marker="o", color=COLOURS[reg], label=reg)
        ax.set_title(f"{title}, median")
        ax.set_xlabel("quarter")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.suptitle(f"CGE scenario set {scenario_set.path.name}: {scenario_set.n_scenarios} scenarios")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(Path(out), buf.getvalue())
