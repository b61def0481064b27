"""The dashboard web app (FastAPI + Jinja2, charts by Plotly): five read-only pages and one control, the
emergency stop. ``create_app(settings)`` builds it; ``cappuccino dashboard`` serves it with uvicorn.

A page is made of sections; a section whose source fails renders the error in its place (the page still
answers 200), and an empty store renders "nothing yet" messages.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cappuccino_core.config import Settings
from cappuccino_core.dashboard import charts, pages
from cappuccino_core.dashboard.health import ControlRefused, set_emergency_stop
from cappuccino_core.dashboard.sources import Sources
from cappuccino_core.notify.notifier import notifier_from_settings

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
PAGES = (("training", "Training"), ("gates", "Gates"), ("arena", "Arena"), ("trading", "Trading"),
         ("health", "Health"))  # fmt: skip


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return "-" if x != x else f"{x:,.{nd}f}"
    return str(x)


def _pct(x: Any, nd: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and x != x) else f"{100 * float(x):.{nd}f}%"


def _param(value: Any) -> str:
    """A stored hyperparameter for display: 0.00030000000000000003 -> 0.0003 (4 significant digits)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(value) if x.is_integer() and "." not in str(value) else f"{x:.4g}"


def _dt(x: datetime | None) -> str:
    return "-" if x is None else f"{x:%Y-%m-%d %H:%M:%S}"


def _detail(d: dict[str, Any]) -> str:
    """A heartbeat's detail; ``bar`` (epoch ns, as the trader sends it) as a UTC time."""
    parts = []
    for k, v in d.items():
        if k == "bar" and isinstance(v, int):
            v = f"{datetime.fromtimestamp(v / 1e9, UTC):%Y-%m-%d %H:%M}"
        parts.append(f"{k}={v}")
    return ", ".join(parts)


def section(name: str, build: Callable[[], Any]) -> tuple[Any, str | None]:
    """(value, None) or (None, the error) when the source failed: the page renders the error there."""
    try:
        return build(), None
    except Exception as exc:  # a broken source must not take the page down
        log.exception("dashboard section %s failed", name)
        return None, f"{name}: {type(exc).__name__}: {exc}"


def warm_up(app: FastAPI) -> float:
    """Gather every page twice before serving (imports MLflow, Optuna, Plotly; fits the importance once),
    so that the first visitor does not wait for it; returns the seconds it took."""
    t0 = time.perf_counter()
    src: Sources = app.state.sources
    for _ in range(2):
        for name, build in _BUILDERS.items():
            section(name, lambda b=build: b(src))  # type: ignore[misc]
    charts.plotly_js_gzip()
    return time.perf_counter() - t0


_BUILDERS: dict[str, Callable[[Sources], Any]] = {
    "training": pages.training, "gates": pages.gates, "arena": pages.arena, "trading": pages.trading,
    "health": pages.health,
}  # fmt: skip


Render = Callable[..., HTMLResponse]


def create_app(settings: Settings) -> FastAPI:
    """The dashboard over the stores ``settings`` names."""
    src = Sources(settings)
    notifier = functools.cache(lambda: notifier_from_settings(settings))  # the operators hear of a stop
    app = FastAPI(title="Cappuccino dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sources = src
    app.add_middleware(GZipMiddleware, minimum_size=2048)  # plotly.js: 4.7 MB, about 1.4 MB gzipped
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters.update(
        fmt=_fmt, pct=_pct, dt=_dt, detail=_detail, param=_param, short=lambda s: (s or "")[:12]
    )
    render = _renderer(templates)
    _add_static_routes(app)
    _add_page_routes(app, src, render)
    _add_control_routes(app, src, render, notifier)
    return app


def _renderer(templates: Jinja2Templates) -> Render:
    """The page renderer: the template with the navigation, the time and its own render time."""

    def render(
        request: Request, page: str, ctx: dict[str, Any], t0: float, status: int = 200
    ) -> HTMLResponse:
        ctx = {"pages": PAGES, "page": page, "now": datetime.now(UTC), **ctx}
        ctx["render_ms"] = 1000 * (time.perf_counter() - t0)
        resp = templates.TemplateResponse(request, f"{page}.html", ctx, status_code=status)
        resp.headers["Server-Timing"] = f"app;dur={ctx['render_ms']:.1f}"
        return resp

    return render


def _add_static_routes(app: FastAPI) -> None:
    """Register the index redirect and the bundled plotly.js."""

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/training")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js(request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = charts.plotly_js_gzip(), "gzip"
        else:
            body = charts.plotly_js()
        return Response(body, media_type="application/javascript", headers=headers)


def _add_page_routes(app: FastAPI, src: Sources, render: Render) -> None:
    """Register the five read-only pages."""

    @app.get("/training", response_class=HTMLResponse)
    def training(request: Request, study: str | None = None) -> HTMLResponse:
        t0 = time.perf_counter()
        view, error = section("training", lambda: pages.training(src, study))
        return render(request, "training", {"p": view, "error": error}, t0)

    @app.get("/gates", response_class=HTMLResponse)
    def gates(request: Request) -> HTMLResponse:
        t0 = time.perf_counter()
        view, error = section("gates", lambda: pages.gates(src))
        return render(request, "gates", {"p": view, "error": error}, t0)

    @app.get("/arena", response_class=HTMLResponse)
    def arena(request: Request) -> HTMLResponse:
        t0 = time.perf_counter()
        view, error = section("arena", lambda: pages.arena(src))
        return render(request, "arena", {"p": view, "error": error}, t0)

    @app.get("/trading", response_class=HTMLResponse)
    def trading(request: Request, account: str | None = None) -> HTMLResponse:
        t0 = time.perf_counter()
        view, error = section("trading", lambda: pages.trading(src, account))
        return render(request, "trading", {"p": view, "error": error}, t0)

    @app.get("/health", response_class=HTMLResponse)
    def health(request: Request, msg: str | None = None) -> HTMLResponse:
        t0 = time.perf_counter()
        view, error = section("health", lambda: pages.health(src))
        return render(request, "health", {"p": view, "error": error, "msg": msg}, t0)


def _add_control_routes(app: FastAPI, src: Sources, render: Render, notifier: Callable[[], Any]) -> None:
    """Register the one control: the emergency stop (set or lift)."""

    @app.post("/health/emergency-stop", response_model=None)
    async def emergency_stop(request: Request) -> Response:
        """The form's fields (urlencoded): action (stop | resume), token, reason, flatten."""
        t0 = time.perf_counter()
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        action = form.get("action", "")
        if action not in ("stop", "resume"):
            return Response(f"action must be stop or resume, got {action!r}", status_code=400)
        try:
            flatten = form.get("flatten", "") in ("true", "on", "1")
            stop = action == "stop"
            st = set_emergency_stop(
                src.store, stop, form.get("token", ""), form.get("reason", ""), flatten, notifier=notifier()
            )
        except ControlRefused as exc:
            view, error = section("health", lambda: pages.health(src))
            ctx = {"p": view, "error": error, "msg": f"refused: {exc}", "refused": True}
            return render(request, "health", ctx, t0, status=403)
        msg = (
            ("emergency stop SET" + (" (flatten)" if st.flatten else ""))
            if st.stopped
            else "emergency stop lifted"
        )
        return RedirectResponse(f"/health?msg={quote(msg)}", status_code=303)
