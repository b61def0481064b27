"""The scenario set: frozen regime mix and seeds, macro paths, hourly price paths, bands; versioned.

Frozen and published (CGE.md section 5): scenario k (0-based) has the regime given by :func:`interleave`
(regimes spread evenly through the ids, so any prefix of the set has roughly the full mix) and the seed
``SeedSequence([base_seed, k]).generate_state(1, uint64)[0]``. From that seed, three independent streams
(``SeedSequence(seed).spawn(3)``) drive the macro shocks, the hourly shocks and the band offsets. A scenario
can be regenerated alone from (regime, seed); the set is identical bit for bit whatever the number of
workers. The set's identity is ``<version>-<config hash>``; its content hash covers the data files' bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np

from cappuccino_core.cge.bands import place_in_bands
from cappuccino_core.cge.calibrate import Calibration, calibrate
from cappuccino_core.cge.dynamics import draw_shocks, simulate_macro
from cappuccino_core.cge.garch_fit import HourlyCalibration, base_asset
from cappuccino_core.cge.hourly import AssetArrays, anchor_path, simulate_batch
from cappuccino_core.cge.regimes import REGIME_PARAMS, REGIMES, allocate_mix, regime
from cappuccino_core.cge.solver import SolveStats

MODEL_REVISION = 2  # bump when the code changes what a given configuration produces
CHUNK = 25  # scenarios per vectorised batch (fixed: the output never depends on it or on the workers)


def interleave(counts: dict[str, int]) -> list[str]:
    """Regime of each scenario id: regime r's j-th scenario sits at position (j + 0.5) / n_r, ties broken in
    REGIMES order. 80/40/50/30 gives normal, bear, bull, crisis, normal, bear, ... evenly spread."""
    keyed = [((j + 0.5) / n, REGIMES.index(r), r) for r, n in counts.items() for j in range(n)]
    return [r for _, _, r in sorted(keyed)]


def scenario_seed(base_seed: int, scenario_id: int) -> int:
    """The seed of one scenario, independent of the others (``SeedSequence([base_seed, scenario_id])``)."""
    return int(np.random.SeedSequence([base_seed, scenario_id]).generate_state(1, np.uint64)[0])


def scenario_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """(macro, hourly, bands) generators of one scenario."""
    m, h, b = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(m), np.random.default_rng(h), np.random.default_rng(b)


@dataclass(frozen=True)
class SetSpec:
    """Everything that determines a scenario set's content."""

    version: str
    n_scenarios: int
    mix: dict[str, int]  # allocated counts, summing to n_scenarios
    base_seed: int
    quarters: int
    hours: int
    tickers: tuple[str, ...]
    bands: tuple[tuple[float, float], ...]  # per ticker
    calibration: HourlyCalibration = field(repr=False)
    cal: Calibration = field(repr=False)
    tol: float = 1e-6
    homotopy_steps: int = 10
    clock_start: str = "2001-01-01T00:00:00+00:00"

    @property
    def regimes(self) -> list[str]:
        """The regime of each scenario, in id order (the mix interleaved)."""
        return interleave(self.mix)

    def seed(self, scenario_id: int) -> int:
        """The seed of one scenario."""
        return scenario_seed(self.base_seed, scenario_id)

    def identity(self) -> dict[str, Any]:
        """Everything that determines the set's content, JSON-ready (the input of the config hash)."""
        return {
            "version": self.version,
            "model_revision": MODEL_REVISION,
            "n_scenarios": self.n_scenarios,
            "regime_mix": self.mix,
            "base_seed": self.base_seed,
            "quarters": self.quarters,
            "hours": self.hours,
            "tickers": list(self.tickers),
            "bands": [list(b) for b in self.bands],
            "calibration_hash": self.calibration.content_hash(),
            "cge_hash": self.cal.content_hash(),
            "regime_params": {k: v.to_dict() for k, v in REGIME_PARAMS.items()},
            "tol": self.tol,
            "homotopy_steps": self.homotopy_steps,
            "clock_start": self.clock_start,
        }

    def config_hash(self) -> str:
        """sha256 of :meth:`identity`."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()

    @property
    def dirname(self) -> str:
        """The set's folder name, ``{version}-{config hash[:12]}``."""
        return f"{self.version}-{self.config_hash()[:12]}"


def make_spec(
    *,
    tickers: Sequence[str],
    bands: dict[str, tuple[float, float]],
    calibration: HourlyCalibration,
    version: str = "cge-1",
    n_scenarios: int = 200,
    regime_mix: dict[str, int] | None = None,
    base_seed: int = 20250701,
    quarters: int = 4,
    hours: int = 8760,
    tol: float = 1e-6,
    homotopy_steps: int = 10,
    clock_start: str = "2001-01-01T00:00:00+00:00",
    cal: Calibration | None = None,
) -> SetSpec:
    """A :class:`SetSpec`, checked: every ticker needs a price band; the regime mix defaults to
    ``DEFAULT_MIX``."""
    from cappuccino_core.cge.regimes import DEFAULT_MIX

    missing = [t for t in tickers if base_asset(t) not in bands]
    if missing:
        raise ValueError(
            f"no price band for {missing}; add cge.bands entries for {[base_asset(t) for t in missing]}"
        )
    if not calibration.covers(tuple(tickers)):
        raise ValueError(f"hourly calibration lacks {[t for t in tickers if t not in calibration.assets]}")
    return SetSpec(
        version=version,
        n_scenarios=n_scenarios,
        mix=allocate_mix(regime_mix or DEFAULT_MIX, n_scenarios),
        base_seed=base_seed,
        quarters=quarters,
        hours=hours,
        tickers=tuple(tickers),
        bands=tuple(tuple(map(float, bands[base_asset(t)])) for t in tickers),  # type: ignore[misc]
        calibration=calibration,
        cal=cal or calibrate(),
        tol=tol,
        homotopy_steps=homotopy_steps,
        clock_start=clock_start,
    )


