"""Indicators by name: TA-Lib over float64 numpy arrays, one asset at a time.

Indicators are found by name in :data:`INDICATORS` (the built-ins below; a new one is one new file in
``cappuccino_core/features/extra_indicators/`` that calls :func:`register_indicator`). Each
:class:`Indicator` declares its parameters (defaults, type, minimum; the only place defaults are written),
its output columns, its warm-up length (TA-Lib's own ``*_Lookback`` where TA-Lib computes it) and a
neutral value per output.
Every output is causal: the value at bar ``t`` reads bars ``<= t`` only.

What each feature is (scale-free, so one model sees BTC at 100k and DOGE at 0.002 alike):

==============  ==============================================  ==========================================
indicator       outputs                                         definition
==============  ==============================================  ==========================================
close           close_logret                                    log(close[t] / close[t-1])
volume          volume_log1p                                    log1p(volume) (z-scored per ticker later)
rsi             rsi                                             TA-Lib RSI, 0..100
macd            macd_rel, macd_signal_rel, macd_hist_rel        TA-Lib MACD outputs / close
cci             cci                                             TA-Lib CCI
dx              dx                                              TA-Lib DX, 0..100
roc             roc                                             TA-Lib ROC, percent
ultosc          ultosc                                          TA-Lib ULTOSC, 0..100 (flat windows: below)
willr           willr                                           TA-Lib WILLR, -100..0 (flat windows: below)
obv             obv_flow                                        (OBV[t] - OBV[t-n]) / SUM(volume, n), -1..1
ht_dcphase      ht_dcphase                                      TA-Lib HT_DCPHASE, degrees
atr             atr_rel                                         TA-Lib ATR / close
bbwidth         bbwidth                                         Bollinger (upper - lower) / middle
adx             adx                                             TA-Lib ADX, 0..100
==============  ==============================================  ==========================================

Why the transforms: MACD and ATR are in price units (BTC's MACD grew 30x with its price), so they are divided
by the close of the same bar. Raw OBV is a running sum whose level depends on where the series starts, so a
model would see different values in training and at inference; ``obv_flow`` is the OBV change over the last
``timeperiod`` bars divided by the volume traded in them: the signed share of volume on up bars, start-free.

Zero ranges (zero-volume flat placeholder bars, forward-filled gaps, long flat runs): TA-Lib 0.8 returns
finite values, but not always neutral ones. Where a whole window is flat (found causally, same bars):

- ``willr``: TA-Lib gives 0 ("at the high"); we set -50 (mid-range).
- ``ultosc``: TA-Lib counts a zero-true-range window's average as 0; we count it as 0.5 (mid-range), so an
  all-flat window gives 50.
- ``rsi``: TA-Lib gives 0 while no price change has been seen since the start; we set 50. (After a move, a
  flat run keeps the last RSI, which is TA-Lib's Wilder smoothing and stays.)
- ``cci``, ``dx``, ``adx``, ``roc``, ``bbwidth``, ``obv_flow``: TA-Lib's (or our) value on a flat window is
  already the neutral 0.

Anything still non-finite after the warm-up (none seen on the real data) is replaced by the output's neutral
value and counted, so a caller can report it. Genuine extreme moves are never clipped here.

Warm-up: TA-Lib's lookback counts only the bars needed before the first defined value. EMA-type indicators
(RSI, MACD, ATR, DX/ADX, HT) also remember their seed, decaying geometrically; give
:func:`~cappuccino_core.features.builder.apply_spec` ``INFERENCE_HISTORY_BARS`` (500) bars of history: on real
1h data the last row then equals the training run's bit for bit (300 bars: within 1e-6; 100: not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import talib
from talib import abstract

from cappuccino_core.common.registry import Registry
from cappuccino_core.features.spec import IndicatorSpec


class BarArrays(NamedTuple):
    """One asset's OHLCV as contiguous float64 arrays of equal length."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_arrays(cls, open, high, low, close, volume) -> BarArrays:
        """Bar arrays as contiguous float64 (ValueError unless all are 1-D of one length)."""
        arrs = [np.ascontiguousarray(a, dtype=np.float64) for a in (open, high, low, close, volume)]
        if len({a.shape for a in arrs}) != 1 or arrs[0].ndim != 1:
            raise ValueError(f"OHLCV arrays must be 1-D of equal length; got {[a.shape for a in arrs]}")
        return cls(*arrs)

    def __len__(self) -> int:  # the number of bars, not the 5 fields
        return int(self.close.shape[0])


