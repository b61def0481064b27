"""Arena: king of the hill for the candidates that passed the backtest and stress gates, each also played
against the current production model (a champion goes to the sandbox only if it beat production), then
sandbox and live reviews."""

from __future__ import annotations

from prefect import flow

from flows.gates import candidates
from tasks.common import emergency_stopped, logger, record_stage, settings_for
from tasks.evidence import publish
from tasks.stages import arena_hill, arena_review


@flow(name="arena")
def arena(config: str | None = None, run_ids: list[str] | None = None, dry_run: bool = False) -> list[str]:
    """The best strategy worth beating takes an empty champion seat; then king of the hill for the candidates,
    each also against the current production model; then the sandbox and live reviews. Publishes
    `arena-bouts` (bouts, challengers vs production, role changes).

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        run_ids: MLflow run ids to put in the arena; empty: the new candidates that passed the arena-entry
            gates (backtest and stress, where enabled). The configured ``[arena] ensemble`` challenges too
            once its members resolve and its ``ensemble_stress`` verdict passed.
        dry_run: Decide and report, but change no role and record nothing.
    """
    settings = settings_for(config)
    if emergency_stopped(settings):
        logger().warning("arena: emergency stop set; nothing done")
        return ["halted: emergency stop"]
    if run_ids is None:
        from cappuccino_core.gates.record import admitted
        from cappuccino_core.state import StateStore

        store = StateStore(settings.paths.state_url)
        run_ids = admitted(store, candidates(settings), settings.gates.enabled)
    from cappuccino_core.arena.contenders import strategy_contest

    lines = strategy_contest(settings, dry_run)  # a model must beat a real strategy to take the seat
    contest = bool(run_ids) or bool(settings.arena.ensemble.strip())  # the ensemble may challenge alone
    if not contest:
        body = "\n".join(["**No candidate passed the gates: no bout.**", "", *(f"- {x}" for x in lines)])
        publish("arena-bouts", "Arena", body, "no candidate")
    lines += (
        arena_hill(settings, run_ids or [], dry_run) if contest else ["arena: no candidate passed the gates"]
    )
    lines += arena_review(settings, dry_run)
    if not dry_run:
        record_stage(settings, "arena", "done", lines=lines)
    for line in lines:
        logger().info(line)
    return lines
