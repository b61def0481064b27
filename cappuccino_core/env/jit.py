"""How the simulator's numba functions are compiled and cached.

``jit``     compiled on first call, cached on disk, numpy's floating-point semantics
            (``error_model="numpy"``: x / 0 is inf, not an exception).
``inline``  the same, and inlined into compiled callers at numba's IR level: a call that passes arrays
            pays reference counting per array, more than the arithmetic of a row of 10 assets.

The cache. numba re-compiles a cached function when its own source file changes, not when a function it
calls (in another file) does, so a stale cache could run old code after an update. The cache directory is
therefore keyed by a digest of every source file in this package: any change here compiles afresh (about
8 s once), and old entries are never read again. It lives under ``$NUMBA_CACHE_DIR`` when that is set,
else under the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``)/cappuccino/numba; when that
is not writable numba falls back to its own locations.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from numba import njit
from numba.core import config as numba_config

F = TypeVar("F", bound=Callable[..., Any])


def cache_dir(package: Path) -> str:
    """The cache directory for the compiled functions of ``package``'s sources, as they are now."""
    digest = hashlib.sha256()
    for source in sorted(package.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "cappuccino",
        "numba",
    )
    return os.path.join(base, digest.hexdigest()[:16])


CACHE_DIR = cache_dir(Path(__file__).parent)


def _compile(fn: F, inline: bool) -> F:
    if not fn.__module__.startswith(__package__ + "."):  # the cache key covers this package's files only
        raise ValueError(f"{fn.__module__}.{fn.__qualname__}: compile with env.jit only inside {__package__}")
    saved = getattr(numba_config, "CACHE_DIR", "")  # the location is fixed when the dispatcher is made
    setattr(numba_config, "CACHE_DIR", CACHE_DIR)  # noqa: B010  (numba reads the module global)
    try:
        how: Literal["always", "never"] = "always" if inline else "never"
        compiled: Any = njit(cache=True, error_model="numpy", nogil=True, inline=how)
        return cast(F, compiled(fn))
    finally:
        setattr(numba_config, "CACHE_DIR", saved)  # noqa: B010


def jit(fn: F) -> F:
    """Compile ``fn`` with numba: on first call, cached on disk, numpy floating-point semantics."""
    return _compile(fn, inline=False)


def inline(fn: F) -> F:
    """Like :func:`jit`, inlined into its numba callers."""
    return _compile(fn, inline=True)
