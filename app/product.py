"""The whole product as one ASGI application: the API plus the German web pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from api.app import create_app
from app.runtime import build_runtime
from core.config import get_settings
from records.runtime import Runtime
from web.admin_pages import router as admin_router
from web.akte_pages import router as akte_router
from web.aktenauszug_pages import router as aktenauszug_router
from web.catalogue_pages import router as catalogue_router
from web.clearing_pages import router as clearing_router
from web.deputy_pages import router as deputy_router
from web.desk_pages import router as desk_router
from web.destruction_pages import router as destruction_router
from web.disposal_pages import router as disposal_router
from web.errors import error_page
from web.followup_pages import router as followup_router
from web.handover_pages import router as handover_router
from web.inspection_pages import router as inspection_router
from web.legal_dialog_pages import router as legal_dialog_router
from web.legal_pages import router as legal_router
from web.lifecycle_pages import router as lifecycle_router
from web.page_edit_pages import router as page_edit_router
from web.pages import STATIC_DIR, router, templates
from web.privacy_pages import router as privacy_router
from web.request_pages import router as request_router
from web.request_reply_pages import router as request_reply_router
from web.search_pages import router as search_router
from web.security_headers import SecurityHeaders
from web.takeover_pages import router as takeover_router
from web.workplace_pages import router as workplace_router

# Every template escapes what it prints, whatever its file name (Starlette's default decides by
# the extension). Set before any template is loaded: Jinja compiles the setting in.
templates.env.autoescape = True


def create_product_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime(get_settings())
    app = create_app(runtime, error_page=error_page)
    app.include_router(router)
    app.include_router(workplace_router)
    app.include_router(akte_router)
    app.include_router(request_router)
    app.include_router(legal_router)
    app.include_router(legal_dialog_router)
    app.include_router(deputy_router)
    app.include_router(catalogue_router)
    app.include_router(aktenauszug_router)
    app.include_router(desk_router)
    app.include_router(clearing_router)
    app.include_router(page_edit_router)
    app.include_router(search_router)
    app.include_router(admin_router)
    app.include_router(privacy_router)
    app.include_router(lifecycle_router)
    app.include_router(disposal_router)
    app.include_router(destruction_router)  # issue 17, destroy17
    app.include_router(request_reply_router)  # issue 19, replies19
    app.include_router(handover_router)  # issue 18, handover18
    app.include_router(takeover_router)  # issue 18, takeover18
    app.include_router(inspection_router)  # issue 18, audit18
    app.include_router(followup_router)  # issue 19, followup19
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _outermost(app, hsts=runtime.settings.cookie_secure)
    return app


def _outermost(app: FastAPI, *, hsts: bool) -> None:
    """Security headers around everything, Starlette's own 500 answer included: middleware
    added with add_middleware sits inside ServerErrorMiddleware and would miss that one."""
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), hsts=hsts)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
