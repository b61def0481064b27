"""The supervised ensemble as an arena contender (``[arena] ensemble = "lstm,transformer,rl=champion"``).

Identity: ``ensemble:`` and its members with their registered versions, the RL member by the first 8
characters of its run id, e.g. ``ensemble:lstm/3+transformer/2+rl=1a2b3c4d`` (``:learned`` appended when
``[supervised] weights = "learned"``). The id is fixed by what was resolved, so a retrained member (a new
version) or another RL champion makes a new contender, as a new model run does.

Entry: the members must resolve (registered LSTM/Transformer versions, the RL reference) and the ensemble
with exactly these member runs and weights must hold a passed ``ensemble_stress`` verdict, the gate RL
challengers pass to enter (the stress gate). A missing verdict is computed here (and stored, except in a dry
run); a failed one keeps the ensemble out. Out of sample: a supervised member whose training and
validation bars (its run's ``window.train_start`` .. ``window.train_end``) overlap a bout window keeps it out
too (:func:`training_overlap`, checked before the gate). Every reason it stays out is a report line, never an
error.

Trading: the kernel replays the ensemble on the RL member's held-out data (its FeatureSpec), or without an
RL member on the held-out data of the supervised members' TA-Lib part, the same windows, kernel and costs
as every contender; the forecasts are computed from the real bars of that span (with history for the
warm-up) by each member's stored FeatureSpec, causal (a bar's forecast reads bars up to it only).

Promotion: the ensemble can take and defend the champion seat. It is not a registered model, so the referee
gives it no alias and cannot send it to the sandbox or production: a champion ensemble with enough wins stays
champion and the report says why (:mod:`.hill`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cappuccino_core.config import Settings
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.supervised.tracking import SupervisedModel
from cappuccino_core.supervised.weights import EnsembleWeights

PREFIX = "ensemble:"
GATE = "ensemble_stress"


def is_ensemble_id(contender: str | None) -> bool:
    """Whether a contender id names the supervised ensemble (``ensemble:...``)."""
    return bool(contender) and str(contender).startswith(PREFIX)


@dataclass
class EnsembleEntrant:
    """A resolved ensemble: its id, member models, RL run (or None) and weights."""

    id: str
    models: list[SupervisedModel]
    rl_run: str | None
    weights: EnsembleWeights
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``ensemble(lstm 0.35, transformer 0.40, rl 0.25)``: the members and normalised weights."""
        from cappuccino_core.supervised.ensemble import ensemble_label

        return ensemble_label(self.weights.weights)

    def member_runs(self) -> dict[str, str]:
        """Member kind -> run id (``rl`` included when there is one)."""
        out = {m.kind: m.run_id for m in self.models}
        return out | ({"rl": self.rl_run} if self.rl_run else {})


def ensemble_id(models: list[SupervisedModel], rl_run: str | None, source: str = "configured") -> str:
    """``ensemble:lstm/3+transformer/2+rl=1a2b3c4d`` (see the module docstring)."""
    parts = [f"{m.kind}/{m.version or '?'}" for m in models] + ([f"rl={rl_run[:8]}"] if rl_run else [])
    out = PREFIX + "+".join(parts) + (":learned" if source == "learned" else "")
    if len(out) > 64:  # the standings' run_id column
        raise ValueError(f"ensemble id {out!r} is longer than 64 characters")
    return out


def resolve_entrant(settings: Settings) -> tuple[EnsembleEntrant | None, list[str]]:
    """The configured ensemble with its members resolved, or None and the reason (none configured: no
    line)."""
    from cappuccino_core.supervised.members import check_rl, load_members, parse_members
    from cappuccino_core.supervised.weights import ensemble_weights_for

    text = settings.arena.ensemble.strip()
    if not text:
        return None, []
    try:
        picked = parse_members(text)
        models = load_members(settings, picked)
        rl_run = check_rl(settings, picked.rl) if picked.rl is not None else None
        weights = ensemble_weights_for(settings, models, rl_run is not None)
        cid = ensemble_id(models, rl_run, weights.source)
    except (ValueError, OSError) as exc:
        return None, [f"ensemble {text!r} not entered: {exc}"]
    return EnsembleEntrant(cid, models, rl_run, weights), []


def _matching_verdict(store: Any, entrant: EnsembleEntrant) -> Any | None:
    """The newest stored ``ensemble_stress`` verdict of exactly this ensemble (member runs and weights)."""
    runs = entrant.member_runs()
    first = entrant.models[0].run_id
    rows = [
        v
        for v in store.verdicts(first)
        if v.gate == GATE
        and v.inputs.get("ensemble") == entrant.label
        and {k: r for k, r in (v.inputs.get("members") or {}).items() if k != "rl"}
        == {k: r for k, r in runs.items() if k != "rl"}
        and ("rl" in (v.inputs.get("members") or {})) == ("rl" in runs)
    ]
    if "rl" in runs:  # the same verdict was stored for the RL member's run too
        rl_rows = [v for v in store.verdicts(runs["rl"]) if v.gate == GATE]
        mine = {(v.inputs.get("scenario_set"), v.passed) for v in rl_rows}
        rows = [v for v in rows if (v.inputs.get("scenario_set"), v.passed) in mine]
    return max(rows, key=lambda v: v.id) if rows else None


