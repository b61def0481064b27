"""Checks and verdicts: a check passes exactly when its comparison holds; a missing figure never passes."""

from __future__ import annotations

import math
import operator

from hypothesis import given
from hypothesis import strategies as st

from cappuccino_core.gates import Verdict, check

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(finite, finite, st.sampled_from(sorted(OPS)))
def test_check_is_the_comparison(value: float, threshold: float, op: str) -> None:
    c = check("x", value, op, threshold)  # type: ignore[arg-type]
    assert c.passed == OPS[op](value, threshold)


@given(st.sampled_from([math.nan, math.inf, -math.inf]), finite, st.sampled_from(sorted(OPS)))
def test_a_missing_figure_fails_and_says_so(value: float, threshold: float, op: str) -> None:
    c = check("x", value, op, threshold)  # type: ignore[arg-type]
    assert not c.passed and "not available" in c.describe()


@given(st.lists(st.booleans(), min_size=0, max_size=6))
def test_a_verdict_passes_only_when_every_check_does(results: list[bool]) -> None:
    checks = [check(f"c{i}", 1.0 if ok else -1.0, ">", 0.0) for i, ok in enumerate(results)]
    v = Verdict.from_checks("g", "r", checks, {}, {})
    assert v.passed == (bool(results) and all(results))
    assert set(v.failures()) == {f"c{i}" for i, ok in enumerate(results) if not ok}
    assert v.to_dict()["passed"] == v.passed
