"""A web process is ready before it takes its first request (issue 20, found by bench/load.py):
20 caseworkers who started at once waited 7.5 s for their first search while the process
loaded the German word list, and searches that came while another process had just created
the OpenSearch index failed with "all shards failed" (503)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from app.runtime import build_runtime
from app.serve import warm_up
from search import analysis
from search.base import SearchQuery
from search.opensearch import OpenSearchIndex
from tests.support import make_settings

BG = "95401BG0012345"


def test_warm_up_loads_the_word_list_before_the_first_search(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data"))
    try:
        analysis._word_lists.cache_clear()
        warm_up(runtime)
        assert analysis._word_lists.cache_info().currsize == 1
        # The warm-up's search matched nothing and left nothing behind.
        assert runtime.index.count() == 0
    finally:
        runtime.close()


def test_a_web_process_starts_while_opensearch_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path / "data",
        search_index="opensearch",
        opensearch_url="http://127.0.0.1:9",  # nothing listens on the discard port
        opensearch_index="warmup",
    )
    runtime = build_runtime(settings)
    try:
        with caplog.at_level(logging.WARNING, logger="app.serve"):
            warm_up(runtime)  # logged, not raised: the product answers without its index
        assert "Suchindex beim Start nicht erreichbar" in caplog.text
    finally:
        runtime.close()


@pytest.mark.services
def test_processes_that_start_together_search_a_new_index_without_failures(
    opensearch_settings: dict[str, object],
) -> None:
    """Eight processes' first searches on an index none of them has seen: whoever creates
    it, the others wait until its shard can be searched instead of failing (three new
    indexes, as the race does not show every time)."""
    url = str(opensearch_settings["opensearch_url"])
    failures: list[BaseException] = []
    for round_ in range(3):
        name = f"{opensearch_settings['opensearch_index']}-{round_}"
        indexes = [OpenSearchIndex(url, name) for _ in range(8)]
        start = threading.Barrier(len(indexes))

        def first_search(index: OpenSearchIndex, start: threading.Barrier) -> None:
            start.wait()
            try:
                index.search(SearchQuery("Mietvertrag", frozenset({BG})))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                failures.append(exc)

        threads = [threading.Thread(target=first_search, args=(i, start)) for i in indexes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        indexes[0].client.indices.delete(index=name, ignore_unavailable=True)
        for index in indexes:
            index.close()
    assert failures == []
