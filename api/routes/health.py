from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep
from records.db import transaction
from records.jobs import queue_counts

router = APIRouter(tags=["Betrieb"])


@router.get("/health", summary="Zustand der Datenbank, des Dateispeichers und des Suchindex")
async def health(runtime: RuntimeDep) -> JSONResponse:
    def check() -> dict[str, object]:
        backends = {
            "database": runtime.database_state(),
            "blob_store": runtime.blobs.ping(),
            "search_index": runtime.index.ping(),
        }
        ok = all(state.ok for state in backends.values())
        result: dict[str, object] = {
            "status": "ok" if ok else "degraded",
            "backends": {name: asdict(state) for name, state in backends.items()},
        }
        if backends["database"].ok:
            with transaction(runtime.sessions) as session:
                result["jobs"] = queue_counts(session)
        return result

    result = await run_in_threadpool(check)
    return JSONResponse(result, status_code=200 if result["status"] == "ok" else 503)