@dataclass
class Batch:
    """Simulated scenarios: ids, macro paths, prices and band placement, plus solver statistics."""

    ids: np.ndarray  # (S,)
    macro: np.ndarray  # (S, Q+1, len(MACRO_COLUMNS))
    prices: np.ndarray  # (S, H+1, N)
    offset: np.ndarray  # (S, N)
    fits: np.ndarray  # (S, N) bool
    log_range: np.ndarray  # (S, N)
    converged: np.ndarray  # (S,) bool
    methods: np.ndarray  # (S, 3) counts of direct / homotopy / failed quarters
    stats: SolveStats

    @staticmethod
    def concat(parts: list[Batch]) -> Batch:
        """Batches joined in order (solver statistics merged)."""
        stats = SolveStats()
        for p in parts:
            stats.merge(p.stats)
        arrays = ("ids", "macro", "prices", "offset", "fits", "log_range", "converged", "methods")
        return Batch(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in arrays}, stats=stats)


def simulate_ids(spec: SetSpec, ids: Sequence[int]) -> Batch:
    """Simulate the given scenario ids in one vectorised batch (macro solves, hourly layer, bands)."""
    regimes_all = spec.regimes
    aa = AssetArrays.from_calibration(spec.calibration, spec.tickers)
    bands = np.array(spec.bands)
    stats = SolveStats()
    macro, anchors, hourly_rngs, regs, u, conv, methods = [], [], [], [], [], [], []
    for sid in ids:
        R = regime(regimes_all[sid])
        rng_m, rng_h, rng_b = scenario_streams(spec.seed(sid))
        mp = simulate_macro(
            spec.cal, R, draw_shocks(rng_m, spec.quarters), tol=spec.tol, homotopy_steps=spec.homotopy_steps
        )
        stats.merge(mp.stats)
        macro.append(mp.values)
        anchors.append(anchor_path(mp.ln_pc, spec.hours))
        hourly_rngs.append(rng_h)
        regs.append(R)
        u.append(rng_b.random(aa.n))
        conv.append(mp.converged)
        methods.append((mp.stats.direct, mp.stats.homotopy, mp.stats.failed))
    x = simulate_batch(np.array(anchors), regs, hourly_rngs, aa)
    placed = place_in_bands(x, bands, np.array(u))
    return Batch(
        ids=np.asarray(ids, dtype=np.int64),
        macro=np.array(macro),
        prices=placed.prices,
        offset=placed.offset,
        fits=placed.fits,
        log_range=placed.log_range,
        converged=np.array(conv, dtype=bool),
        methods=np.array(methods, dtype=np.int64).reshape(-1, 3),
        stats=stats,
    )


def simulate_set(spec: SetSpec, *, workers: int = 1, progress: Callable[[int], None] | None = None) -> Batch:
    """Every scenario of the set, in CHUNK-sized batches over ``workers`` processes."""
    chunks = [list(range(s, min(s + CHUNK, spec.n_scenarios))) for s in range(0, spec.n_scenarios, CHUNK)]
    parts: list[Batch] = []
    if workers <= 1 or len(chunks) == 1:
        for ids in chunks:
            parts.append(simulate_ids(spec, ids))
            if progress:
                progress(len(ids))
    else:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(chunks)), mp_context=get_context("spawn")
        ) as ex:
            futures = [ex.submit(simulate_ids, spec, ids) for ids in chunks]
            for fut, ids in zip(futures, chunks, strict=True):
                parts.append(fut.result())
                if progress:
                    progress(len(ids))
    return Batch.concat(parts)


def summary(spec: SetSpec, batch: Batch) -> dict[str, Any]:
    """Solver statistics and band-flag rates: reported in the manifest, never hidden."""
    regs = np.array(spec.regimes)[batch.ids]
    flagged = ~batch.fits
    return {
        "solver": batch.stats.to_dict(),
        "scenarios_not_converged": int((~batch.converged).sum()),
        "band_flag_rate": float(flagged.mean()),
        "band_flag_rate_by_regime": {
            r: float(flagged[regs == r].mean()) for r in REGIMES if (regs == r).any()
        },
        "band_flag_rate_by_ticker": {t: float(flagged[:, k].mean()) for k, t in enumerate(spec.tickers)},
    }


def manifest(spec: SetSpec, batch: Batch) -> dict[str, Any]:
    """The set's manifest: its spec, library versions, solver statistics and band-flag rates."""
    import arch
    import pyarrow
    import scipy

    return {
        **spec.identity(),
        "config_hash": spec.config_hash(),
        "regime_order": "interleaved: regime r's j-th scenario at position (j + 0.5) / n_r",
        "seed_rule": "seed_k = SeedSequence([base_seed, k]).generate_state(1, uint64)[0]; streams "
        "SeedSequence(seed_k).spawn(3) -> macro, hourly, bands",
        "model_params": spec.cal.params.to_dict(),
        "calibration_window": [spec.calibration.window_start, spec.calibration.window_end],
        "libraries": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "arch": arch.__version__,
            "pyarrow": pyarrow.__version__,
        },
        **summary(spec, batch),
    }
