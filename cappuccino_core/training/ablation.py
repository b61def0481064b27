"""What the CGE augmentation is worth, measured: the same study with and without synthetic windows.

The design expects the 30% synthetic training windows to lift bear-market Sharpe and cut drawdown. This
runs the two-phase study once per synthetic share (default 0% and 30%; same seed, budget and data, each in
its own experiment), takes each study's best trial (whether or not the selection gate registered it: the
question is what augmentation does to the learner, not what passes), and compares them

- on the real held-out window (the newest ``holdout_fraction`` of bars, never seen by either study):
  Sharpe, total return, max drawdown, turnover;
- on the CGE scenarios of the given regimes (default bear and crisis): median Sharpe, median return,
  worst drawdown, share of profitable scenarios.

It reports what it shows, whichever way it goes (``cappuccino train --ablation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cappuccino_core.config import Settings


@dataclass
class AblationArm:
    """One arm of the ablation: its synthetic share, study, best trial and that trial's figures."""

    synthetic_share: float
    study: str
    best_run_id: str | None
    best_objective: float | None
    pbo: float | None
    dsr: float | None
    selection: str | None
    held_out: dict[str, float] = field(default_factory=dict)
    stress: dict[str, dict[str, float]] = field(default_factory=dict)  # regime -> figures


@dataclass
class AblationReport:
    """Both arms of the ablation and the regimes they were stressed on."""

    arms: list[AblationArm]
    regimes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the arms as dicts)."""
        return {"regimes": self.regimes, "arms": [asdict(a) for a in self.arms]}

    def lines(self) -> list[str]:
        """The comparison as plain text, one arm per line per window."""

        def f(x: float | None, nd: int = 2) -> str:
            return "n/a" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"

        out = []
        for a in self.arms:
            h = a.held_out
            out.append(
                f"synthetic {a.synthetic_share:.0%}: study {a.study}, best objective "
                f"{f(a.best_objective, 3)}, PBO {f(a.pbo, 3)}, DSR {f(a.dsr, 3)}"
            )
            out.append(
                f"  held-out real window: Sharpe {f(h.get('sharpe'))}, return {f(h.get('total_return'), 3)}, "
                f"max drawdown {f(h.get('max_drawdown'), 3)}, turnover/yr {f(h.get('turnover'), 1)}"
            )
            for regime, s in a.stress.items():
                out.append(
                    f"  {regime} scenarios ({int(s['scenarios'])}): median Sharpe {f(s['median_sharpe'])}, "
                    f"median return {f(s['median_return'], 3)}, worst drawdown {f(s['worst_drawdown'], 3)}, "
                    f"profitable {f(s['profitable_share'], 2)}"
                )
        if len(self.arms) == 2 and all(a.stress for a in self.arms):
            base, aug = self.arms
            for regime in self.regimes:
                b, g = base.stress.get(regime), aug.stress.get(regime)
                if b and g:
                    out.append(
                        f"{regime}: median Sharpe {f(b['median_sharpe'])} -> {f(g['median_sharpe'])}, worst "
                        f"drawdown {f(b['worst_drawdown'], 3)} -> {f(g['worst_drawdown'], 3)} "
                        f"({base.synthetic_share:.0%} -> {aug.synthetic_share:.0%} synthetic)"
                    )
        return out


def _arm_settings(settings: Settings, share: float) -> Settings:
    tr = settings.training.model_copy(
        update={
            "synthetic_share": share,
            "experiment": f"{settings.training.experiment}-ablation-syn{share:.0%}",
        }
    )
    return settings.model_copy(update={"training": tr})


def _evaluate(settings: Settings, run_id: str, regimes: Sequence[str]) -> tuple[dict, dict]:
    from cappuccino_core.backtest.runner import backtest
    from cappuccino_core.gates.pipeline import held_out_dataset
    from cappuccino_core.gates.stress import regime_summary, run_stress_gate
    from cappuccino_core.gates.stress_data import latest_set, load_batch, stress_dataset
    from cappuccino_core.registry import Tracking, load_policy, model_spec

    trk = Tracking.from_settings(settings)
    spec = model_spec(run_id, tracking=trk)
    data = held_out_dataset(settings, spec)
    # The loaded model backtests (and below, is stressed) under the env it was trained with (run_env).
    res = backtest(load_policy(run_id, data.spec, tracking=trk), data, settings.env, settings.costs)
    s = res.summary
    held = {
        "sharpe": float(s.sharpe),
        "total_return": float(s.total_return),
        "max_drawdown": float(s.max_drawdown),
        "turnover": float(s.trades.annualized_turnover) if s.trades is not None else 0.0,
    }
    g = settings.gates
    batch = load_batch(g.stress_scenario_set or latest_set(settings.cge.output_dir))
    keep = [i for i, r in enumerate(batch.regimes) if r in regimes]
    if not keep:
        return held, {}
    sub = batch.subset(spec.tickers, None, g.stress_max_hours)
    from cappuccino_core.gates.stress_data import ScenarioBatch

    sub = ScenarioBatch(
        sub.ids[keep], [sub.regimes[i] for i in keep], sub.prices[keep], sub.tickers, sub.clock_start,
        sub.calibration, sub.source,
    )  # fmt: skip
    stress_data = stress_dataset(sub, spec, seed=g.stress_bars_seed)
    policy = load_policy(run_id, stress_data.spec, tracking=trk)
    _, table = run_stress_gate(
        policy, stress_data, sub.ids, sub.regimes, settings.env, settings.costs, g, run_id=run_id
    )
    by_regime = {
        row["regime"]: {k: float(v) for k, v in row.items() if k != "regime"}
        for row in regime_summary(table).iter_rows(named=True)
    }
    return held, by_regime


def augmentation_ablation(
    settings: Settings,
    shares: Sequence[float] = (0.0, 0.3),
    regimes: Sequence[str] = ("bear", "crisis"),
    *,
    workers: int | None = None,
) -> AblationReport:
    """Run one two-phase study per synthetic share and compare their best trials (module docstring)."""
    from cappuccino_core.training.study import run_phase

    if not settings.training.mlflow:
        raise ValueError(
            "the ablation needs training.mlflow = true: it loads each study's best trial's policy"
        )
    arms = []
    for share in shares:
        s = _arm_settings(settings, float(share))
        run_phase(s, 1, workers=workers)
        rep = run_phase(s, 2, workers=workers)
        summ = rep.summary
        arm = AblationArm(
            synthetic_share=float(share),
            study=rep.study,
            best_run_id=summ.best_run_id if summ is not None else None,
            best_objective=summ.best_objective if summ is not None else None,
            pbo=summ.pbo if summ is not None else None,
            dsr=summ.dsr if summ is not None else None,
            selection=summ.selection.verdict() if summ is not None and summ.selection is not None else None,
        )
        if arm.best_run_id is not None:
            arm.held_out, arm.stress = _evaluate(s, arm.best_run_id, regimes)
        arms.append(arm)
    return AblationReport(arms, list(regimes))