def training_overlap(entrant: EnsembleEntrant, spans: list[tuple[int, int]]) -> tuple[str | None, list[str]]:
    """The line keeping ``entrant`` out when a bout window (``spans``: [first, last] bar open times, ns)
    overlaps a supervised member's training + validation bars, else None; and a note per member whose run
    records no window (logged before training recorded it: not checked)."""
    from cappuccino_core.supervised.split import iso_time

    notes = []
    for m in entrant.models:
        if not {"train_start", "train_end"} <= m.window.keys():
            notes.append(f"{entrant.id}: member {m.kind}/{m.version} (run {m.run_id}) records no training "
                         "window: its bout window is not checked against its training bars")  # fmt: skip
            continue
        lo, hi = (int(np.datetime64(m.window[k].removesuffix("Z"), "ns").astype(np.int64))
                  for k in ("train_start", "train_end"))  # fmt: skip
        for a, b in spans:
            if a <= hi and b >= lo:
                member = f"member {m.kind}/{m.version} (run {m.run_id})"
                trained = f"{m.window['train_start']} .. {m.window['train_end']}"
                bout = f"{iso_time(a)} .. {iso_time(b)}"
                return (
                    f"{entrant.id} not entered: {member} was trained and validated on {trained}, which the "
                    f"bout window {bout} overlaps: its bout would not be out of sample"
                ), notes
    return None, notes


def admit_entrant(settings: Settings, entrant: EnsembleEntrant, dry_run: bool = False) -> tuple[bool, str]:
    """Whether the ensemble passed its ``ensemble_stress`` gate (computed and, unless ``dry_run``, stored
    when missing) and the line that says so."""
    from cappuccino_core.state.store import StateStore
    from cappuccino_core.supervised.stress import record_ensemble_verdict, run_ensemble_stress

    found = _matching_verdict(StateStore(settings.paths.state_url), entrant)
    if found is not None:
        passed, how = bool(found.passed), f"stored {GATE} verdict of {found.ts:%Y-%m-%d %H:%M}"
        why = "; ".join(str(f.get("message", k)) for k, f in (found.failures or {}).items())
    else:
        try:
            v = run_ensemble_stress(settings, entrant.models, rl_ref=entrant.rl_run)
        except (ValueError, FileNotFoundError) as exc:
            return False, f"{entrant.id} not entered: its {GATE} gate could not run ({exc})"
        if not dry_run:
            record_ensemble_verdict(v, settings, list(entrant.member_runs().values()))
        passed, how = v.passed, f"{GATE} computed now ({v.figures.get('signals', 0)} signals)"
        why = "; ".join(c.describe() for c in v.failed_checks)
    if not passed:
        return False, f"{entrant.id} not entered: {entrant.label} FAILED its {GATE} gate ({how}): {why}"
    return True, f"{entrant.id} entered: {entrant.label}, {entrant.weights.source} weights; passed {how}"


def entrant_data(
    settings: Settings, entrant: EnsembleEntrant, held_out: Callable[[str], Any]
) -> MarketDataset:
    """The held-out data the ensemble trades: the RL member's (``held_out(run)``), else the supervised
    members' TA-Lib part's."""
    from cappuccino_core.features.supervised_set import ta_spec
    from cappuccino_core.gates import held_out_dataset

    if entrant.rl_run is not None:
        return held_out(entrant.rl_run)
    return held_out_dataset(settings, ta_spec(entrant.models[0].spec))


def entrant_policy(settings: Settings, entrant: EnsembleEntrant, data: MarketDataset, rl: Any = None) -> Any:
    """The :class:`EnsemblePolicy` over ``data`` (its forecast tables from the real bars of its span plus
    the warm-up history, each member's FeatureSpec); ``rl``: the loaded RL member."""
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.builder import INFERENCE_HISTORY_BARS
    from cappuccino_core.supervised.ensemble import EnsemblePolicy, forecast_table
    from cappuccino_core.supervised.members import check_alignment
    from cappuccino_core.supervised.signals import SignalBoard

    tf = data.spec.timeframe
    check_alignment(entrant.models, data.tickers, tf)
    traded = settings.data.model_copy(update={"tickers": list(data.tickers)})
    sub = settings.model_copy(update={"data": traded})
    frames = load_aligned(sub, tf).frames
    recent = {}
    for k, f in frames.items():  # the span's bars and the history before it for the features' warm-up
        times = f["time"].dt.cast_time_unit("ns").to_physical().to_numpy()
        lo = int(np.searchsorted(times, int(data.times[0]), side="left"))
        recent[k] = f.slice(max(0, lo - INFERENCE_HISTORY_BARS))
    tables = [forecast_table(m, recent) for m in entrant.models]
    g = settings.gates
    board = SignalBoard(g.supervised_confidence_threshold, g.supervised_high_tier, keep_events=False)
    return EnsemblePolicy(tables, entrant.weights.weights, rl=rl, board=board, tickers=data.tickers)
