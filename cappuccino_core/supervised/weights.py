"""The ensemble's member weights: configured (``[supervised] weight_*``) or learnt (``weights = "learned"``).

Learnt weights split the configured supervised share (``weight_lstm + weight_transformer``) among the
supervised members in proportion to their directional edge above chance, read from each member's MLflow
run: the mean over coins of the ``test_accuracy_<coin>`` metrics training logs (accuracy on the member's
own held-out newest window, scored after early stopping on the validation split) minus 0.5, negatives at 0,
equal shares when no member beats chance (:func:`~.ensemble.learn_weights`). The RL member keeps its
configured weight: its validation figure is a Sharpe ratio, which does not compare with an accuracy edge.
Every caller records the weights it used and where they came from (:class:`EnsembleWeights`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cappuccino_core.config import Settings
from cappuccino_core.supervised.ensemble import learn_weights
from cappuccino_core.supervised.tracking import SupervisedModel

ACCURACY_PREFIX = "test_accuracy_"


@dataclass(frozen=True)
class EnsembleWeights:
    """The weights per member (unnormalised; the policy normalises), how they were chosen
    (``configured`` | ``learned``) and, when learnt, each supervised member's edge."""

    weights: dict[str, float]
    source: str
    edges: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """For reports and verdict inputs."""
        return {"source": self.source, "weights": dict(self.weights), "edges": dict(self.edges)}


def member_edge(tracking: Any, run_id: str, kind: str = "") -> float:
    """Mean over coins of the run's ``test_accuracy_<coin>`` metrics minus 0.5; ValueError naming the run
    when it logged none."""
    metrics = tracking.activate().get_run(run_id).data.metrics
    acc = [float(v) for k, v in metrics.items() if k.startswith(ACCURACY_PREFIX)]
    if not acc:
        raise ValueError(
            f"ensemble member {kind or '?'} (run {run_id}) logged no {ACCURACY_PREFIX}<coin> metrics: "
            "learned weights need a model trained by `cappuccino train supervised`"
        )
    return sum(acc) / len(acc) - 0.5


def ensemble_weights_for(
    settings: Settings, models: Sequence[SupervisedModel], with_rl: bool, tracking: Any = None
) -> EnsembleWeights:
    """The weights of an ensemble of ``models`` (and an RL member when ``with_rl``) per
    ``[supervised] weights`` (see the module docstring)."""
    s = settings.supervised
    configured = {"lstm": s.weight_lstm, "transformer": s.weight_transformer}
    rl = {"rl": s.weight_rl} if with_rl else {}
    if s.weights == "configured":
        return EnsembleWeights({m.kind: configured[m.kind] for m in models} | rl, "configured")
    if tracking is None:
        from cappuccino_core.registry.tracking import Tracking

        tracking = Tracking.from_settings(settings)
    edges = {m.kind: member_edge(tracking, m.run_id, m.kind) for m in models}
    share = sum(configured[m.kind] for m in models)
    learnt = {k: share * w for k, w in learn_weights(edges).items()}
    return EnsembleWeights(learnt | rl, "learned", edges)
