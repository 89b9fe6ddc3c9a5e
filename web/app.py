"""The whole product as one ASGI application: the API plus the German web pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.app import create_app
from records.config import get_settings
from records.runtime import Runtime, build_runtime
from web.legal_pages import router as legal_router
from web.pages import router
from web.workplace_pages import router as workplace_router

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_product_app(runtime: Runtime | None = None) -> FastAPI:
    app = create_app(runtime or build_runtime(get_settings()))
    app.include_router(router)
    app.include_router(workplace_router)
    app.include_router(legal_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
