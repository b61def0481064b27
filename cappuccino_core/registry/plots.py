"""Equity-curve figure of a trial's test splits (PNG), the agent beside the equal-weight benchmark."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np


def equity_curve_png(
    path: str | Path,
    curves: Mapping[str, np.ndarray],
    benchmarks: Mapping[str, np.ndarray] | None = None,
    times: Mapping[str, np.ndarray] | None = None,
    title: str = "Test-split equity (agent solid, equal weight dashed)",
) -> Path:
    """Write one figure: each split's equity normalised to 1.0 at its first bar.

    ``curves``: split name -> equity (T,). ``benchmarks``: same keys, the equal-weight equity.
    ``times``: same keys, int64 ns UTC bar open times (x axis as dates); bar index when absent.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    try:
        colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        for i, (split, eq) in enumerate(curves.items()):
            eq = np.asarray(eq, dtype=float)
            if eq.size == 0:
                continue
            color = colors[i % len(colors)]
            x = _x_axis(times, split, eq.size)
            ax.plot(x, eq / eq[0], color=color, lw=1.2, label=str(split))
            if benchmarks is not None and split in benchmarks:
                bm = np.asarray(benchmarks[split], dtype=float)
                if bm.size == eq.size and bm[0] != 0:
                    ax.plot(x, bm / bm[0], color=color, lw=0.9, ls="--", alpha=0.7)
        ax.axhline(1.0, color="grey", lw=0.6)
        ax.set_title(title)
        ax.set_ylabel("equity / initial")
        ax.set_xlabel("time (UTC)" if times else "bar")
        if len(curves) <= 12:
            ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def _x_axis(times: Mapping[str, np.ndarray] | None, split: str, n: int) -> np.ndarray:
    if times is not None and split in times and len(times[split]) == n:
        return np.asarray(times[split], dtype="int64").astype("datetime64[ns]")
    return np.arange(n)
