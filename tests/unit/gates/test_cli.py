"""`cappuccino gates show`: the stored verdicts of a model, with the failed checks."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from cappuccino_cli.gates import app
from cappuccino_core.gates import Verdict, check, save_verdict
from cappuccino_core.state.store import StateStore

RID = "a" * 32


def _config(tmp_path) -> str:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[paths]\nstate_url = "sqlite:///{tmp_path}/state.db"\nmlflow_tracking_uri = "sqlite:///{tmp_path}/m.db"\n'
    )
    return str(cfg)


def test_show_lists_verdicts_with_their_explanation(tmp_path) -> None:
    cfg = _config(tmp_path)
    runner = CliRunner()
    empty = runner.invoke(app, ["show", RID, "--config", cfg])
    assert empty.exit_code == 0 and "no gate verdicts yet" in empty.output
    v = Verdict.from_checks("backtest", RID, [check("total_return", -0.7, ">", -0.5, "max loss")], {}, {})
    save_verdict(v, StateStore(f"sqlite:///{tmp_path}/state.db"))
    out = runner.invoke(app, ["show", RID, "--config", cfg], terminal_width=200)
    assert out.exit_code == 0 and "FAILED" in out.output
    assert "total_return = -0.7, needs > -0.5 (max loss)" in " ".join(out.output.split())
    assert isinstance(app, typer.Typer)
