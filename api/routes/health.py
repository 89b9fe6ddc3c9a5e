from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from api.schemas import HealthOut
from core.db import transaction
from core.errors import NotAuthenticated
from ingest.programs import probe_tools
from records.access import Capability, may
from records.jobs import queue_counts

router = APIRouter(tags=["Betrieb"])


@router.get(
    "/health",
    response_model=HealthOut,
    response_model_exclude_none=True,
    responses={503: {"model": HealthOut, "description": "Ein Backend ist nicht erreichbar"}},
    summary="Zustand der Datenbank, des Dateispeichers und des Suchindex",
)
async def health(request: Request, response: Response, runtime: RuntimeDep) -> HealthOut:
    """Anyone (a load balancer, monitoring) gets the status; the backends, their versions and
    errors and the queue only a logged-in administrator: they describe the installation to an
    attacker."""

    def is_admin() -> bool:
        try:
            return may(current_user(request, runtime), Capability.MASTER_DATA)
        except NotAuthenticated:
            return False

    def check() -> tuple[dict[str, object], int]:
        backends = {
            "database": runtime.database_state(),
            "blob_store": runtime.blobs.ping(),
            "search_index": runtime.index.ping(),
        }
        status = "ok" if all(state.ok for state in backends.values()) else "degraded"
        status_code = 200 if status == "ok" else 503
        # Without a database nobody can be recognised as administrator.
        if not backends["database"].ok or not is_admin():
            return {"status": status}, status_code
        result: dict[str, object] = {
            "status": status,
            "backends": {name: asdict(state) for name, state in backends.items()},
            # The programs the workers need: a web app may run without them, so they do not
            # change the status a load balancer reads.
            "tools": asdict(probe_tools(runtime.settings.ocr_languages)),
        }
        with transaction(runtime.sessions) as session:
            result["jobs"] = queue_counts(session)
        return result, status_code

    result, status_code = await run_in_threadpool(check)
    response.status_code = status_code
    return HealthOut.model_validate(result)
