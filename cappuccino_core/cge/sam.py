"""The benchmark Social Accounting Matrix (SAM): a square table of flows, validated on load.

Row = the account that receives, column = the account that pays. Accounts: production sectors (GDS goods,
SRV services, FIN finance), factors (LAB labour, CAP capital), household HOH, government GOV and investment
INV (a closed economy). A SAM is balanced when every row sum equals its column sum: every account's income
equals its spending. The bundled benchmark is ``cappuccino_core/cge/data/sam.csv``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SECTORS = ("GDS", "SRV", "FIN")
FACTORS = ("LAB", "CAP")
INSTITUTIONS = ("HOH", "GOV", "INV")
ACCOUNTS = SECTORS + FACTORS + INSTITUTIONS
DEFAULT_SAM = Path(__file__).parent / "data" / "sam.csv"
BALANCE_TOL = 1e-9  # relative: |row sum - column sum| <= tol * total flows


class SamError(ValueError):
    """The SAM file is malformed or not balanced; the message names the account."""


@dataclass(frozen=True)
class Sam:
    """A social accounting matrix: square, named accounts, validated (balanced) on construction."""

    accounts: tuple[str, ...]
    flows: np.ndarray  # (n, n) float64, flows[i, j] = payment from column account j to row account i
    source: str = "<memory>"

    def __post_init__(self) -> None:
        validate(self)

    def idx(self, name: str) -> int:
        """Row/column index of an account."""
        return self.accounts.index(name)

    def get(self, row: str, col: str) -> float:
        """The payment from account ``col`` to account ``row``."""
        return float(self.flows[self.idx(row), self.idx(col)])

    def block(self, rows: tuple[str, ...], cols: tuple[str, ...]) -> np.ndarray:
        """The flows between two lists of accounts (a copy)."""
        return self.flows[np.ix_([self.idx(r) for r in rows], [self.idx(c) for c in cols])].copy()

    def imbalance(self) -> np.ndarray:
        """Row sum minus column sum per account (zero when balanced)."""
        return self.flows.sum(axis=1) - self.flows.sum(axis=0)

    def content_hash(self) -> str:
        """sha256 of the account names and flows."""
        h = hashlib.sha256(",".join(self.accounts).encode())
        h.update(np.ascontiguousarray(self.flows, dtype=np.float64).tobytes())
        return h.hexdigest()


def validate(sam: Sam) -> None:
    """Raise :class:`SamError` unless the SAM is square, finite, non-negative, complete and balanced."""
    f, acc = sam.flows, sam.accounts
    if f.ndim != 2 or f.shape[0] != f.shape[1] or f.shape[0] != len(acc):
        raise SamError(f"{sam.source}: SAM must be square with one row/column per account; got {f.shape}")
    if len(set(acc)) != len(acc):
        raise SamError(f"{sam.source}: duplicate accounts in {acc}")
    missing = [a for a in ACCOUNTS if a not in acc]
    if missing:
        raise SamError(f"{sam.source}: missing account(s) {missing}; need {list(ACCOUNTS)}")
    if not np.all(np.isfinite(f)):
        raise SamError(f"{sam.source}: SAM contains NaN/inf")
    if np.any(f < 0):
        i, j = np.argwhere(f < 0)[0]
        raise SamError(f"{sam.source}: negative flow {f[i, j]} from {acc[j]} to {acc[i]}")
    gap = f.sum(axis=1) - f.sum(axis=0)
    tol = BALANCE_TOL * max(float(f.sum()), 1.0)
    bad = [f"{a} (row - column = {g:+.6g})" for a, g in zip(acc, gap, strict=True) if abs(g) > tol]
    if bad:
        raise SamError(f"{sam.source}: SAM not balanced: {', '.join(bad)}")
    # The calibration takes logs of these flows: each must be positive.
    need_positive = [("LAB", s) for s in SECTORS] + [("CAP", s) for s in SECTORS]
    need_positive += [(s, "HOH") for s in SECTORS] + [(s, "INV") for s in SECTORS]
    need_positive += [("GOV", "HOH"), ("INV", "HOH")]
    zero = [f"{r}<-{c}" for r, c in need_positive if f[acc.index(r), acc.index(c)] <= 0]
    if zero:
        raise SamError(f"{sam.source}: flows must be positive for the calibration: {zero}")


def load_sam(path: str | Path = DEFAULT_SAM) -> Sam:
    """Read a SAM CSV (``#`` comment lines, a header ``account,<accounts...>``, one row per account)."""
    p = Path(path)
    if not p.is_file():
        raise SamError(f"SAM file {p} does not exist")
    lines = [ln.strip() for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise SamError(f"{p}: empty SAM file")
    header = [c.strip() for c in lines[0].split(",")]
    cols = tuple(header[1:])
    rows: dict[str, list[float]] = {}
    for ln in lines[1:]:
        parts = [c.strip() for c in ln.split(",")]
        if len(parts) != len(header):
            raise SamError(f"{p}: row {parts[0]!r} has {len(parts) - 1} values, header has {len(cols)}")
        try:
            rows[parts[0]] = [float(x) for x in parts[1:]]
        except ValueError as exc:
            raise SamError(f"{p}: row {parts[0]!r}: {exc}") from None
    if tuple(rows) != cols:
        raise SamError(f"{p}: row accounts {list(rows)} must equal column accounts {list(cols)}, same order")
    return Sam(accounts=cols, flows=np.array(list(rows.values()), dtype=np.float64), source=str(p))
