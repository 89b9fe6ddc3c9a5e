"""Helpers of the metrics and logs tests (issue 20): reading a Prometheus scrape."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "ueberwachung-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# A BG number anywhere (e.g. 95401BG1231743): none may appear in metrics or logs.
BG_NUMBER = re.compile(r"\d{5}BG\d{7}")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by name and labels."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value in a scrape, 0 when it is not there (a counter not yet counted)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def routes(text: str) -> set[str]:
    """The route labels of the HTTP latency histogram."""
    return {
        dict(labels)["route"]
        for name, labels in samples(text)
        if name == "eakte_http_request_duration_seconds_count"
    }
