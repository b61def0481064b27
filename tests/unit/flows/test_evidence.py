"""The markdown the stages publish as Prefect artifacts: hand-built inputs, exact expected text."""

from __future__ import annotations

from types import SimpleNamespace

from tasks.evidence import (
    arena_markdown,
    data_window_markdown,
    gates_markdown,
    markdown_table,
    study_markdown,
)


def test_markdown_table_escapes_pipes_and_formats_numbers() -> None:
    assert markdown_table(["a", "b"], [("x|y", 0.123456), (None, 3), ("age", 12534.4)]) == (
        "| a | b |\n|---|---|\n| x\\|y | 0.1235 |\n| - | 3 |\n| age | 12534 |"
    )


def test_data_window_marks_stale_symbols() -> None:
    md = data_window_markdown(
        [
            {
                "symbol": "BTC/USD",
                "timeframe": "1h",
                "first": "2025-01-01",
                "last": "2025-02-01",
                "bars": 745,
                "age_h": 1.5,
                "stale": False,
            },
            {
                "symbol": "ETH/USD",
                "timeframe": "1h",
                "first": "2025-01-01",
                "last": "2025-01-20",
                "bars": 457,
                "age_h": 290.0,
                "stale": True,
            },
        ],
        "alpaca",
        12,
    )
    assert md.startswith("Source: **alpaca**, 12 new bars stored.")
    assert "| BTC/USD | 1h | 2025-01-01 | 2025-02-01 | 745 | 1.5 | fresh |" in md
    assert "| ETH/USD | 1h | 2025-01-01 | 2025-01-20 | 457 | 290 | STALE |" in md


def test_study_row_per_phase() -> None:
    md = study_markdown(
        [
            {
                "study": "s-p1",
                "states": {"FAIL": 1, "COMPLETE": 3},
                "best": 0.25,
                "pbo": 0.4,
                "dsr": None,
                "registered": ["r1", "r2"],
            }
        ]
    )
    assert md.splitlines()[-1] == "| s-p1 | COMPLETE 3, FAIL 1 | 0.25 | 0.4 | - | 2 |"


def test_gates_say_when_every_candidate_was_rejected() -> None:
    verdicts = {
        "a" * 32: {
            "backtest": False,
            "stress": "skipped",
            "explanations": {"backtest": "backtest: FAILED: sharpe"},
        },
        "b" * 32: {"backtest": False, "explanations": {"backtest": "backtest: FAILED: drawdown"}},
    }
    md = gates_markdown(verdicts, passed=[])
    assert md.startswith("**Every candidate was rejected (2 gated, none passed).**")
    assert "| aaaaaaaaaaaa | backtest | FAILED | backtest: FAILED: sharpe |" in md
    assert "| aaaaaaaaaaaa | stress | skipped |  |" in md
    ok = gates_markdown({"a" * 32: {"backtest": True, "explanations": {}}}, passed=["a" * 32])
    assert ok.startswith("**1 of 1 candidates passed every required gate.**")
    assert gates_markdown({}, passed=[]) == (
        "**No candidate to gate**: no new registered model (the study's selection gate says why)."
    )


def test_arena_lists_bouts_production_bouts_and_role_changes() -> None:
    perf = SimpleNamespace
    report = SimpleNamespace(
        dry_run=False,
        champion="c" * 32,
        champion_wins=1,
        halted=False,
        bouts=[
            SimpleNamespace(
                incumbent=perf(model="i" * 32),
                challenger=perf(model="c" * 32),
                window=(0, 168),
                winner="challenger",
                reason="higher Sharpe",
            )
        ],
        transitions=[SimpleNamespace(run_id="c" * 32, action="crown", role="champion", reason="won")],
        production="p" * 32,
        production_bouts=[
            SimpleNamespace(
                incumbent=perf(model="p" * 32),
                challenger=perf(model="c" * 32),
                window=(0, 168),
                winner="p" * 32,
                reason="sortino 1.200 >= 0.900 (ties keep the incumbent)",
            )
        ],
        held_back=["c" * 32],
    )
    md = arena_markdown(report)
    assert "| iiiiiiiiiiii | cccccccccccc | 0-168 | challenger | higher Sharpe |" in md
    assert "| cccccccccccc | crown | champion | won |" in md
    assert f"Production: **{'p' * 32}**." in md
    rule = "sortino 1.200 >= 0.900 (ties keep the incumbent)"
    assert f"| cccccccccccc | pppppppppppp | 0-168 | production | {rule} |" in md
    assert f"Not promoted (lost to production): {'c' * 32}" in md
    report.production, report.production_bouts, report.held_back = None, [], []
    assert "No production model yet: the challengers played the champion only." in arena_markdown(report)


def test_study_markdown_carries_the_selection_verdict() -> None:
    verdict = "no challenger: best trial 3 fails: objective -3.010 <= trend 3.918"
    md = study_markdown(
        [{"study": "s-p2", "states": {"COMPLETE": 4}, "best": -3.01, "selection": verdict, "registered": []}]
    )
    assert md.splitlines()[-1] == f"- `s-p2` selection gate: {verdict}"
    assert "| s-p2 | COMPLETE 4 | -3.01 | - | - | 0 |" in md