@dataclass(frozen=True)
class Param:
    """One indicator parameter: its default (the only place defaults are written), minimum and type."""

    default: int | float
    minimum: float
    kind: type = int


Compute = Callable[[BarArrays, dict[str, Any]], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class Indicator:
    """An indicator: parameters, output columns, neutral values, the computation and its warm-up."""

    name: str
    params: Mapping[str, Param]
    outputs: tuple[str, ...]
    neutral: tuple[float, ...]  # per output: the value for "no information" (flat market)
    compute: Compute
    lookback: Callable[[dict[str, Any]], int]
    check: Callable[[dict[str, Any]], str | None] | None = None  # resolved params -> a problem, or None

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate ``params`` and fill the defaults; ValueError names the indicator and the parameter."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(
                f"indicator {self.name!r}: unknown parameter(s) {unknown}; allowed {sorted(self.params)}"
            )
        out: dict[str, Any] = {}
        for key, p in self.params.items():
            v = params.get(key, p.default)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"indicator {self.name!r}: parameter {key}={v!r} must be a number")
            if p.kind is int:
                if float(v) != int(v):
                    raise ValueError(f"indicator {self.name!r}: parameter {key}={v!r} must be an integer")
                v = int(v)
            else:
                v = float(v)
            if not np.isfinite(v) or v < p.minimum:
                raise ValueError(f"indicator {self.name!r}: parameter {key}={v!r} must be >= {p.minimum}")
            out[key] = v
        problem = self.check(out) if self.check is not None else None
        if problem:
            raise ValueError(f"indicator {self.name!r}: {problem}")
        lb = self.lookback(out)
        if lb < 0:
            raise ValueError(f"indicator {self.name!r}: TA-Lib rejects parameters {out}")
        return out


def _talib_lookback(func: str, **fixed: Any) -> Callable[[dict[str, Any]], int]:
    def lookback(params: dict[str, Any]) -> int:
        f = abstract.Function(func)  # type: ignore[attr-defined]
        f.set_parameters({**params, **fixed})
        return int(f.lookback)

    return lookback


# --- computations -----------------------------------------------------------------------------------


