"""The backtest report's HTML page: the metrics, strategies, trades and per-asset tables around the plots.

:func:`render_html` turns the report's JSON document (see :mod:`cappuccino_core.backtest.report`) into one
self-contained page (plots embedded as base64 PNG, each linked to its file). Formatting only: every number
comes from the document.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cappuccino_core.metrics import PerformanceSummary

_PCT, _SHARE, _RATIO, _INT, _MONEY, _PLAIN = "pct", "share", "ratio", "int", "money", "plain"

_ROWS: list[tuple[str, str, str]] = [
    ("Total return", "total_return", _PCT),
    ("Annual return (CAGR)", "annual_return", _PCT),
    ("Annual volatility", "annual_volatility", _SHARE),
    ("Sharpe (annualised)", "sharpe", _RATIO),
    ("Sortino (annualised)", "sortino", _RATIO),
    ("Sharpe per bar", "sharpe_per_bar", _RATIO),
    ("PSR: P(true Sharpe > 0)", "psr", _SHARE),
    ("Max drawdown", "max_drawdown", _PCT),
    ("Max drawdown duration (bars)", "max_drawdown_duration_bars", _INT),
    ("Calmar", "calmar", _RATIO),
    ("Bar win rate", "bar_win_rate", _SHARE),
    ("Skewness", "skew", _RATIO),
    ("Kurtosis (normal = 3)", "kurtosis", _RATIO),
    ("Start equity", "start_equity", _MONEY),
    ("End equity", "end_equity", _MONEY),
    ("Bars", "n_bars", _INT),
]
_BENCH_ROWS = {"total_return", "annual_return", "sharpe", "max_drawdown"}

_TRADE_ROWS: list[tuple[str, str, str]] = [
    ("Fills (buys / sells)", "n_fills", _INT),
    ("Closed round trips (FIFO)", "n_round_trips", _INT),
    ("Round-trip win rate", "trade_win_rate", _SHARE),
    ("Realised P&L, net of fees", "realized_pnl", _MONEY),
    ("Fees paid", "fees_paid", _MONEY),
    ("  maker / taker", "maker_fees", _MONEY),
    ("Traded notional", "traded_notional", _MONEY),
    ("Turnover (notional / mean equity)", "turnover", _RATIO),
    ("Turnover per year", "annualized_turnover", _RATIO),
]


def _fmt(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if kind == _PCT:
        return f"{100 * float(v):+.2f}%"
    if kind == _SHARE:
        return f"{100 * float(v):.2f}%"
    if kind == _RATIO:
        return f"{float(v):.3f}"
    if kind == _INT:
        return f"{int(v):,d}"
    if kind == _MONEY:
        return f"{float(v):,.2f}"
    return html.escape(str(v))


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (
        f'<figure><a href="{name}"><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></a>'
        f'<figcaption><a href="{name}">{name}</a></figcaption></figure>'
    )


_STRATEGY_COLS: list[tuple[str, str, str]] = [
    ("total return", "total_return", _PCT),
    ("Sharpe", "sharpe", _RATIO),
    ("max drawdown", "max_drawdown", _PCT),
    ("turnover / year", "turnover_per_year", _RATIO),
    ("fees / starting equity", "fees_share", _SHARE),
    ("fills", "fills", _INT),
]


def _strategies_html(rows: Mapping[str, Any], own: Mapping[str, Any]) -> str:
    """The strategies to beat on this window, best Sharpe first, with this policy's row on top."""
    if not rows:
        return ""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c, _, _ in _STRATEGY_COLS)
    trades = own.get("trades") or {}
    mine = {
        "total_return": own.get("total_return"),
        "sharpe": own.get("sharpe"),
        "max_drawdown": own.get("max_drawdown"),
        "turnover_per_year": trades.get("annualized_turnover"),
        "fees_share": (trades.get("fees_paid") or 0.0) / own["start_equity"]
        if own.get("start_equity")
        else None,
        "fills": trades.get("n_fills", 0),
    }
    body = [
        "<tr><th><b>this policy</b></th>"
        + "".join(f"<td><b>{_fmt(mine.get(k), kind)}</b></td>" for _, k, kind in _STRATEGY_COLS)
        + "<td></td></tr>"
    ]

    def key(item: tuple[str, Any]) -> float:
        v = item[1].get("sharpe")
        return -float(v) if isinstance(v, (int, float)) and math.isfinite(float(v)) else math.inf

    for _, r in sorted(rows.items(), key=key):
        params = r.get("params") or "-"
        if r.get("fitted") is False:
            params += " (default: no history to fit on)"
        body.append(
            f"<tr><th>{esc(str(r.get('label')))}</th>"
            + "".join(f"<td>{_fmt(r.get(k), kind)}</td>" for _, k, kind in _STRATEGY_COLS)
            + f"<td>{esc(params)}</td></tr>"
        )
    return (
        "<h2>Strategies to beat (same window, same kernel, costs and order rules)</h2>"
        f"<table><thead><tr><th></th>{head}<th>parameters</th></tr></thead><tbody>{''.join(body)}</tbody>"
        '</table><p class="note">Parameters fitted on the bars before the window (best Sharpe after costs '
        "over each strategy's grid). Buy-and-hold rows are exempt from the position cap and cash reserve. "
        "Turnover: traded notional (both legs) / mean equity, per year.</p>"
    )


