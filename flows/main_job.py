"""main_job (`make run`): the whole lifecycle on the embedded default, then a summary a person reads.

Bundled real sample -> Parquet store, check, features; the frozen CGE scenario set; a two-phase Optuna
study (PPO on the kernel, CPCV); the gates for every new candidate; the arena; a short paper session of the
best model through the real Alpaca SDK against the loopback exchange. Budgets come from the config
(`configs/quickstart.toml` keeps them small).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.arena import arena
from flows.augment import augment
from flows.gates import candidates, gates
from flows.ingest import ingest
from flows.train import train
from tasks.common import settings_for
from tasks.stages import baseline_backtests, paper_session


def _fmt(x: Any, nd: int = 3) -> str:
    return "-" if x is None else f"{x:.{nd}f}" if isinstance(x, float) else str(x)


@flow(name="main-job")
def main_job(config: str | None = None) -> str:
    settings = settings_for(config)
    lines = ["", "=== Cappuccino: what the main job did ==="]

    ing = ingest(config, source="sample")  # the embedded default: the bundled sample, offline
    n_assets = len(ing["assets"])
    lines.append(f"data      {ing['bars']} aligned {settings.data.timeframe} bars x {n_assets} assets "
                 f"({', '.join(ing['assets'])}), {ing['added']} new bars stored")  # fmt: skip

    for name, b in baseline_backtests(settings).items():
        lines.append(f"backtest  {name} on the held-out window: return {b['return']:+.2%}, Sharpe "
                     f"{b['sharpe']:.2f}, max drawdown {b['max_drawdown']:.2%}, fees {b['fees']:.2f}; "
                     f"{b['report']}")  # fmt: skip

    cge = augment(config)
    lines.append(f"scenarios {cge['scenarios']} CGE scenarios ({'reused' if cge['reused'] else 'generated'}) "
                 f"at {cge['path']}")  # fmt: skip

    new = set(candidates(settings, limit=1000))
    tr = train(config)
    for key in ("phase1", "phase2"):
        p = tr[key]
        lines.append(f"training  {p['study']}: trials {p['states']}, best objective "
                     f"{_fmt(p['best'])} (Sharpe - equal-weight Sharpe), PBO {_fmt(p['pbo'])}, "
                     f"DSR {_fmt(p['dsr'])}")  # fmt: skip
        if p.get("selection"):
            lines.append(f"          selection gate: {p['selection']}")
    fresh = [r for r in candidates(settings, limit=1000) if r not in new]

    verdicts = gates(config, run_ids=fresh)
    for rid, v in verdicts.items():
        outcome = ", ".join(f"{g} {v[g]}" for g in ("backtest", "stress", "paper") if g in v)
        lines.append(f"gates     {rid[:12]}: {outcome}")
        for gate, why in (v.get("explanations") or {}).items():
            lines.append(f"            {gate}: {why}")
    if not verdicts:
        lines.append("gates     no new candidates")

    for line in arena(config):  # the best strategy takes an empty seat first, then the candidates
        lines.append(f"arena     {line}")

    from cappuccino_core.registry import Tracking, get_role

    trk = Tracking.from_settings(settings)
    roles = {r: get_role(r, tracking=trk) for r in ("production", "champion", "challenger")}
    holder = next((v for v in roles.values() if v is not None), None)
    lines.append("roles     " + ", ".join(f"{r}={v.run_id[:12] if v else 'none'}" for r, v in roles.items()))
    from cappuccino_core.arena import holders
    from cappuccino_core.state import StateStore

    seat = holders(StateStore(settings.paths.state_url), "champion")
    lines.append(f"champion  {seat[0] if seat else 'none'} holds the arena seat (a strategy or a model)")

    paper = paper_session(settings, holder.run_id if holder else "baseline")
    lines.append(f"paper     {paper['model'][:12]} on {paper['broker']} for {paper['bars_replayed']} bars: "
                 f"{paper['fills']} fills, return {paper['total_return']:+.2%} vs equal weight "
                 f"{paper['equal_weight_return']:+.2%}, fees {paper['fees']:.2f}; report "
                 f"{paper['report_path']}")  # fmt: skip

    lines += [
        "",
        "Where to look:",
        f"  MLflow:  .venv/bin/mlflow ui --backend-store-uri {settings.paths.mlflow_tracking_uri}",
        "  Prefect: PREFECT_HOME=data/prefect .venv/bin/prefect server start   (then open http://127.0.0.1:4200)",
        f"  reports: {settings.paths.reports_dir}/  and the gate outputs under it",
        "  state:   .venv/bin/cappuccino pipeline status",
    ]
    summary = "\n".join(lines)
    print(summary)
    return summary
