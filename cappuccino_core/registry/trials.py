"""The trials of a study as MLflow recorded them, and their test returns (the PBO matrix)."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cappuccino_core.registry.tracking import (
    RUN_TYPE_TRIAL,
    TAG_MODEL_URI,
    TAG_RUN_TYPE,
    TAG_SPEC_HASH,
    TAG_TRIAL,
    TAG_TRIAL_STATE,
    Tracking,
    as_tracking,
)
from cappuccino_core.registry.trial_run import (
    METRIC_OBJECTIVE,
    METRIC_TEST_EW_SHARPE,
    METRIC_TEST_SHARPE,
    STATE_COMPLETE,
    TAG_CONFIG_SECTIONS,
    TEST_RETURNS_ARTIFACT,
)


@dataclass(frozen=True)
class TrialRecord:
    """One trial as MLflow recorded it."""

    run_id: str
    trial: int
    state: str
    objective: float | None
    params: dict[str, str]  # hyperparameters only (config sections left out)
    metrics: dict[str, float]
    spec_hash: str | None
    has_model: bool
    start_time: int = 0

    @property
    def test_sharpe(self) -> float | None:
        """The trial's mean test Sharpe over its CPCV splits, if logged."""
        return self.metrics.get(METRIC_TEST_SHARPE)

    @property
    def test_ew_sharpe(self) -> float | None:
        """The equal-weight Sharpe on the same test bars, if logged."""
        return self.metrics.get(METRIC_TEST_EW_SHARPE)


def finite_or_none(x: Any) -> float | None:
    """``x`` as a float when it is a finite number, else None."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def collect_trials(study_name: str, tracking: Tracking | Any | None = None) -> list[TrialRecord]:
    """Every trial run of the study (the latest run per trial number), best objective first."""
    trk = as_tracking(tracking)
    client = trk.activate()
    exp_id = trk.get_experiment_id(study_name)
    if exp_id is None:
        return []
    runs = []
    page_token = None
    while True:
        page = client.search_runs(
            [exp_id],
            filter_string=f"tags.{TAG_RUN_TYPE} = '{RUN_TYPE_TRIAL}'",
            max_results=1000,
            page_token=page_token,
        )
        runs.extend(page)
        page_token = page.token
        if not page_token:
            break
    latest: dict[int, Any] = {}
    for r in runs:
        try:
            n = int(r.data.tags.get(TAG_TRIAL, "-1"))
        except ValueError:
            continue
        if n not in latest or r.info.start_time > latest[n].info.start_time:
            latest[n] = r
    out = []
    for n, r in latest.items():
        tags = r.data.tags
        sections = [s for s in tags.get(TAG_CONFIG_SECTIONS, "").split(",") if s]
        params = {k: v for k, v in r.data.params.items() if not any(k.startswith(f"{s}.") for s in sections)}
        out.append(
            TrialRecord(
                run_id=r.info.run_id,
                trial=n,
                state=tags.get(TAG_TRIAL_STATE, "UNKNOWN"),
                objective=finite_or_none(r.data.metrics.get(METRIC_OBJECTIVE)),
                params=params,
                metrics=dict(r.data.metrics),
                spec_hash=tags.get(TAG_SPEC_HASH),
                has_model=TAG_MODEL_URI in tags,
                start_time=int(r.info.start_time or 0),
            )
        )
    return sorted(out, key=lambda t: (t.objective is None, -(t.objective or 0.0), t.trial))


def load_returns_matrix(
    records: Sequence[TrialRecord], tracking: Tracking | Any | None = None
) -> tuple[np.ndarray, list[TrialRecord], list[str]]:
    """(T x N) per-bar test returns of the COMPLETE trials that logged them, and the trials (columns).

    Columns whose length differs from the most common length are left out (with a note): CSCV needs the
    trials' returns on the same bars.
    """
    import mlflow

    trk = as_tracking(tracking)
    trk.activate()
    cols: list[np.ndarray] = []
    kept: list[TrialRecord] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cappuccino-pbo-") as tmp:
        for rec in records:
            if rec.state != STATE_COMPLETE:
                continue
            try:
                p = mlflow.artifacts.download_artifacts(
                    run_id=rec.run_id,
                    artifact_path=TEST_RETURNS_ARTIFACT,
                    dst_path=str(Path(tmp) / rec.run_id),
                )
            except Exception:
                notes.append(f"trial {rec.trial}: no {TEST_RETURNS_ARTIFACT}; left out of PBO")
                continue
            cols.append(np.load(p).astype(np.float64).ravel())
            kept.append(rec)
    if not cols:
        return np.empty((0, 0)), [], notes
    lengths = [c.size for c in cols]
    modal = max(set(lengths), key=lengths.count)
    sel = [i for i, c in enumerate(cols) if c.size == modal]
    for i, c in enumerate(cols):
        if c.size != modal:
            notes.append(f"trial {kept[i].trial}: {c.size} test returns, not {modal}; left out of PBO")
    matrix = np.stack([cols[i] for i in sel], axis=1)
    return matrix, [kept[i] for i in sel], notes
