"""The supervised gate: per-coin accuracy against the seeds' 68% and against the base rate, calibration by
confidence tier, and the leakage checks. One :class:`Verdict` (gate ``supervised``) per model run.

Checks (thresholds in ``[gates]``):

* ``accuracy[<coin>] >= supervised_min_accuracy`` on the held-out (newest) window, every coin;
* ``accuracy_ci_low[<coin>] > base_rate``: the lower Wilson bound beats the majority-class rate, so a model
  that says "up" in a rising market does not pass by that alone;
* ``calibration_error <= supervised_max_calibration_error`` over the tiers (reliability table in figures);
* ``leak_*``: the split's windows clear of each other (split.py), no feature reading the future, and chance
  accuracy for labels shuffled in time (leakage.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.gates.verdict import Check, Verdict, check
from cappuccino_core.supervised.metrics import (
    accuracy_stats,
    calibration_error,
    confidence,
    reliability_table,
    tiers_for,
)

GATE = "supervised"


def supervised_verdict(
    run_id: str,
    kind: str,
    tickers: Sequence[str],
    p_up: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    gates: GatesConfig,
    leakage: Sequence[Check],
    inputs: dict[str, Any] | None = None,
) -> Verdict:
    """The verdict over per-coin test forecasts ``p_up[j]`` and their 0/1 ``labels[j]``."""
    if not len(tickers) == len(p_up) == len(labels):
        raise ValueError(f"{len(tickers)} tickers, {len(p_up)} forecast arrays, {len(labels)} label arrays")
    z = gates.supervised_ci_z
    checks: list[Check] = []
    per_coin: dict[str, Any] = {}
    for t, p, y in zip(tickers, p_up, labels, strict=True):
        st = accuracy_stats(p, y, z)
        per_coin[t] = st.to_dict()
        checks.append(check(f"accuracy[{t}]", st.accuracy, ">=", gates.supervised_min_accuracy, f"n={st.n}"))
        checks.append(check(f"accuracy_ci_low[{t}]", st.ci_low, ">", st.base_rate, "majority-class rate"))
    tiers = tiers_for(gates.supervised_confidence_threshold, gates.supervised_high_tier)
    p_all, y_all = np.concatenate([np.ravel(p) for p in p_up]), np.concatenate([np.ravel(y) for y in labels])
    table = reliability_table(p_all, y_all, tiers)
    ece = calibration_error(table)
    checks.append(check("calibration_error", ece, "<=", gates.supervised_max_calibration_error, "by tier"))
    checks.extend(leakage)
    acted = confidence(p_all) >= gates.supervised_confidence_threshold
    acted_stats = accuracy_stats(p_all[acted], y_all[acted], z) if acted.any() else None
    figures: dict[str, Any] = {
        "kind": kind,
        "per_coin": per_coin,
        "reliability": table,
        "calibration_error": ece,
        "acted_share": float(acted.mean()) if acted.size else float("nan"),
        "acted": acted_stats.to_dict() if acted_stats else None,
        "pooled": accuracy_stats(p_all, y_all, z).to_dict(),
    }
    return Verdict.from_checks(GATE, run_id, checks, figures, dict(inputs or {}))


def verdict_lines(v: Verdict) -> list[str]:
    """A short human report: per coin accuracy [CI] vs base rate, the reliability table, the leak checks."""
    lines = [f"{v.figures.get('kind', '?')} {v.run_id[:8]}: {'PASSED' if v.passed else 'FAILED'}"]
    for t, st in v.figures.get("per_coin", {}).items():
        lines.append(
            f"  {t:10} accuracy {st['accuracy']:.3f} [{st['ci_low']:.3f}, {st['ci_high']:.3f}]  "
            f"base rate {st['base_rate']:.3f}  n={st['n']}"
        )
    for r in v.figures.get("reliability", []):
        if r["n"]:
            lines.append(
                f"  tier {r['tier']:6} n={r['n']:5}  confidence {r['confidence']:.3f}  "
                f"hit rate {r['hit_rate']:.3f}"
            )
    lines.append(f"  calibration error {v.figures.get('calibration_error', float('nan')):.4f}")
    lines.extend(f"  {c.describe()}" for c in v.checks if c.name.startswith("leak_"))
    return lines
