"""King of the hill.

The champion defends its seat against each challenger in turn. A bout is one replayed held-out window
(:func:`cappuccino_core.arena.match.bout`: both trade the same bars in one kernel run) decided by the
risk-adjusted score with a minimum number of trades (rule in :mod:`cappuccino_core.arena.match`).

* No champion yet: the first challenger is crowned without a bout.
* The winner keeps (or takes) the champion seat; the loser is eliminated (standing ``eliminated``).
  A champion's consecutive wins count its successful defences; a challenger that takes the seat starts
  at 1 (it beat the champion once).
* A champion reaching ``wins_to_sandbox`` consecutive wins (20 by default) goes to the sandbox and the seat
  is empty again (the next challenger is crowned). A strategy champion (``strategy:...``, seated by
  :func:`~.contenders.crown_best_strategy`) never goes to the sandbox: it is the floor models must clear.
  Its policy is rebuilt from its id and it trades the hill's data.
* The supervised ensemble (``ensemble:...``, :mod:`.ensemble_entry`) challenges and defends like a model,
  but it is not a registered model: with ``wins_to_sandbox`` wins it stays champion (a report note says
  so); the sandbox and production take registered models only.
* Every new model challenger also plays the current production model on the same window (``challenger vs
  production``, production the incumbent: ties keep production), reported in ``production_bouts`` and the
  audit log (action ``arena:vs_production``). Promotion uses it: a champion with ``wins_to_sandbox`` wins
  goes to the sandbox only if it beat production on the window of its last bout (its own result as a
  challenger there, else a bout played then); otherwise it stays champion (``held_back``) and is tried again
  at its next defence. With no production model yet there is nothing to beat but the champion.
* The emergency stop is checked before every bout: when set, the loop stops at once (``halted``).
* ``dry_run``: the referee records the transitions and changes nothing; the loop still follows its own
  decisions in memory, so the report shows what a real run would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cappuccino_core.arena.match import BoutResult, bout, bout_on_own_data, time_window
from cappuccino_core.arena.overrides import auto_promotion_paused
from cappuccino_core.arena.referee import (
    CHALLENGER,
    CHAMPION,
    ELIMINATED,
    SANDBOX,
    Referee,
    Transition,
    holders,
    production_holder,
    standing,
)
from cappuccino_core.common.policy import Policy
from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset


@dataclass
class HillReport:
    """What one hill run did: the champion after it, every bout (and those against production), who was
    promoted, eliminated or held back, and whether it halted or only rehearsed (dry run)."""

    champion: str | None
    champion_wins: int
    bouts: list[BoutResult] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    halted: bool = False
    dry_run: bool = False
    transitions: list[Transition] = field(default_factory=list)
    production: str | None = None  # the production model the challengers played (None: none yet)
    production_bouts: list[BoutResult] = field(default_factory=list)  # incumbent = production
    held_back: list[str] = field(default_factory=list)  # had the wins for the sandbox, lost to production
    notes: list[str] = field(default_factory=list)  # entry of contenders (the ensemble), unpromotable seats

    def lines(self) -> list[str]:
        """The report as lines for the terminal and the Prefect artifact."""
        out = [f"{'DRY RUN: ' if self.dry_run else ''}champion {self.champion} ({self.champion_wins} wins)"]
        out += [f"  {n}" for n in self.notes]
        out += [
            f"  bout {b.incumbent.model} vs {b.challenger.model}: {b.winner} wins ({b.reason})"
            for b in self.bouts
        ]
        if self.production is None:
            out.append("  no production model yet: no challenger vs production bout")
        out += [
            f"  bout challenger {b.challenger.model} vs production {b.incumbent.model}: "
            f"{'challenger' if b.winner == b.challenger.model else 'production'} wins ({b.reason})"
            for b in self.production_bouts
        ]
        out += [f"  promoted to sandbox: {m}" for m in self.promoted]
        out += [f"  not promoted: {m} lost to production {self.production}" for m in self.held_back]
        if self.halted:
            out.append("  HALTED by the emergency stop")
        return out


class _Bouts:
    """Plays one bout between two contestants on one window: on shared data, or each on data built with its
    own FeatureSpec when ``data_for`` is given and the specs differ (``bout_on_own_data``)."""

    def __init__(
        self,
        load: Callable[[str], Policy],
        data: MarketDataset,
        env: EnvConfig,
        costs: CostsConfig,
        cfg: ArenaConfig,
        data_for: Callable[[str], MarketDataset] | None,
    ) -> None:
        self.load, self.data, self.env, self.costs, self.cfg, self.data_for = (
            load,
            data,
            env,
            costs,
            cfg,
            data_for,
        )

    def policy(self, run_id: str) -> Policy:
        """Strategies are rebuilt from their ids; models come from ``load``."""
        from cappuccino_core.arena.contenders import is_strategy_id, strategy_policy

        if is_strategy_id(run_id):
            return strategy_policy(run_id, self.env, self.data.tickers)
        return self.load(run_id)

    def own_data(self, run_id: str) -> MarketDataset:
        from cappuccino_core.arena.contenders import is_strategy_id

        assert self.data_for is not None
        return self.data if is_strategy_id(run_id) else self.data_for(run_id)  # a strategy trades the hill's

    def play(self, incumbent: str, challenger: str, window: tuple[int, int]) -> BoutResult:
        a, b = (incumbent, self.policy(incumbent)), (challenger, self.policy(challenger))
        if self.data_for is not None:
            da, db = self.own_data(incumbent), self.own_data(challenger)
            if da.spec.content_hash() != db.spec.content_hash():
                span = time_window(self.data, window)
                return bout_on_own_data((*a, da), (*b, db), span, self.env, self.costs, self.cfg)
        return bout(a, b, self.data, window, self.env, self.costs, self.cfg)


class _Hill:
    """The loop's state (champion, its wins, the report) and its three decisions per challenger."""

    def __init__(self, bouts: _Bouts, cfg: ArenaConfig, referee: Referee) -> None:
        self.bouts, self.cfg, self.referee = bouts, cfg, referee
        seated = holders(referee.store, CHAMPION)
        self.champ: str | None = seated[-1] if seated else None
        row = standing(referee.store, self.champ) if self.champ else None
        self.wins = row.consecutive_wins if row is not None else 0
        self.prod = production_holder(referee.store, referee.roles)
        self.vs_prod: dict[tuple[str, tuple[int, int]], BoutResult] = {}
        self.report = HillReport(self.champ, self.wins, dry_run=referee.dry_run, production=self.prod)

    def versus_production(self, model: str, window: tuple[int, int]) -> BoutResult | None:
        """``model`` (a challenger) against production on ``window``, once per (model, window); recorded."""
        from cappuccino_core.arena.contenders import is_strategy_id

        if self.prod is None or model == self.prod or is_strategy_id(model):
            return None
        key = (model, (int(window[0]), int(window[1])))
        if key not in self.vs_prod:
            res = self.bouts.play(self.prod, model, window)
            self.vs_prod[key] = res
            self.report.production_bouts.append(res)
            verb = "beat" if res.winner == model else "lost to"
            self.referee.apply(
                Transition(model, "vs_production", None, f"{verb} production {self.prod}: {res.reason}",
                           {**res.evidence(), "production": self.prod})
            )  # fmt: skip
        return self.vs_prod[key]

    def hill_bout(self, chal: str, window: tuple[int, int]) -> None:
        """The champion defends its seat against ``chal``; the loser is eliminated."""
        champ = self.champ
        assert champ is not None
        result = self.bouts.play(champ, chal, window)
        self.report.bouts.append(result)
        ev = result.evidence()
        if result.winner == champ:
            self.wins += 1
            self.referee.apply(
                Transition(chal, "eliminate", ELIMINATED, f"lost to {champ}: {result.reason}", ev,
                           clear_alias=CHALLENGER, wins=0, matched=True)
            )  # fmt: skip
            self.referee.apply(
                Transition(champ, "defend", CHAMPION, f"beat {chal}: {result.reason}", ev, wins=self.wins,
                           matched=True)
            )  # fmt: skip
            self.report.eliminated.append(chal)
            return
        self.referee.apply(
            Transition(champ, "eliminate", ELIMINATED, f"lost to {chal}: {result.reason}", ev,
                       clear_alias=CHAMPION, wins=0, matched=True)
        )  # fmt: skip
        self.referee.apply(
            Transition(chal, "crown", CHAMPION, f"beat champion {champ}: {result.reason}", ev, alias=CHAMPION,
                       wins=1, matched=True)
        )  # fmt: skip
        self.report.eliminated.append(champ)
        self.champ, self.wins = chal, 1

    def maybe_promote(self, window: tuple[int, int]) -> None:
        """A model champion with enough wins goes to the sandbox if it beats production on ``window``."""
        from cappuccino_core.arena.contenders import is_strategy_id
        from cappuccino_core.arena.ensemble_entry import is_ensemble_id

        champ = self.champ
        if champ is None or self.wins < self.cfg.wins_to_sandbox or is_strategy_id(champ):
            return
        if is_ensemble_id(champ):  # no registered model: the referee has nothing to give the sandbox alias
            note = (
                f"not promoted: {champ} has {self.wins} consecutive wins but is not a registered model; "
                "the sandbox and production take registered models only, so it stays champion"
            )
            if not any(n.startswith(f"not promoted: {champ} ") for n in self.report.notes):  # once
                self.report.notes.append(note)
            return
        if auto_promotion_paused(self.referee.store):  # an operator paused promotions: hold the seat
            return
        vs = self.versus_production(champ, window)
        if vs is not None and vs.winner != champ:
            self.referee.apply(
                Transition(champ, "held_back", None,
                           f"{self.wins} consecutive wins but lost to production {self.prod}: {vs.reason}",
                           {**vs.evidence(), "consecutive_wins": self.wins, "production": self.prod})
            )  # fmt: skip
            self.report.held_back.append(champ)
            return
        ev: dict = {"consecutive_wins": self.wins}
        if vs is not None:
            ev["beat_production"] = self.prod
        reason = f"{self.wins} consecutive wins (>= {self.cfg.wins_to_sandbox})"
        self.referee.apply(
            Transition(champ, "to_sandbox", SANDBOX, reason, ev, alias=SANDBOX, clear_alias=CHAMPION)
        )
        self.report.promoted.append(champ)
        self.champ, self.wins = None, 0


