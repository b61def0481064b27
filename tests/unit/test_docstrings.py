"""Every public class and function of the listed packages has a docstring (one line is enough).

Public: a module-level class or function (defined in that module, name not starting with ``_``) of a module
whose name does not start with ``_``, and the public methods and properties of such a class. A class needs
its own docstring (a dataclass's generated signature does not count); a method that overrides a documented
one (a Strategy's ``plan``, a Protocol's ``predict``) inherits its docstring (``inspect.getdoc``). The
packages are checked one level deep: a subpackage is its own entry.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import pytest

PACKAGES = [
    "cappuccino_core.arena",
    "cappuccino_core.backtest",
    "cappuccino_core.cge",
    "cappuccino_core.common",
    "cappuccino_core.config",
    "cappuccino_core.dashboard",
    "cappuccino_core.data",
    "cappuccino_core.env",
    "cappuccino_core.features",
    "cappuccino_core.gates",
    "cappuccino_core.loopback",
    "cappuccino_core.metrics",
    "cappuccino_core.monitor",
    "cappuccino_core.notify",
    "cappuccino_core.registry",
    "cappuccino_core.state",
    "cappuccino_core.strategies",
    "cappuccino_core.supervised",
    "cappuccino_core.trading",
    "cappuccino_core.training",
    "cappuccino_core.venues",
]


def _modules(package: str) -> Iterator[object]:
    pkg = importlib.import_module(package)
    yield pkg
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_") and not info.ispkg:
            yield importlib.import_module(f"{package}.{info.name}")


def _members(cls: type) -> Iterator[tuple[str, object]]:
    for name, raw in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(raw, property | classmethod | staticmethod) or inspect.isfunction(raw):
            yield name, raw


def _own_class_doc(cls: type) -> bool:
    """A class's own docstring: not one inherited from a base, not the signature a dataclass writes."""
    doc = vars(cls).get("__doc__")
    if not doc or not doc.strip():
        return False
    return not (dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("))


def undocumented(package: str) -> list[str]:
    """``module.name`` of every public definition of ``package`` without a docstring."""
    out: list[str] = []
    for mod in _modules(package):
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:  # type: ignore[attr-defined]
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            where = f"{mod.__name__}.{name}"  # type: ignore[attr-defined]
            if not (_own_class_doc(obj) if inspect.isclass(obj) else inspect.getdoc(obj)):
                out.append(where)
            if inspect.isclass(obj):
                for attr, raw in _members(obj):
                    doc = (
                        inspect.getdoc(getattr(obj, attr))
                        if not isinstance(raw, property)
                        else inspect.getdoc(raw)
                    )
                    if not doc:
                        out.append(f"{where}.{attr}")
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_public_definitions_have_docstrings(package: str) -> None:
    missing = undocumented(package)
    assert not missing, f"{len(missing)} public definition(s) without a docstring:\n" + "\n".join(missing)


def test_every_package_of_the_core_is_checked() -> None:
    """A new package joins the list above (and so needs its docstrings) the day it is added."""
    import pkgutil

    import cappuccino_core

    found = {f"cappuccino_core.{m.name}" for m in pkgutil.iter_modules(cappuccino_core.__path__) if m.ispkg}
    assert found == set(PACKAGES)
