"""`/metrics` in Prometheus' text format, and the middleware that times every request (issue 20).

Who may scrape: only a client that sends `Authorization: Bearer <EAKTE_METRICS_TOKEN>`; without
a configured token the endpoint does not exist (404). The counters come from core.metrics (all
processes of `eakte serve` in multiprocess mode); the job queue is read from the database at
scrape time, one short read-only query.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Iterable, Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import RuntimeDep
from core import metrics
from core.config import read_secret
from core.db import transaction, utcnow
from core.errors import NotAuthenticated, NotFound
from core.logs import bind_request, route_template, unbind_request
from ingest.worker import HANDLERS
from records import index_outbox
from records.metrics_queries import OPEN_STATES, queue_state

router = APIRouter(tags=["Betrieb"])

# A request no route took (an unknown address): its path is not a label, it could be anything.
UNMATCHED = "unmatched"
REQUEST_ID_HEADER = "x-request-id"


class QueueCollector(Collector):
    """The job queue at scrape time: open jobs per kind and state, and the age of the oldest."""

    def __init__(self, sessions: sessionmaker[Session], kinds: Iterable[str]) -> None:
        self.sessions = sessions
        self.kinds = tuple(kinds)

    def collect(self) -> Iterator[Metric]:
        with transaction(self.sessions, read_only=True) as session:
            rows = queue_state(session, utcnow())
            pending, oldest = index_outbox.lag(session)
        depth = GaugeMetricFamily(
            "eakte_job_queue_depth",
            "Offene Aufträge je Art (kind) und Zustand (queued: wartet, running: in Arbeit)",
            labels=["kind", "state"],
        )
        age = GaugeMetricFamily(
            "eakte_job_queue_oldest_age_seconds",
            "Alter des ältesten offenen Auftrags je Art und Zustand (0: keiner offen)",
            labels=["kind", "state"],
        )
        found = {(row.kind, row.state): row for row in rows}
        kinds = sorted({*self.kinds, *(row.kind for row in rows)})
        for kind in kinds:
            for state in OPEN_STATES:
                row = found.get((kind, state))
                depth.add_metric([kind, state], row.jobs if row else 0)
                age.add_metric([kind, state], row.oldest_age_seconds if row else 0.0)
        yield depth
        yield age
        yield GaugeMetricFamily(
            "eakte_index_lag_entries",
            "Suchindex-Einträge, die noch geschrieben werden müssen (records.index_outbox)",
            value=pending,
        )
        yield GaugeMetricFamily(
            "eakte_index_lag_oldest_age_seconds",
            "Wie lange der älteste ausstehende Suchindex-Eintrag schon wartet (0: keiner)",
            value=oldest or 0.0,
        )


def _authorised(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """The scrape; monitoring, not people, reads it."""
    settings = runtime.settings
    configured = settings.metrics_token is not None or settings.metrics_token_file is not None
    token = read_secret(settings.metrics_token, settings.metrics_token_file) if configured else ""
    if not token:
        raise NotFound("Diese Adresse gibt es nicht.")
    if not _authorised(request, token):
        raise NotAuthenticated(
            "Die Metriken gibt es nur mit dem Zugangstoken der Überwachung "
            "(Kopfzeile Authorization: Bearer …, Einstellung EAKTE_METRICS_TOKEN)."
        )
    registry = metrics.scrape_registry(QueueCollector(runtime.sessions, HANDLERS))
    body, content_type = metrics.exposition(registry)
    return Response(body, media_type=content_type, headers={"cache-control": "no-store"})


class RequestMetrics:
    """Times every HTTP request by route template, method and status class, and binds the
    request's id (and, once routed, its route) to the log lines written meanwhile. Pure ASGI:
    the route is in the scope once the router has matched it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]  # ours: one a client sends could carry anything
        status = 500  # what the client gets when the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        started = time.perf_counter()
        tokens = bind_request(request_id, scope)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope) or UNMATCHED
            metrics.observe_request(route, scope["method"], status, time.perf_counter() - started)
            unbind_request(tokens)
