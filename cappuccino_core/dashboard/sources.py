"""Where the dashboard reads: the state store, MLflow and the Optuna storage the configuration names.

A missing MLflow SQLite file or Optuna journal reads as "nothing yet" (an empty state renders a message,
never a 500) and is not created. The state store is opened like every other component opens it (its tables
are created when absent, as the trader does); the dashboard writes to it only through the emergency stop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cappuccino_core.config import Settings
from cappuccino_core.state.store import StateStore

JOURNAL_PREFIX = "journal:"


def _sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///<path>`` URL (None for any other URL)."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    return None


@dataclass
class Sources:
    """The project's stores, opened lazily and read-only; one instance per dashboard process."""

    settings: Settings
    _store: StateStore | None = None
    _tracking: Any = None
    _optuna: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def store(self) -> StateStore:
        """The state store (its tables are created if absent: the trader would create them the same way)."""
        with self._lock:
            if self._store is None:
                self._store = StateStore(self.settings.paths.state_url)
            return self._store

    def mlflow_exists(self) -> bool:
        """False when the tracking store is a SQLite file that does not exist yet (no study has run)."""
        db = _sqlite_file(self.settings.paths.mlflow_tracking_uri)
        return db is None or db.is_file()

    def tracking(self) -> Any | None:
        """The project's :class:`~cappuccino_core.registry.Tracking`, or None when there is nothing yet."""
        if not self.mlflow_exists():
            return None
        with self._lock:
            if self._tracking is None:
                from cappuccino_core.registry import Tracking

                self._tracking = Tracking.from_settings(self.settings)
            return self._tracking

    def optuna_storage(self) -> Any | None:
        """The Optuna storage of ``paths.optuna_storage`` (None when its journal file does not exist)."""
        url = self.settings.paths.optuna_storage
        with self._lock:
            if self._optuna is not None:
                return self._optuna
            if url.startswith(JOURNAL_PREFIX):
                path = Path(url.removeprefix(JOURNAL_PREFIX))
                if not path.is_file():
                    return None
                from optuna.storages import JournalStorage
                from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

                backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
                self._optuna = JournalStorage(backend)
            else:
                db = _sqlite_file(url)
                if db is not None and not db.is_file():
                    return None
                from optuna.storages import RDBStorage

                self._optuna = RDBStorage(url)
            return self._optuna
