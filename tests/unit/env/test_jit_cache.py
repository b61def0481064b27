"""The compiled simulator's cache is keyed by its sources: a change in any of them compiles afresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from cappuccino_core.env.jit import CACHE_DIR, cache_dir


def test_the_cache_directory_changes_with_any_source_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    pkg = tmp_path / "env"
    pkg.mkdir()
    (pkg / "order_math.py").write_text("def f(): return 1\n")
    (pkg / "step_fused.py").write_text("from order_math import f\n")
    first = cache_dir(pkg)
    assert Path(first).parent == tmp_path / "cache"
    assert cache_dir(pkg) == first  # same sources, same place: the cache is reused
    (pkg / "order_math.py").write_text("def f(): return 2\n")  # a callee in another file changed
    assert cache_dir(pkg) != first
    (pkg / "order_math.py").write_text("def f(): return 1\n")
    assert cache_dir(pkg) == first


def test_the_package_cache_is_keyed_by_this_checkout() -> None:
    here = Path(__file__).resolve().parents[3] / "cappuccino_core" / "env"
    assert Path(CACHE_DIR).name == Path(cache_dir(here)).name


def test_functions_outside_the_package_are_refused() -> None:
    from cappuccino_core.env.jit import jit

    def elsewhere(x: float) -> float:
        return x

    with pytest.raises(ValueError, match=r"compile with env\.jit only inside cappuccino_core\.env"):
        jit(elsewhere)
