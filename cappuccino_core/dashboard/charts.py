"""Server-rendered Plotly figures: each chart is an HTML ``<div>`` plus a small script; plotly.js itself is
served once by the dashboard from the installed ``plotly`` package (no CDN: the machine may be offline)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np

_CONFIG = {"displaylogo": False, "responsive": True}
_LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
    "height": 320,
    "template": "plotly_white",
    "legend": {"orientation": "h", "y": -0.2},
}


@lru_cache(maxsize=1)
def plotly_js() -> bytes:
    """The minified plotly.js bundled with the installed Python package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


@lru_cache(maxsize=1)
def plotly_js_gzip() -> bytes:
    """plotly.js gzipped once (about 1.4 MB of 4.7 MB), not on every request."""
    import gzip

    return gzip.compress(plotly_js(), compresslevel=6, mtime=0)


def to_div(fig: Any) -> str:
    """The figure's ``<div>``; its drawing waits for DOMContentLoaded, so that the page (loading plotly.js
    with ``defer``) shows its numbers before the browser has compiled plotly.js."""
    html: str = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG)
    if html.count("<script>") != 1 or html.count("</script>") != 1:
        raise RuntimeError("unexpected Plotly HTML: expected exactly one inline script")
    return html.replace(
        "<script>", '<script>document.addEventListener("DOMContentLoaded", function () {', 1
    ).replace("</script>", "});</script>", 1)


def _fig(title: str, **layout: Any) -> Any:
    import plotly.graph_objects as go

    return go.Figure(layout={**_LAYOUT, "title": {"text": title, "x": 0.01}, **layout})


def lines(
    title: str,
    x: Sequence[Any],
    series: dict[str, Sequence[float] | np.ndarray],
    y_title: str = "",
    pct: bool = False,
    x_title: str = "",
    markers: bool = False,
) -> str:
    """One line per named series over the same x."""
    import plotly.graph_objects as go

    fig = _fig(title, yaxis={"title": y_title, "tickformat": ".1%" if pct else None},
               xaxis={"title": x_title, "dtick": 1 if markers else None})  # fmt: skip
    for name, y in series.items():
        fig.add_trace(go.Scatter(x=list(x), y=np.asarray(y, dtype=float).tolist(),
                                 mode="lines+markers" if markers else "lines", name=name))  # fmt: skip
    return to_div(fig)


def history(numbers: Sequence[int], values: Sequence[float], best: Sequence[float]) -> str:
    """Optimisation history: each completed trial's objective and the best so far."""
    import plotly.graph_objects as go

    fig = _fig("Optimisation history", xaxis={"title": "trial"}, yaxis={"title": "objective"})
    fig.add_trace(go.Scatter(x=list(numbers), y=list(values), mode="markers", name="trial objective"))
    fig.add_trace(
        go.Scatter(x=list(numbers), y=list(best), mode="lines", name="best so far", line_shape="hv")
    )
    return to_div(fig)


def bars(
    title: str, labels: Sequence[str], values: Sequence[float], x_title: str = "", pct: bool = False
) -> str:
    """Horizontal bars (labels top to bottom in the given order)."""
    import plotly.graph_objects as go

    fig = _fig(title, xaxis={"title": x_title, "tickformat": ".0%" if pct else None},
               height=max(200, 60 + 28 * len(labels)))  # fmt: skip
    fig.add_trace(go.Bar(y=list(labels)[::-1], x=list(values)[::-1], orientation="h"))
    return to_div(fig)


def grouped_bars(
    title: str, groups: dict[str, dict[str, float]], y_title: str = "", pct: bool = False
) -> str:
    """One bar series per group over the union of their categories (e.g. median return by regime)."""
    import plotly.graph_objects as go

    fig = _fig(title, barmode="group", yaxis={"title": y_title, "tickformat": ".1%" if pct else None})
    for name, values in groups.items():
        fig.add_trace(go.Bar(x=list(values), y=list(values.values()), name=name))
    return to_div(fig)


def timeline(title: str, events: Sequence[tuple[datetime, str, str]], categories: Sequence[str]) -> str:
    """Roles over time: one marker per (time, model, role), models on the y axis, coloured by role."""
    import plotly.graph_objects as go

    fig = _fig(
        title,
        yaxis={"title": "", "type": "category"},
        showlegend=True,
        height=max(240, 80 + 26 * len({e[1] for e in events})),
    )
    for role in categories:
        pts = [e for e in events if e[2] == role]
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                     name=role, marker={"size": 11}))  # fmt: skip
    return to_div(fig)
