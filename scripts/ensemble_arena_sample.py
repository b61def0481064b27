"""The supervised ensemble in the arena on the bundled real sample (the README's figure in section 3b).

In a throwaway state/MLflow directory: trains and registers the LSTM and the Transformer on the sample as
``cappuccino train supervised --source sample --trials N`` does, generates a CGE scenario set
(``--scenarios`` x ``--hours``), sets ``[arena] ensemble = "lstm,transformer"`` and runs what the arena flow
runs (the strategy contest, then the hill task's :func:`hill_contest`). Then, to show the bout the gate
kept the ensemble out of, a dry run before it (nothing stored) with every stress threshold lowered to what
any policy clears. Prints the arena lines and wall times; the last line is a JSON summary.

    nice -n 10 .venv/bin/python scripts/ensemble_arena_sample.py --scenarios 20 --hours 720
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from cappuccino_core.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
LAX = {"stress_min_profitable_share": 0.0, "stress_min_median_sharpe": -1e9, "stress_max_drawdown": 1.0,
       "stress_max_scenario_loss": 1.0}  # fmt: skip


def main() -> None:
    """Parse the arguments, run, print."""
    from cappuccino_core.arena import strategy_contest
    from cappuccino_core.arena.contest import hill_contest
    from cappuccino_core.cge.generate import generate, spec_from_settings
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.supervised.run import train_supervised

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=20)
    ap.add_argument("--hours", type=int, default=720)
    ap.add_argument("--trials", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ensemble-arena-") as work:
        tmp = Path(work)
        s = load_settings(
            paths={"data_root": tmp / "data", "sample_dir": ROOT / "data" / "sample",
                   "state_url": f"sqlite:///{tmp / 's.db'}",
                   "mlflow_tracking_uri": f"sqlite:///{tmp / 'm.db'}",
                   "mlflow_artifact_root": tmp / "mlartifacts", "optuna_storage": f"journal:{tmp / 'o.log'}",
                   "reports_dir": tmp / "reports"},
            cge={"output_dir": tmp / "cge", "n_scenarios": args.scenarios, "hours": args.hours, "workers": 1},
            arena={"ensemble": "lstm,transformer"},
        )  # fmt: skip
        t0 = time.perf_counter()
        out = train_supervised(s, load_aligned(s, source="sample").frames, trials=args.trials)
        t_train = time.perf_counter() - t0
        generate(spec_from_settings(s), s.cge.output_dir)
        t_cge = time.perf_counter() - t0 - t_train
        lines = strategy_contest(s)
        lax = s.model_copy(update={"gates": s.gates.model_copy(update=LAX)})
        # first: a dry run stores no verdict for the real run to reuse
        dry = hill_contest(lax, [], dry_run=True)
        t1 = time.perf_counter()
        lines += hill_contest(s, []).lines()
        t_arena = time.perf_counter() - t1
        print("\n".join(lines))
        print("\n".join(["--- dry run, stress thresholds lowered:", *dry.lines()]))
        bout = dry.bouts[0].challenger.to_dict() if dry.bouts else {}
        print(f"train {t_train:.0f} s, cge {t_cge:.0f} s, arena {t_arena:.0f} s")
        verdicts = {k.kind: k.verdict.passed for k in out.kinds}
        secs = {"train": t_train, "cge": t_cge, "arena": t_arena}
        summary = {"supervised_gate_passed": verdicts, "arena": lines, "ensemble_bout_if_entered": bout}
        print(json.dumps(summary | {"seconds": secs}, default=str))


if __name__ == "__main__":
    main()
