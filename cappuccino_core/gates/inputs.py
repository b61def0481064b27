"""What the built-in gates read when it is not passed in: the held-out window and the study's trial count."""

from __future__ import annotations

from typing import Any

import numpy as np

from cappuccino_core.config import Settings
from cappuccino_core.features.dataset import MarketDataset


def count_complete_trials(run_id: str, tracking: Any) -> int:
    """COMPLETE trial runs in the experiment (study) of ``run_id``."""
    from cappuccino_core.registry.tracking import as_tracking

    client = as_tracking(tracking).activate()
    exp = client.get_run(run_id).info.experiment_id
    runs = client.search_runs(
        [exp], "tags.run_type = 'trial' and tags.trial_state = 'COMPLETE'", max_results=50_000
    )
    return len(runs)


def held_out_dataset(settings: Settings, spec: Any) -> MarketDataset:
    """The real bars from the holdout start on (plus the lookback's history), features per ``spec``."""
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.builder import apply_spec
    from cappuccino_core.training.data import holdout_time

    sub = settings.model_copy(
        update={"data": settings.data.model_copy(update={"tickers": list(spec.tickers)})}
    )
    aligned = load_aligned(sub, spec.timeframe)
    data = apply_spec(aligned.frames, spec, segments=aligned.segments)
    start_ns = holdout_time(sub, settings.data.timeframe)
    if start_ns is None:
        raise ValueError("training.holdout_fraction is 0: there is no held-out window for the backtest gate")
    lo = int(np.searchsorted(data.times, start_ns, side="left"))
    if data.n_bars - lo < 2:
        raise ValueError(f"the held-out window from {np.datetime64(start_ns, 'ns')} holds < 2 bars")
    return data.slice(max(0, lo - (spec.lookback - 1)), data.n_bars)
