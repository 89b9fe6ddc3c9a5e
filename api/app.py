"""The FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.csrf import CrossSiteGuard
from api.errors import error_body
from api.limits import BodySizeLimit
from api.origin import AuditOrigin
from api.routes import (
    auth,
    clearing,
    desk,
    documents,
    exports,
    health,
    objections,
    search,
    viewer,
    workplace,
)
from records.errors import EAkteError
from records.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> FastAPI:
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

    @app.exception_handler(EAkteError)
    async def _domain_error(_request: Request, exc: EAkteError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        headers = None
        retry_after = exc.details.get("retry_after")
        if isinstance(retry_after, int):
            headers = {"Retry-After": str(retry_after)}
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'Anfrage'}: {err['msg']}"
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body(
                "invalid_request",
                "Die Anfrage ist unvollständig oder fehlerhaft.",
                problems=problems,
            ),
            status_code=422,
        )

    routers = (
        health.router,
        auth.router,
        documents.router,
        desk.router,
        viewer.router,  # before clearing: its /pages/{n}/{rendition} would take /words
        clearing.router,
        workplace.router,
        objections.router,
        exports.router,
        search.router,
    )
    for router in routers:
        app.include_router(router)
    app.add_middleware(AuditOrigin)
    # Added last, so it runs first: a forged request is refused before its body is read.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_json_kb * 1024,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(CrossSiteGuard, trusted_origins=settings.trusted_origins)
    return app