def _metrics_html(s: dict[str, Any]) -> str:
    """The performance table: the strategy's figures beside each benchmark's."""
    benches = s.get("benchmarks") or {}
    esc = html.escape
    head = "".join(f"<th>{esc(n)}</th>" for n in benches)
    rows = []
    for label, key, kind in _ROWS:
        cells = "".join(
            f"<td>{_fmt(benches[n].get(key), kind) if key in _BENCH_ROWS else ''}</td>" for n in benches
        )
        rows.append(f"<tr><th>{esc(label)}</th><td>{_fmt(s.get(key), kind)}</td>{cells}</tr>")
    for label, key, kind in (("Alpha (CAGR difference)", "alpha", _PCT), ("Beta", "beta", _RATIO)):
        cells = "".join(f"<td>{_fmt(benches[n].get(key), kind)}</td>" for n in benches)
        rows.append(f"<tr><th>{esc(label)}</th><td></td>{cells}</tr>")
    return (
        f"<table><thead><tr><th></th><th>strategy</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _trades_html(tr: dict[str, Any] | None) -> str:
    """The trade ledger's totals, or a line saying there was none."""
    if not tr:
        return "<p>No trade ledger was given.</p>"
    trows = []
    for label, key, kind in _TRADE_ROWS:
        val = _fmt(tr.get(key), kind)
        if key == "n_fills":
            val += f" ({_fmt(tr.get('n_buys'), _INT)} / {_fmt(tr.get('n_sells'), _INT)})"
        if key == "maker_fees":
            val += f" / {_fmt(tr.get('taker_fees'), _MONEY)}"
        trows.append(f"<tr><th>{html.escape(label)}</th><td>{val}</td></tr>")
    return f"<table><tbody>{''.join(trows)}</tbody></table>"


_ASSET_COLS = (
    ("fills", _INT),
    ("buys", _INT),
    ("sells", _INT),
    ("notional", _MONEY),
    ("fees", _MONEY),
    ("maker_fees", _MONEY),
    ("taker_fees", _MONEY),
    ("round_trips", _INT),
    ("win_rate", _SHARE),
    ("realized_pnl", _MONEY),
    ("open_quantity", _PLAIN),
)


def _assets_html(per_asset: dict[str, Any]) -> str:
    """The per-asset table (empty without per-asset figures)."""
    if not per_asset:
        return ""
    esc = html.escape
    header = "".join(f"<th>{esc(c.replace('_', ' '))}</th>" for c, _ in _ASSET_COLS)
    body = "".join(
        f"<tr><th>{esc(a)}</th>" + "".join(f"<td>{_fmt(st.get(c), k)}</td>" for c, k in _ASSET_COLS) + "</tr>"
        for a, st in per_asset.items()
    )
    return (
        f"<h2>Per asset</h2><table><thead><tr><th>asset</th>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def render_html(
    doc: dict[str, Any],
    summary: PerformanceSummary,
    per_asset: dict[str, Any],
    pngs: dict[str, Path],
    metrics_name: str,
) -> str:
    """The report page for ``doc`` (its ``summary`` for the annualisation note), ``per_asset`` figures and
    the ``pngs`` to embed (name -> file); ``metrics_name`` is the metrics JSON the page links to."""
    s = doc["summary"]
    esc = html.escape
    metrics_table = _metrics_html(s)
    trade_html = _trades_html(s.get("trades"))
    asset_html = _assets_html(per_asset)
    strat_html = _strategies_html(doc.get("strategies") or {}, s)

    meta = doc.get("metadata") or {}
    meta_html = ""
    if meta:
        mrows = "".join(
            f"<tr><th>{esc(str(k))}</th><td>{esc(json.dumps(v) if not isinstance(v, str) else v)}</td></tr>"
            for k, v in meta.items()
        )
        meta_html = f"<h2>Run</h2><table><tbody>{mrows}</tbody></table>"

    plots = "".join(_img(p, name) for name, p in pngs.items())
    tf = esc(str(doc["timeframe"]))
    conventions = (
        "Returns are relative changes of total equity (cash + holdings at the bar close). Sharpe and "
        f"Sortino are annualised with sqrt({summary.bars_per_year:g}) bars per year for the {tf} timeframe, "
        "sample std (ddof=1), risk-free 0 unless stated. Sortino's downside deviation is "
        "sqrt(mean(min(r, 0)^2)) over all bars. Drawdowns are negative fractions of the running peak. "
        "Alpha is the annualised return (CAGR) difference; benchmarks buy equal dollar amounts (or BTC "
        "alone) at the first bar and hold. A round trip is one sell fill matched FIFO against earlier buys, "
        "net of fees."
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(doc["title"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }}
th, td {{ padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }}
tbody th {{ text-align: left; font-weight: 500; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
.note {{ color: #555; font-size: 0.85em; }}
</style></head><body>
<h1>{esc(doc["title"])}</h1>
<p>{esc(doc["start"])} to {esc(doc["end"])} (UTC), {summary.n_bars:,d} bars of {esc(str(doc["timeframe"]))}.
Generated {esc(doc["generated_at"])}. Figures: <a href="{metrics_name}">{metrics_name}</a>.</p>
<h2>Performance</h2>
{metrics_table}
{strat_html}
<h2>Trades</h2>
{trade_html}
{asset_html}
<h2>Plots</h2>
{plots}
{meta_html}
<p class="note">{conventions}</p>
</body></html>
"""
