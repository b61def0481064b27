"""Optuna storage for studies shared by several worker processes, with heartbeats and stale-trial retry.

- ``journal:<file>`` (default): Optuna's journal file, safe for several processes on one machine (or a
  shared filesystem). Optuna 5's JournalStorage has no heartbeat (optuna#6615 was closed unmerged), so
  :class:`HeartbeatJournalStorage` adds one: the heartbeat is a trial system attribute, which plain
  Optuna tools still read; Optuna's own machinery (``study.optimize`` heartbeat thread, ``fail_stale_trials``)
  drives it because the class implements ``BaseHeartbeat``.
- ``postgresql://...`` (or any SQLAlchemy URL): ``RDBStorage`` with its native heartbeat, for scale-out.

Either way a running trial silent for ``grace`` seconds is failed with a recorded reason and re-queued
(:class:`RetryStaleTrial`), keeping its user attributes, so the retry resumes from the checkpoints keyed
by the trial's ``trial_uid``.
"""

from __future__ import annotations

import contextlib
import copy
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_ATTR = "heartbeat"
# User attributes every ended trial may carry (see objective.py); a retry must not inherit them.
REASON_ATTRS = ("reason", "reason_kind")
REASON_WORKER_LOST = "worker_lost"

StaleCallback = Callable[[optuna.Study, FrozenTrial], None]


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    """Re-queue a stale trial (WAITING, same params and ``trial_uid``) without its predecessor's reason."""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        clean = copy.deepcopy(trial)
        clean.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in REASON_ATTRS}
        super().__call__(study, clean)


def _mark_stale(storage: BaseStorage, trial_ids: list[int], grace: int) -> None:
    """Record why a stale trial is about to be failed, while it is still RUNNING (and updatable)."""
    for tid in trial_ids:
        try:
            storage.set_trial_user_attr(tid, "reason_kind", REASON_WORKER_LOST)
            storage.set_trial_user_attr(
                tid, "reason", f"worker lost: no heartbeat for more than {grace} s; trial re-queued"
            )
        except (UpdateFinishedTrialError, KeyError):
            pass


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """JournalStorage + heartbeat: the last beat is the trial system attribute ``heartbeat`` (epoch s)."""

    def __init__(
        self,
        backend: JournalFileBackend,
        *,
        heartbeat_interval: int,
        grace_period: int,
        heartbeat_stale_trial_callback: StaleCallback | None = None,
    ) -> None:
        super().__init__(backend)
        if heartbeat_interval <= 0 or grace_period <= 0:
            raise ValueError("heartbeat_interval and grace_period must be positive")
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.heartbeat_stale_trial_callback = heartbeat_stale_trial_callback

    def record_heartbeat(self, trial_id: int) -> None:
        """Record a beat of the running trial (ignored once the trial has finished)."""
        with contextlib.suppress(UpdateFinishedTrialError):
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            last = t.system_attrs.get(HEARTBEAT_ATTR)
            if last is None:
                last = t.datetime_start.timestamp() if t.datetime_start else now
            if now - float(last) > self.grace_period:
                stale.append(t._trial_id)
        _mark_stale(self, stale, self.grace_period)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        """Seconds between a running trial's beats."""
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> StaleCallback | None:
        """What runs on a trial found stale (retry it)."""
        return self.heartbeat_stale_trial_callback


class ReasonRDBStorage(RDBStorage):
    """RDBStorage whose stale trials get a recorded reason before they are failed."""

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        stale = super()._get_stale_trial_ids(study_id)
        _mark_stale(self, stale, self.grace_period or 2 * (self.heartbeat_interval or 0))
        return stale


def make_storage(url: str, *, heartbeat_interval: int, grace_period: int, max_retries: int) -> BaseStorage:
    """``journal:<file>``: HeartbeatJournalStorage; anything else: RDBStorage (PostgreSQL to scale out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        callback = RetryStaleTrial(max_retry=max_retries)
        if url.startswith("journal:"):
            path = Path(url.removeprefix("journal:")).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            # The open(O_EXCL) lock works on every local filesystem (the symlink lock needs symlinks).
            backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
            return HeartbeatJournalStorage(
                backend,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=callback,
            )
        if url.startswith("sqlite"):
            warnings.warn(
                "SQLite is not meant for several Optuna workers; use journal:<file> locally",
                stacklevel=2,
            )
        return ReasonRDBStorage(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=callback,
            engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite") else None,
        )


def superseded_trial_numbers(trials: list[FrozenTrial]) -> set[int]:
    """Numbers of failed trials that a later (retry) trial replaces."""
    out: set[int] = set()
    for t in trials:
        out.update(int(n) for n in t.system_attrs.get("retry_history", []))
    return out


def budget_used(trials: list[FrozenTrial]) -> int:
    """Trials that count against the study's limit: every trial except a failed one that was retried."""
    replaced = superseded_trial_numbers(trials)
    return sum(1 for t in trials if not (t.state == TrialState.FAIL and t.number in replaced))


def describe(trial: FrozenTrial) -> dict[str, Any]:
    """A trial as plain values: number, state, value, end reason, uid, retried trial, params."""
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value if trial.state == TrialState.COMPLETE else None,
        "reason": trial.user_attrs.get("reason"),
        "reason_kind": trial.user_attrs.get("reason_kind"),
        "trial_uid": trial.user_attrs.get("trial_uid"),
        "retry_of": trial.system_attrs.get("failed_trial"),
        "params": dict(trial.params),
    }


def settings_storage(settings: Any) -> BaseStorage:
    """The configured study storage (``paths.optuna_storage``) with the ``[training]`` heartbeat settings."""
    cfg = settings.training
    return make_storage(
        settings.paths.optuna_storage,
        heartbeat_interval=cfg.heartbeat_interval_s,
        grace_period=cfg.heartbeat_grace_s,
        max_retries=cfg.max_retries,
    )
