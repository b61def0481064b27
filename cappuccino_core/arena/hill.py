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

from cappuccino_core.arena.match import BoutResult, bout, bout_on_own_data, time_window
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
from cappuccino_core.common.policy import Policy
from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset


@dataclass
class HillReport:
    champion: str | None
    champion_wins: int
    bouts: list[BoutResult] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    halted: bool = False
    dry_run: bool = False
    transitions: list[Transition] = field(default_factory=list)

    def lines(self) -> list[str]:
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
    load: Callable[[str], Policy],
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
    from cappuccino_core.arena.contenders import is_strategy_id, strategy_policy

    def get_policy(run_id: str) -> Policy:  # strategies are rebuilt from their ids
        return strategy_policy(run_id, env, data.tickers) if is_strategy_id(run_id) else load(run_id)

    def get_data(run_id: str) -> MarketDataset:  # a strategy trades the hill's data
        assert data_for is not None
        return data if is_strategy_id(run_id) else data_for(run_id)

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
        window = windows[k % len(windows)]
        own = (get_data(champ), get_data(chal)) if data_for is not None else None
        if own is not None and own[0].spec.content_hash() != own[1].spec.content_hash():
            result = bout_on_own_data(
                (champ, get_policy(champ), own[0]), (chal, get_policy(chal), own[1]),
                time_window(data, window), env, costs, cfg,
            )  # fmt: skip
        else:
            result = bout((champ, get_policy(champ)), (chal, get_policy(chal)), data, window, env, costs, cfg)
        report.bouts.append(result)
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
            report.eliminated.append(chal)
        else:
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
            report.eliminated.append(champ)
            champ, wins = chal, 1
        if wins >= cfg.wins_to_sandbox and not is_strategy_id(champ):
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
