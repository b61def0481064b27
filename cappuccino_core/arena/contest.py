"""The arena's hill run from the settings: the registered candidates and, when configured, the supervised
ensemble (:mod:`.ensemble_entry`) challenge the champion on the held-out windows (what the ``arena`` flow's
``arena-hill`` task and ``make run`` call).

Each model trades the held-out bars built with its own FeatureSpec (the backtest gate's window); the
ensemble its RL member's (or its supervised TA-Lib part's), with the same windows, kernel, costs and rule.
The ensemble challenges after the model candidates, once (a registered candidate also enters once). A seated
ensemble champion whose members are no longer the configured, resolvable ones cannot be rebuilt: it is
eliminated with that reason and the best strategy takes the empty seat, as on a fresh install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cappuccino_core.arena.ensemble_entry import (
    EnsembleEntrant,
    admit_entrant,
    entrant_data,
    entrant_policy,
    is_ensemble_id,
    resolve_entrant,
    training_overlap,
)
from cappuccino_core.arena.hill import HillReport, run_hill
from cappuccino_core.arena.match import time_window
from cappuccino_core.arena.referee import CHAMPION, ELIMINATED, Referee, Transition, holders, standing
from cappuccino_core.config import Settings


def ensemble_entry(
    settings: Settings,
    store: Any,
    dry_run: bool = False,
    spans: Callable[[EnsembleEntrant], list[tuple[int, int]]] | None = None,
) -> tuple[EnsembleEntrant | None, bool, list[str]]:
    """(the configured ensemble if its members resolve, whether it challenges now, the lines saying why).

    It challenges once, as a registered candidate enters once: when it has no arena standing yet, its bout
    windows (``spans(entrant)``: [first, last] open times, ns) lie outside every supervised member's training
    and validation bars, and it passed its gate. One already in the arena does not challenge again (as
    champion it defends, so it is returned to be rebuilt). Nothing configured: (None, False, [])."""
    entrant, lines = resolve_entrant(settings)
    if entrant is None:
        return None, False, lines
    row = standing(store, entrant.id)
    if row is not None:
        return entrant, False, [f"{entrant.id} already entered the arena (now {row.role}): no new challenge"]
    if spans is not None:
        try:
            bouts = spans(entrant)
        except (ValueError, FileNotFoundError) as exc:
            return None, False, [f"{entrant.id} not entered: its bout windows could not be built ({exc})"]
        refused, notes = training_overlap(entrant, bouts)
        if refused is not None:
            return None, False, [*notes, refused]
        lines += notes
    ok, line = admit_entrant(settings, entrant, dry_run)
    return (entrant if ok else None), ok, [*lines, line]


def _vacate_stale_ensemble(
    settings: Settings, referee: Referee, entrant: EnsembleEntrant | None
) -> list[str]:
    """Eliminate a seated ensemble champion other than ``entrant`` (it cannot be rebuilt) and let the best
    strategy take the seat; the lines saying so."""
    from cappuccino_core.arena.contenders import strategy_contest

    seated = holders(referee.store, CHAMPION)
    champ = seated[-1] if seated else None
    if champ is None or not is_ensemble_id(champ) or (entrant is not None and champ == entrant.id):
        return []
    why = "its members are no longer the configured, resolvable ensemble: it cannot be rebuilt to defend"
    referee.apply(Transition(champ, "eliminate", ELIMINATED, why, clear_alias=CHAMPION, wins=0))
    lines = [f"champion {champ} eliminated: {why}"]
    if not referee.dry_run:
        lines += strategy_contest(settings)
    return lines


def hill_contest(
    settings: Settings, run_ids: list[str], dry_run: bool = False, notifier: Any = None
) -> HillReport:
    """King of the hill over the held-out windows for ``run_ids`` and the configured ensemble; the report's
    ``notes`` say whether the ensemble entered and why (no contender at all: a report without bouts)."""
    from cappuccino_core.arena import MlflowRoleBook, arena_config, windows
    from cappuccino_core.gates import held_out_dataset
    from cappuccino_core.registry import Tracking, load_policy, model_spec
    from cappuccino_core.state import StateStore

    cfg = arena_config(settings)
    trk = Tracking.from_settings(settings)
    cache: dict[str, Any] = {}

    def held_out(run_id: str) -> Any:
        """The held-out bars (the backtest gate's window) built with this model's own FeatureSpec."""
        spec = model_spec(run_id, trk)
        key = spec.content_hash()
        if key not in cache:
            cache[key] = held_out_dataset(settings, spec)
        return cache[key]

    ref = Referee(StateStore(settings.paths.state_url), MlflowRoleBook(trk), actor="flow:arena",
                  dry_run=dry_run, notifier=notifier)  # fmt: skip

    def spans(entrant: EnsembleEntrant) -> list[tuple[int, int]]:
        """The bout windows the ensemble would trade (on the first challenger's held-out bars, as below)."""
        held = held_out(run_ids[0]) if run_ids else entrant_data(settings, entrant, held_out)
        return [time_window(held, w) for w in windows(held, cfg.window_bars)]

    entrant, challenge, notes = ensemble_entry(settings, ref.store, dry_run, spans)
    notes += _vacate_stale_ensemble(settings, ref, entrant)
    challengers = list(run_ids) + ([entrant.id] if entrant is not None and challenge else [])
    if not challengers:
        seated = holders(ref.store, CHAMPION)
        row = standing(ref.store, seated[-1]) if seated else None
        champ, wins = (row.run_id, row.consecutive_wins) if row is not None else (None, 0)
        return HillReport(champ, wins, dry_run=dry_run, notes=[*notes, "no challenger: no bout"])
    own: dict[str, Any] = {}
    if entrant is not None:
        own[entrant.id] = entrant_data(settings, entrant, held_out)

    def data_for(run_id: str) -> Any:
        return own[run_id] if run_id in own else held_out(run_id)

    def load(run_id: str) -> Any:
        if entrant is not None and run_id == entrant.id:
            if "policy" not in cache:  # the forecasts are computed once per run
                data = own[run_id]
                rl = load_policy(entrant.rl_run, data, trk) if entrant.rl_run else None
                cache["policy"] = entrant_policy(settings, entrant, data, rl)
            return cache["policy"]
        return load_policy(run_id, held_out(run_id), trk)

    held = data_for(challengers[0])
    report = run_hill(challengers, load, held, windows(held, cfg.window_bars), settings.env, settings.costs,
                      cfg, ref, data_for=data_for)  # fmt: skip
    report.notes[:0] = notes
    return report
