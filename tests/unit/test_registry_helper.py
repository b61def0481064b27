"""The shared registry: a new entry is a new file in the registry's package (found on first lookup), an
unknown name lists the known ones, a name is taken once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cappuccino_core.common.registry import Registry, UnknownName


def test_a_file_dropped_in_the_package_is_found_on_first_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "toy_plugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "shout.py").write_text(
        "from tests.unit.test_registry_helper import REG\nREG.add('shout', str.upper)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    REG.packages = ("toy_plugins",)
    try:
        assert REG.get("shout")("hi") == "HI"
        assert REG.names() == ["shout"]
    finally:
        sys.modules.pop("toy_plugins.shout", None)
        sys.modules.pop("toy_plugins", None)


REG: Registry[object] = Registry("toy")


def test_unknown_names_and_duplicates() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    reg.add("b", 2)
    with pytest.raises(UnknownName, match="unknown widget 'c'; known: a, b"):
        reg.get("c")
    with pytest.raises(ValueError, match="unknown widget"):  # also a ValueError, for settings
        reg.get("c")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", 3)
    reg.add("a", 3, replace=True)
    assert reg.get("a") == 3 and "a" in reg and len(reg) == 2
    reg.remove("a")
    assert list(reg) == ["b"]