def run_hill(
    challengers: Sequence[str],
    load: Callable[[str], Policy],
    data: MarketDataset,
    windows: Sequence[tuple[int, int]],
    env: EnvConfig,
    costs: CostsConfig,
    cfg: ArenaConfig,
    referee: Referee,
    data_for: Callable[[str], MarketDataset] | None = None,
) -> HillReport:
    """Run each challenger (model run ids, in order) against production and the champion; see the module
    docstring.

    ``data_for(run_id)``: the held-out data built with that model's own FeatureSpec. When the two
    contestants' specs differ, each replays the same time span on its own data (``bout_on_own_data``);
    otherwise both share ``data`` in one kernel run."""
    if not windows:
        raise ValueError("run_hill: no replay windows given")
    hill = _Hill(_Bouts(load, data, env, costs, cfg, data_for), cfg, referee)
    for k, chal in enumerate(challengers):
        if referee.store.emergency_stopped():
            hill.report.halted = True
            break
        if chal == hill.champ:
            continue
        window = windows[k % len(windows)]
        hill.versus_production(chal, window)
        if hill.champ is None:
            referee.apply(
                Transition(chal, "crown", CHAMPION, "the champion seat was empty", alias=CHAMPION, wins=0)
            )
            hill.champ, hill.wins = chal, 0
            continue
        hill.hill_bout(chal, window)
        hill.maybe_promote(window)
    report = hill.report
    report.champion, report.champion_wins = hill.champ, hill.wins
    report.transitions = list(referee.planned)
    return report
