"""Placing log paths into price bands without clipping (CGE.md section 5).

P = exp(c + x): the offset c is chosen so the whole path lies in [Pmin, Pmax], uniformly at random within the
slack [ln Pmin - min x, ln Pmax - max x]. A path whose log range is wider than the band cannot fit: it is
centred on the band (geometric middle), kept, and flagged; the flag rate is reported with the set, because
dropping such paths would bias the stress set towards calm markets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Placement:
    """Simulated price paths placed in their price bands: prices, offsets, whether each path fits, ranges."""

    prices: np.ndarray  # (S, H+1, N)
    offset: np.ndarray  # (S, N) c
    fits: np.ndarray  # (S, N) bool: the path lies inside its band
    log_range: np.ndarray  # (S, N) max x - min x
    band_width: np.ndarray  # (N,) ln(Pmax / Pmin)


def place_in_bands(x: np.ndarray, bands: np.ndarray, u: np.ndarray) -> Placement:
    """x: (S, H+1, N) log paths; bands: (N, 2) [Pmin, Pmax]; u: (S, N) uniforms in [0, 1)."""
    if np.any(bands[:, 0] <= 0) or np.any(bands[:, 1] <= bands[:, 0]):
        raise ValueError(f"bands must satisfy 0 < Pmin < Pmax; got {bands.tolist()}")
    lo, hi = np.log(bands[:, 0]), np.log(bands[:, 1])
    xmin, xmax = x.min(axis=1), x.max(axis=1)
    c_lo, c_hi = lo - xmin, hi - xmax
    fits = c_lo <= c_hi
    centred = 0.5 * (lo + hi) - 0.5 * (xmin + xmax)
    c = np.where(fits, c_lo + u * (c_hi - c_lo), centred)
    return Placement(
        prices=np.exp(c[:, None, :] + x),
        offset=c,
        fits=fits,
        log_range=xmax - xmin,
        band_width=hi - lo,
    )
