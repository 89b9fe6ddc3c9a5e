"""Logging of every process: plain text lines (the default) or one JSON object per line
(`EAKTE_LOG_FORMAT=json`, issue 20), for a log collector that reads fields instead of text.

A JSON line has `time` (ISO 8601, UTC), `level`, `logger`, `message`, and in a web process
`request_id` and `route` (the route's template, `/akte/{bg_number}`, never the concrete path),
in a worker `job_id` and `job_kind`.
The access log line names the route template too, in both formats: a concrete path can carry a
BG number, which does not belong in a log (query strings are dropped by app.serve already).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("alembic", "pikepdf")

# The request a web process works on: its id and its ASGI scope, in which routing leaves the
# matched route (so a line logged before routing has the id only).
_request_id: ContextVar[str | None] = ContextVar("eakte_request_id", default=None)
_scope: ContextVar[Mapping[str, Any] | None] = ContextVar("eakte_request_scope", default=None)


# The job a worker works on (its id and kind), for the lines logged meanwhile.
_job: ContextVar[tuple[int, str] | None] = ContextVar("eakte_job", default=None)


@contextmanager
def job_context(job_id: int, kind: str) -> Iterator[None]:
    """Log lines written in this block (in this thread) name the job."""
    token = _job.set((job_id, kind))
    try:
        yield
    finally:
        _job.reset(token)


def bind_request(request_id: str, scope: Mapping[str, Any]) -> tuple[Token[Any], Token[Any]]:
    """The request that log lines of this context belong to, until `unbind_request`."""
    return _request_id.set(request_id), _scope.set(scope)


def unbind_request(tokens: tuple[Token[Any], Token[Any]]) -> None:
    _request_id.reset(tokens[0])
    _scope.reset(tokens[1])


def route_template(scope: Mapping[str, Any]) -> str | None:
    """The template of the route the request matched (`/akte/{bg_number}`); None before
    routing or when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return (scope.get("root_path") or "") + path if path else "/"
    return None


def current_route() -> str | None:
    scope = _scope.get()
    return route_template(scope) if scope is not None else None


class RequestFields(logging.Filter):
    """Adds `request_id` and `route` to a line logged while a request is worked on, `job_id`
    and `job_kind` to one logged while a worker runs a job."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _job.get()
        if job is not None:
            record.job_id, record.job_kind = job
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
            route = current_route()
            if route is not None:
                record.route = route
        return True


class RouteInAccessLog(logging.Filter):
    """uvicorn's access line names the route template instead of the concrete path (which
    may carry a BG number); a request no route matched keeps its path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        route = current_route()
        if route is not None and isinstance(args, tuple) and len(args) == 5:
            record.args = (args[0], args[1], route, *args[3:])
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        # uvicorn's coloured copy of some messages is not a field worth keeping.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        json_ensure_ascii=False,
    )


def configure_logging(log_format: str, level: str | int = "INFO") -> None:
    """The root logger of a command (`eakte serve`, `eakte worker`, ...) in `log_format`."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RequestFields())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING)


def uvicorn_log_config(base: Mapping[str, Any], log_format: str) -> dict[str, Any]:
    """uvicorn's logging configuration `base` (applied in every web process) with the route
    template in the access line, and in JSON: every handler JSON, the app's loggers included."""
    config: dict[str, Any] = copy.deepcopy(dict(base))
    filters: MutableMapping[str, Any] = config.setdefault("filters", {})
    filters["route_in_access_log"] = {"()": RouteInAccessLog}
    filters["request_fields"] = {"()": RequestFields}
    access = config["loggers"]["uvicorn.access"]
    access["filters"] = [*access.get("filters", []), "route_in_access_log"]
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "request_fields"]
    if log_format == "json":
        for formatter in config["formatters"]:
            config["formatters"][formatter] = {"()": json_formatter}
        # The app's own loggers (api, records, ...) in the same JSON as uvicorn's.
        config["root"] = {"handlers": ["default"], "level": "INFO"}
        for chatty in CHATTY:
            config["loggers"].setdefault(chatty, {"level": "WARNING"})
    return config
