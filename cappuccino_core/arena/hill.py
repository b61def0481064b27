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
* The emergency stop is checked before every bout: when set, the loop stops at once (``halted``).
* ``dry_run``: the referee records the transitions and changes nothing; the loop still follows its own
  decisions in memory, so the report shows what a real run would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cappuccino_core.arena.match import BoutResult, PolicyLike, bout, bout_on_own_data, time_window
from cappuccino_core.arena.overrides import auto_promotion_paused
from cappuccino_core.arena.referee import (
    CHALLENGER,
    CHAMPION,
    ELIMINATED,
    SANDBOX,
    Referee,
    Transition,
    holders,
    standing,
)
from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset


@dataclass
class HillReport:
    """What one king-of-the-hill run did: the champion after it, the bouts, promotions, eliminations."""

    champion: str | None
    champion_wins: int
    bouts: list[BoutResult] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    halted: bool = False
    dry_run: bool = False
    transitions: list[Transition] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"{'DRY RUN: ' if self.dry_run else ''}champion {self.champion} ({self.champion_wins} wins)"]
        out += [
            f"  bout {b.incumbent.model} vs {b.challenger.model}: {b.winner} wins ({b.reason})"
            for b in self.bouts
        ]
        out += [f"  promoted to sandbox: {m}" for m in self.promoted]
        if self.halted:
            out.append("  HALTED by the emergency stop")
        return out


def run_hill(
    challengers: Sequence[str],
    load: Callable[[str], PolicyLike],
    data: MarketDataset,
    windows: Sequence[tuple[int, int]],
    env: EnvConfig,
    costs: CostsConfig,
    cfg: ArenaConfig,
    referee: Referee,
    data_for: Callable[[str], MarketDataset] | None = None,
) -> HillReport:
    """Run each challenger (model run ids, in order) against the champion; see the module docstring.

    ``data_for(run_id)``: the held-out data built with that model's own FeatureSpec. When the two
    contestants' specs differ, each replays the same time span on its own data (``bout_on_own_data``);
    otherwise both share ``data`` in one kernel run."""
    if not windows:
        raise ValueError("run_hill: no replay windows given")
    from cappuccino_core.arena.contenders import is_strategy_id

    ring = _Ring(load, data, data_for, env, costs, cfg)
    store = referee.store
    seated = holders(store, CHAMPION)
    champ: str | None = seated[-1] if seated else None
    row = standing(store, champ) if champ else None
    wins = row.consecutive_wins if row is not None else 0
    report = HillReport(champion=champ, champion_wins=wins, dry_run=referee.dry_run)
    for k, chal in enumerate(challengers):
        if store.emergency_stopped():
            report.halted = True
            break
        if chal == champ:
            continue
        if champ is None:
            referee.apply(
                Transition(chal, "crown", CHAMPION, "the champion seat was empty", alias=CHAMPION, wins=0)
            )
            champ, wins = chal, 0
            continue
        result = ring.bout(champ, chal, windows[k % len(windows)])
        report.bouts.append(result)
        loser = chal if result.winner == champ else champ
        champ, wins = _settle(referee, result, champ, chal, wins)
        report.eliminated.append(loser)
        if wins >= cfg.wins_to_sandbox and not is_strategy_id(champ) and not auto_promotion_paused(store):
            referee.apply(
                Transition(
                    champ,
                    "to_sandbox",
                    SANDBOX,
                    f"{wins} consecutive wins (>= {cfg.wins_to_sandbox})",
                    {"consecutive_wins": wins},
                    alias=SANDBOX,
                    clear_alias=CHAMPION,
                )
            )
            report.promoted.append(champ)
            champ, wins = None, 0
    report.champion, report.champion_wins = champ, wins
    report.transitions = list(referee.planned)
    return report


@dataclass(frozen=True)
class _Ring:
    """What a bout needs besides its two contestants: how to get a policy and its data, and the rules."""

    load: Callable[[str], PolicyLike]
    data: MarketDataset
    data_for: Callable[[str], MarketDataset] | None
    env: EnvConfig
    costs: CostsConfig
    cfg: ArenaConfig

    def policy(self, run_id: str) -> PolicyLike:
        """A model's policy, or a strategy's, rebuilt from its id."""
        from cappuccino_core.arena.contenders import is_strategy_id, strategy_policy

        return (
            strategy_policy(run_id, self.env, self.data.tickers)
            if is_strategy_id(run_id)
            else self.load(run_id)
        )

    def own_data(self, run_id: str) -> MarketDataset:
        """The data built with the model's own FeatureSpec; a strategy trades the hill's data."""
        from cappuccino_core.arena.contenders import is_strategy_id

        assert self.data_for is not None
        return self.data if is_strategy_id(run_id) else self.data_for(run_id)

    def bout(self, champ: str, chal: str, window: tuple[int, int]) -> BoutResult:
        """One bout on ``window``: in one kernel run on shared data, or each on its own data when the two
        FeatureSpecs differ."""
        own = (self.own_data(champ), self.own_data(chal)) if self.data_for is not None else None
        if own is not None and own[0].spec.content_hash() != own[1].spec.content_hash():
            return bout_on_own_data(
                (champ, self.policy(champ), own[0]),
                (chal, self.policy(chal), own[1]),
                time_window(self.data, window),
                self.env,
                self.costs,
                self.cfg,
            )
        return bout(
            (champ, self.policy(champ)),
            (chal, self.policy(chal)),
            self.data,
            window,
            self.env,
            self.costs,
            self.cfg,
        )


def _settle(referee: Referee, result: BoutResult, champ: str, chal: str, wins: int) -> tuple[str, int]:
    """Record a bout's outcome (the loser eliminated, the winner seated); the champion and its wins after."""
    ev = result.evidence()
    if result.winner == champ:
        wins += 1
        referee.apply(
            Transition(
                chal,
                "eliminate",
                ELIMINATED,
                f"lost to {champ}: {result.reason}",
                ev,
                clear_alias=CHALLENGER,
                wins=0,
                matched=True,
            )
        )
        referee.apply(
            Transition(
                champ, "defend", CHAMPION, f"beat {chal}: {result.reason}", ev, wins=wins, matched=True
            )
        )
        return champ, wins
    referee.apply(
        Transition(
            champ,
            "eliminate",
            ELIMINATED,
            f"lost to {chal}: {result.reason}",
            ev,
            clear_alias=CHAMPION,
            wins=0,
            matched=True,
        )
    )
    referee.apply(
        Transition(
            chal,
            "crown",
            CHAMPION,
            f"beat champion {champ}: {result.reason}",
            ev,
            alias=CHAMPION,
            wins=1,
            matched=True,
        )
    )
    return chal, 1
