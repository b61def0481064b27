"""The gate interface and the registry of gates by name (``gates.enabled`` lists names from it).

A gate is an object with a ``name``, an ``arena_entry`` flag (must a candidate pass it to enter the arena?)
and ``run(inputs) -> Verdict``. :data:`GATES` imports every module of this package on the first lookup, so a
new gate is one new file here whose class carries the :func:`gate` decorator; add its name to
``gates.enabled`` to run it. A verdict with status ``"pending"`` is reported and not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cappuccino_core.common.registry import Registry
from cappuccino_core.gates.verdict import Verdict

if TYPE_CHECKING:
    from cappuccino_core.config import Settings
    from cappuccino_core.features.dataset import MarketDataset
    from cappuccino_core.gates.paper import PaperRecord
    from cappuccino_core.gates.stress_data import ScenarioBatch
    from cappuccino_core.state.store import StateStore


@dataclass
class GateInputs:
    """What a gate may read for one candidate; the optional ones are given by tests and the CLI, else the
    gate builds them from the settings."""

    run_id: str
    settings: Settings
    store: StateStore
    tracking: Any
    policy: Any
    spec: Any  # the model's FeatureSpec
    held_out: MarketDataset | None = None
    n_complete_trials: int | None = None
    scenarios: ScenarioBatch | None = None
    paper: PaperRecord | None = None
    progress: Any = None  # a cappuccino_core.progress.ProgressCallback for long gates (stress)

    def out_dir(self, gate: str) -> Path:
        """Where the gate's verdict and artifacts go: <reports_dir>/<gates.reports_subdir>/<run id>/<gate>."""
        s = self.settings
        return Path(s.paths.reports_dir) / s.gates.reports_subdir / self.run_id / gate


class Gate(Protocol):
    """One validation gate."""

    name: str
    arena_entry: bool

    def run(self, inputs: GateInputs) -> Verdict:
        """Judge the candidate ``inputs.run_id`` and return this gate's verdict."""
        ...


GATES: Registry[Gate] = Registry("gate", ("cappuccino_core.gates",))

G = TypeVar("G")


def gate(cls: G) -> G:
    """Class decorator: register an instance of the gate class under its ``name``."""
    GATES.add(cls.name, cls())  # type: ignore[attr-defined,operator]
    return cls
