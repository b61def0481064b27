"""Test 1 of CGE.md section 6: the benchmark SAM is balanced (and a broken one is refused, naming why)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.cge.sam import DEFAULT_SAM, SamError, load_sam


def test_bundled_sam_is_balanced_and_matches_the_benchmark() -> None:
    sam = load_sam()
    f = sam.flows
    np.testing.assert_allclose(f.sum(axis=1), f.sum(axis=0), rtol=0, atol=1e-12)
    assert np.abs(sam.imbalance()).max() == 0.0
    sectors = ("GDS", "SRV", "FIN")
    C = sum(sam.get(s, "HOH") for s in sectors)
    G = sum(sam.get(s, "GOV") for s in sectors)
    I = sum(sam.get(s, "INV") for s in sectors)
    lab = sum(sam.get("LAB", s) for s in sectors)
    cap = sum(sam.get("CAP", s) for s in sectors)
    assert (C, G, I) == (115, 25, 35)
    assert lab + cap == pytest.approx(C + G + I) == 175  # GDP by income = GDP by expenditure
    assert lab / (lab + cap) == pytest.approx(0.62)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sam.csv"
    p.write_text(text)
    return p


def test_unbalanced_sam_is_refused_naming_the_account(tmp_path: Path) -> None:
    text = DEFAULT_SAM.read_text().replace("GOV,0,0,0,0,0,30,0,0", "GOV,0,0,0,0,0,31,0,0")
    with pytest.raises(SamError, match=r"not balanced: .*GOV"):
        load_sam(_write(tmp_path, text))


def test_malformed_sam_is_refused(tmp_path: Path) -> None:
    lines = DEFAULT_SAM.read_text().splitlines()
    with pytest.raises(SamError, match="has 7 values"):
        load_sam(_write(tmp_path, "\n".join([*lines[:-1], "INV,0,0,0,0,0,30,5"])))
    with pytest.raises(SamError, match="negative flow"):
        load_sam(_write(tmp_path, DEFAULT_SAM.read_text().replace("GDS,20,", "GDS,-20,")))
    with pytest.raises(SamError, match="does not exist"):
        load_sam(tmp_path / "missing.csv")