def _close(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    logc = np.log(b.close)
    out = np.empty_like(logc)
    out[0] = np.nan
    np.subtract(logc[1:], logc[:-1], out=out[1:])
    return (out,)


def _volume(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (np.log1p(b.volume),)


def _rsi(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    n = p["timeperiod"]
    out = talib.RSI(b.close, timeperiod=n)
    # No price change since the start: TA-Lib's 0/0 gives 0; neutral is 50.
    moved = b.close != b.close[0]
    first_move = int(np.argmax(moved)) if moved.any() else len(out)
    out[n:first_move] = 50.0
    return (out,)


def _macd(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    outs = talib.MACD(b.close, **p)
    for o in outs:
        np.divide(o, b.close, out=o)
    return tuple(outs)


def _macd_periods(p: dict[str, Any]) -> str | None:
    if p["fastperiod"] >= p["slowperiod"]:
        return f"fastperiod={p['fastperiod']} must be < slowperiod={p['slowperiod']}"
    return None


def _cci(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (talib.CCI(b.high, b.low, b.close, timeperiod=p["timeperiod"]),)


def _dx(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (talib.DX(b.high, b.low, b.close, timeperiod=p["timeperiod"]),)


def _adx(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (talib.ADX(b.high, b.low, b.close, timeperiod=p["timeperiod"]),)


def _roc(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (talib.ROC(b.close, timeperiod=p["timeperiod"]),)


def _ultosc(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    periods = (p["timeperiod1"], p["timeperiod2"], p["timeperiod3"])
    out = talib.ULTOSC(b.high, b.low, b.close, *periods)
    # TA-Lib sorts the periods (shortest weighs 4, then 2, then 1) and counts a window whose true-range sum
    # is zero as average 0; count it as 0.5 (mid-range) instead.
    tr = talib.TRANGE(b.high, b.low, b.close)
    for weight, period in zip((4.0, 2.0, 1.0), sorted(periods), strict=True):
        flat = talib.SUM(tr, timeperiod=period) <= 0.0
        out[flat & ~np.isnan(out)] += 100.0 * weight * 0.5 / 7.0
    return (out,)


def _willr(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    n = p["timeperiod"]
    out = talib.WILLR(b.high, b.low, b.close, timeperiod=n)
    flat = (talib.MAX(b.high, timeperiod=n) - talib.MIN(b.low, timeperiod=n)) <= 0.0
    out[flat] = -50.0
    return (out,)


def _obv(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    n = p["timeperiod"]
    obv = talib.OBV(b.close, b.volume)
    vol = talib.SUM(b.volume, timeperiod=n)[n:]
    out = np.full_like(obv, np.nan)
    flow = out[n:]
    np.subtract(obv[n:], obv[:-n], out=flow)
    traded = vol > 0.0
    np.divide(flow, vol, out=flow, where=traded)
    flow[~traded] = 0.0  # no volume in the window: no flow
    return (out,)


def _ht_dcphase(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return (talib.HT_DCPHASE(b.close),)


def _atr(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    out = talib.ATR(b.high, b.low, b.close, timeperiod=p["timeperiod"])
    return (np.divide(out, b.close, out=out),)


def _bbwidth(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    nb = p["nbdev"]
    upper, middle, lower = talib.BBANDS(
        b.close, timeperiod=p["timeperiod"], nbdevup=nb, nbdevdn=nb, matype=talib.MA_Type.SMA
    )
    np.subtract(upper, lower, out=upper)
    return (np.divide(upper, middle, out=upper),)


INDICATORS: Registry[Indicator] = Registry("indicator", ("cappuccino_core.features.extra_indicators",))


def register_indicator(ind: Indicator) -> Indicator:
    """Register ``ind`` under its name (what a file in features/extra_indicators/ calls)."""
    return INDICATORS.add(ind.name, ind)


_P = Param
for _ind in (
    Indicator("close", {}, ("close_logret",), (0.0,), _close, lambda p: 1),
    Indicator("volume", {}, ("volume_log1p",), (0.0,), _volume, lambda p: 0),
    Indicator("rsi", {"timeperiod": _P(14, 2)}, ("rsi",), (50.0,), _rsi, _talib_lookback("RSI")),
    Indicator(
        "macd",
        {"fastperiod": _P(12, 2), "slowperiod": _P(26, 2), "signalperiod": _P(9, 1)},
        ("macd_rel", "macd_signal_rel", "macd_hist_rel"),
        (0.0, 0.0, 0.0),
        _macd,
        _talib_lookback("MACD"),
        _macd_periods,
    ),
    Indicator("cci", {"timeperiod": _P(14, 2)}, ("cci",), (0.0,), _cci, _talib_lookback("CCI")),
    Indicator("dx", {"timeperiod": _P(14, 2)}, ("dx",), (0.0,), _dx, _talib_lookback("DX")),
    Indicator("roc", {"timeperiod": _P(10, 1)}, ("roc",), (0.0,), _roc, _talib_lookback("ROC")),
    Indicator(
        "ultosc",
        {"timeperiod1": _P(7, 1), "timeperiod2": _P(14, 1), "timeperiod3": _P(28, 1)},
        ("ultosc",),
        (50.0,),
        _ultosc,
        _talib_lookback("ULTOSC"),
    ),
    Indicator("willr", {"timeperiod": _P(14, 2)}, ("willr",), (-50.0,), _willr, _talib_lookback("WILLR")),
    Indicator("obv", {"timeperiod": _P(14, 1)}, ("obv_flow",), (0.0,), _obv, lambda p: p["timeperiod"]),
    Indicator("ht_dcphase", {}, ("ht_dcphase",), (0.0,), _ht_dcphase, _talib_lookback("HT_DCPHASE")),
    Indicator("atr", {"timeperiod": _P(14, 1)}, ("atr_rel",), (0.0,), _atr, _talib_lookback("ATR")),
    Indicator(
        "bbwidth",
        {"timeperiod": _P(20, 2), "nbdev": _P(2.0, 1e-9, float)},
        ("bbwidth",),
        (0.0,),
        _bbwidth,
        lambda p: _talib_lookback("BBANDS")({"timeperiod": p["timeperiod"]}),
    ),
    Indicator("adx", {"timeperiod": _P(14, 2)}, ("adx",), (0.0,), _adx, _talib_lookback("ADX")),
):
    register_indicator(_ind)


def get_indicator(name: str) -> Indicator:
    """The registered indicator ``name``; ValueError (:class:`UnknownName`) lists the known ones."""
    return INDICATORS.get(name)


def resolve_indicators(configs: Sequence[Any]) -> tuple[IndicatorSpec, ...]:
    """Turn configured indicators (objects with ``name``/``params``, or ``(name, params)`` pairs) into specs.

    Parameters are validated and defaults filled in, so the spec records every value used. An indicator
    configured more than once gets its parameter values as a suffix on its outputs (``rsi_14``, ``rsi_28``).
    """
    pairs = [(c.name, c.params) if hasattr(c, "name") else (c[0], c[1]) for c in configs]
    if not pairs:
        raise ValueError("no indicators configured")
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    specs = []
    for name, params in pairs:
        ind = get_indicator(name)
        resolved = ind.resolve(params)
        outputs = ind.outputs
        if counts[name] > 1:
            suffix = "_".join(str(v) for v in resolved.values()) or "dup"
            outputs = tuple(f"{o}_{suffix}" for o in outputs)
        specs.append(IndicatorSpec(name, tuple(sorted(resolved.items())), outputs))
    names = [o for s in specs for o in s.outputs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f"feature name(s) {dups} produced twice: the same indicator configured twice?")
    return tuple(specs)


def indicator_lookback(spec: IndicatorSpec) -> int:
    """Bars an indicator needs before its first defined value."""
    return get_indicator(spec.name).lookback(spec.params_dict())


def warmup_of(specs: Sequence[IndicatorSpec]) -> int:
    """Bars to drop so every output is defined: the longest lookback."""
    return max(indicator_lookback(s) for s in specs)


def check_outputs(spec: IndicatorSpec) -> None:
    """ValueError if the registry no longer produces the outputs a stored spec names."""
    ind = get_indicator(spec.name)
    if len(spec.outputs) != len(ind.outputs):
        raise ValueError(
            f"indicator {spec.name!r}: spec names outputs {list(spec.outputs)}, this code computes "
            f"{list(ind.outputs)}"
        )


def compute_indicator(
    spec: IndicatorSpec, bars: BarArrays, replaced: dict[str, int] | None = None
) -> list[np.ndarray]:
    """The indicator's outputs (float64, length T); NaN only inside its warm-up.

    Non-finite values after the warm-up become the output's neutral value; ``replaced`` (if given) counts
    them per output name.
    """
    ind = get_indicator(spec.name)
    params = spec.params_dict()
    outs = ind.compute(bars, params)
    lb = ind.lookback(params)
    result = []
    for name, out, neutral in zip(spec.outputs, outs, ind.neutral, strict=True):
        out = np.asarray(out, dtype=np.float64)
        bad = ~np.isfinite(out[lb:])
        if bad.any():
            out[lb:][bad] = neutral
            if replaced is not None:
                replaced[name] = replaced.get(name, 0) + int(bad.sum())
        result.append(out)
    return result


def compute_columns(
    bars: BarArrays, specs: Sequence[IndicatorSpec], replaced: dict[str, int] | None = None
) -> list[np.ndarray]:
    """All outputs of ``specs`` for one asset, one float64 array of length T per feature, un-normalised."""
    return [col for spec in specs for col in compute_indicator(spec, bars, replaced)]


def compute_features(
    bars: BarArrays, specs: Sequence[IndicatorSpec], replaced: dict[str, int] | None = None
) -> np.ndarray:
    """All outputs of ``specs`` for one asset as a (T, F) float64 array, un-normalised.

    Rows before :func:`warmup_of` may hold NaN; every later row is finite.
    """
    cols = compute_columns(bars, specs, replaced)
    return np.stack(cols, axis=1) if cols else np.empty((len(bars), 0))
