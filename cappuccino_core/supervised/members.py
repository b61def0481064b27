"""Ensemble members by name: ``"lstm,transformer[,rl=<ref>]"`` -> registered supervised models + an RL ref.

``lstm`` and ``transformer`` are the newest versions of ``[supervised] lstm_model_name`` /
``transformer_model_name`` (``lstm/3``: version 3); ``rl=<ref>`` is a registered RL policy by any reference
the registry resolves (run id, role alias such as ``champion``, ``name@alias``, ``name/version``). A
missing model, version or run is a :class:`ValueError` naming the member and what to run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cappuccino_core.config import Settings
from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.supervised.tracking import SupervisedModel

KINDS = ("lstm", "transformer")


@dataclass(frozen=True)
class Members:
    """The parsed member list: supervised kinds with an optional version each, and the RL reference."""

    supervised: tuple[tuple[str, str | None], ...]
    rl: str | None = None


def parse_members(text: str) -> Members:
    """``"lstm,transformer/2,rl=champion"`` -> Members; ValueError naming the bad entry."""
    sup: list[tuple[str, str | None]] = []
    rl = None
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        if raw.startswith("rl="):
            if rl is not None or not raw[3:].strip():
                raise ValueError(f"--ensemble {text!r}: give one RL member as rl=<run id or registry ref>")
            rl = raw[3:].strip()
            continue
        kind, _, version = raw.partition("/")
        if kind not in KINDS or (version and not version.isdigit()):
            raise ValueError(
                f"--ensemble {text!r}: unknown member {raw!r}; members are lstm or lstm/VERSION, "
                "transformer or transformer/VERSION, and rl=<run id or registry ref>"
            )
        if any(k == kind for k, _ in sup):
            raise ValueError(f"--ensemble {text!r}: {kind} named twice")
        sup.append((kind, version or None))
    if not sup:
        raise ValueError(f"--ensemble {text!r}: name at least one supervised member (lstm, transformer)")
    return Members(tuple(sup), rl)


def load_members(settings: Settings, members: Members) -> list[SupervisedModel]:
    """The registered supervised models the members name, read from MLflow (FeatureSpec included); the RL
    reference is checked to exist. ValueError naming the member that is missing."""
    from cappuccino_core.registry.tracking import Tracking
    from cappuccino_core.supervised.tracking import find_run, load_supervised

    trk = Tracking.from_settings(settings)
    sc = settings.supervised
    names = {"lstm": sc.lstm_model_name, "transformer": sc.transformer_model_name}
    models = []
    for kind, version in members.supervised:
        try:
            run_id = find_run(trk, names[kind], version)
        except ValueError as exc:
            raise ValueError(f"ensemble member {kind}: {exc}") from None
        models.append(load_supervised(trk, run_id))
    if members.rl is not None:
        check_rl(settings, members.rl)
    return models


def check_rl(settings: Settings, ref: str) -> str:
    """The run id of the RL policy ``ref`` names; ValueError when the registry has no such model or run."""
    from mlflow.exceptions import MlflowException

    from cappuccino_core.registry import Tracking, resolve_model_uri

    trk = Tracking.from_settings(settings)
    try:
        resolved = resolve_model_uri(ref, trk)
        if resolved.run_id is None:
            raise ValueError(f"{ref} does not name a model with a run id")
        trk.activate().get_run(resolved.run_id)
    except (MlflowException, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"ensemble member rl={ref}: not found in the registry ({first})") from None
    return str(resolved.run_id)


def check_alignment(models: Sequence[SupervisedModel], tickers: Sequence[str], timeframe: str) -> None:
    """Every model forecasts exactly ``tickers`` (in order) at ``timeframe``; FeatureSpecMismatch naming the
    model otherwise (its P(up) columns must line up with the traded assets)."""
    for m in models:
        if tuple(m.spec.tickers) != tuple(tickers):
            raise FeatureSpecMismatch(
                f"ensemble member {m.kind} (run {m.run_id or '?'}) forecasts {list(m.spec.tickers)}; "
                f"the traded assets are {list(tickers)}"
            )
        if m.spec.timeframe != timeframe:
            raise FeatureSpecMismatch(
                f"ensemble member {m.kind} (run {m.run_id or '?'}) decides on {m.spec.timeframe} bars; "
                f"the session trades {timeframe} bars"
            )
