"""The product's Prometheus metrics that processes count themselves (issue 20).

Counted where the work happens: HTTP requests in the web processes (api.metrics), pages read
and documents filed in the workers (ingest.pipeline, ingest.worker). What the database knows
(the job queue) is read at scrape time instead (api.metrics). Labels carry route templates,
job kinds and outcomes only, never client data.

`eakte serve` runs web processes and workers as separate processes: `use_multiprocess_dir`
makes every process it starts write its values to files in one folder (prometheus-client's
multiprocess mode), and a scrape of any web process sums them. Without it (tests, a single
process) the values live in the process's default registry.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import prometheus_client
import prometheus_client.values
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A page takes from a fraction of a second (a text layer) to a minute (a dense fax page).
PAGE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
# A caseworker waits for a page; the goal is p95 under 300 ms.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

OUTCOMES = ("routed", "clearing", "failed")


@dataclass(frozen=True)
class _Metrics:
    http_seconds: Histogram
    pages: Counter
    page_seconds: Histogram
    routing: Counter


@lru_cache(maxsize=1)
def _metrics() -> _Metrics:
    """Created on first use, not at import: by then `use_multiprocess_dir` has chosen where the
    values live (a metric keeps the storage it was created with)."""
    return _Metrics(
        http_seconds=Histogram(
            "eakte_http_request_duration_seconds",
            "Dauer der HTTP-Anfragen je Route (Vorlage, nie der konkrete Pfad)",
            ["route", "method", "status"],
            buckets=HTTP_BUCKETS,
        ),
        pages=Counter(
            "eakte_pages_processed",
            "Seiten, die die Verarbeitung gelesen und abgelegt hat (rate() * 60: Seiten je Minute)",
        ),
        page_seconds=Histogram(
            "eakte_page_read_seconds",
            "Lesezeit einer Seite; method=ocr: Texterkennung, text_layer: eigener Text, "
            "sheet_or_blank: Trennblatt oder leere Seite, unreadable: nicht lesbar",
            ["method"],
            buckets=PAGE_BUCKETS,
        ),
        routing=Counter(
            "eakte_routing_outcomes",
            "Ergebnis der Zuordnung je Dokument: routed (Postkorb), clearing (Klärung), "
            "failed (Stapel endgültig gescheitert); via: recognition, sheet, upload, none",
            ["outcome", "via"],
        ),
    )


def use_multiprocess_dir(directory: Path) -> None:
    """Values of this process and of every process it starts from now on go to files in
    `directory`, emptied first (the counters of an earlier run are gone with its processes).
    Called by `eakte serve` before it starts anything; the children inherit the variable."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    # prometheus-client picks the storage when it is imported, and this process may have
    # imported it already; the metrics are created on first use, so choosing again holds.
    prometheus_client.values.ValueClass = prometheus_client.values.get_value_class()
    if _metrics.cache_info().currsize:  # counted before: those values stay behind
        for metric in vars(_metrics()).values():
            prometheus_client.REGISTRY.unregister(metric)
    _metrics.cache_clear()


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


class _Forward(Collector):
    """The default registry's metrics inside another registry."""

    def collect(self) -> Iterable[Metric]:
        return prometheus_client.REGISTRY.collect()


def scrape_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry for one scrape: the counted metrics (of all processes in multiprocess mode)
    and `collectors` (what is read at scrape time)."""
    _metrics()  # every metric appears from the first scrape on, at 0
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))
    else:
        registry.register(_Forward())
    for collector in collectors:
        registry.register(collector)
    return registry


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """One HTTP request; `route` is the template (`/akte/{bg_number}`), status by class."""
    _metrics().http_seconds.labels(route, method, f"{status // 100}xx").observe(seconds)


def observe_page_read(method: str, seconds: float) -> None:
    _metrics().page_seconds.labels(method).observe(seconds)


def count_filed(pages: int, outcomes: Iterable[tuple[str, str]]) -> None:
    """A batch committed: its pages, and each document's routing outcome and way."""
    metrics = _metrics()
    metrics.pages.inc(pages)
    for outcome, via in outcomes:
        metrics.routing.labels(outcome, via).inc()


def count_failed_batch() -> None:
    """A scan batch given up for good: nothing of it reached a Postkorb."""
    _metrics().routing.labels("failed", "none").inc()


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST
