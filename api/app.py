"""The FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from api.csrf import CrossSiteGuard
from api.errors import PageRenderer, install_error_handlers
from api.limits import BodySizeLimit
from api.metrics import RequestMetrics
from api.metrics import router as metrics_router
from api.origin import AuditOrigin
from api.routes import (
    auth,
    clearing,
    desk,
    documents,
    exports,
    health,
    objections,
    pages,
    search,
    sso,
    viewer,
    workplace,
)
from records.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, error_page: PageRenderer | None = None) -> FastAPI:
    """The API; with `error_page`, errors of requests that want a page are answered with one."""
    settings = runtime.settings
    # The API description names every route and field; off unless asked for (on in demo mode).
    docs = settings.api_docs if settings.api_docs is not None else settings.demo
    app = FastAPI(
        title="E-Akte Jobcenter",
        description="Elektronische Akte mit Scanstraße für kommunale Jobcenter (SGB II).",
        version="0.1.0",
        # FastAPI's HTML viewers load their scripts from a CDN and inline: the CSP (rightly)
        # blocks them, so only the machine-readable description is served.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.runtime = runtime

    install_error_handlers(app, error_page)

    routers = (
        health.router,
        auth.router,
        documents.router,
        pages.router,  # page editing (issue 15)
        desk.router,
        viewer.router,  # before clearing: its /pages/{n}/{rendition} would take /words
        clearing.router,
        workplace.router,
        objections.router,
        exports.router,
        search.router,
        sso.router,  # single sign-on (issue 16)
        metrics_router,  # /metrics (issue 20, metrics20)
    )
    for router in routers:
        app.include_router(router)
    app.add_middleware(AuditOrigin)
    # Added last, so it runs first: a forged request is refused before its body is read.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_json_kb * 1024,
        max_upload_bytes=settings.max_upload_bytes,
        page=error_page,
    )
    app.add_middleware(CrossSiteGuard, trusted_origins=settings.trusted_origins, page=error_page)
    # issue 20, metrics20: outermost of these, so refused requests are timed and logged too.
    app.add_middleware(RequestMetrics)
    return app
