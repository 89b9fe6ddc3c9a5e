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
from records.index_outbox import pending_index_writes
from records.jobs import queue_counts

router = APIRouter(tags=["Betrieb"])

# Index entries waiting this long make the status "degraded": the fast path after a commit
# takes milliseconds, the drainer runs every few seconds; a minute means the index is behind.
LAG_DEGRADED_SECONDS = 60.0


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
        # issue 20: entries the index still has to catch up on (records.index_outbox). An
        # index that answers but lags is "degraded" with 200: filing, the Postkorb and the
        # files work, only search is behind, and a load balancer must not take the web
        # process out for it; 503 stays for a backend that does not answer.
        pending, oldest = (0, None)
        if backends["database"].ok:
            pending, oldest = pending_index_writes(runtime)
        behind = oldest is not None and oldest >= LAG_DEGRADED_SECONDS
        if behind:
            status = "degraded"
        # Without a database nobody can be recognised as administrator.
        if not backends["database"].ok or not is_admin():
            return {"status": status}, status_code
        index_state = asdict(backends["search_index"])
        if backends["database"].ok:
            index_state["pending_writes"] = pending
            index_state["oldest_pending_seconds"] = round(oldest, 1) if oldest is not None else None
            if behind:
                note = (
                    f"Suchindex holt auf: {pending} Einträge ausstehend, der älteste seit "
                    f"{oldest:.0f} s; neue Dokumente sind abgelegt, aber noch nicht überall "
                    "in der Suche zu finden"
                )
                index_state["detail"] = "; ".join(filter(None, (index_state["detail"], note)))
        result: dict[str, object] = {
            "status": status,
            "backends": {
                name: index_state if name == "search_index" else asdict(state)
                for name, state in backends.items()
            },
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
