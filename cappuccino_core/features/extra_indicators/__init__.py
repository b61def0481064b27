"""Indicators beyond the built-in TA-Lib set: one file each, calling ``indicators.register_indicator``.

Example (``cappuccino_core/features/extra_indicators/range_rel.py``)::

    from cappuccino_core.features.indicators import Indicator, Param, register_indicator

    def _range_rel(bars, params):
        return ((bars.high - bars.low) / bars.close,)

    register_indicator(Indicator("range_rel", {}, ("range_rel",), (0.0,), _range_rel, lambda p: 0))

``features.indicators`` then accepts ``{name: range_rel}``; the output column is ``range_rel``.
"""
