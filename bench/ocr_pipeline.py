"""OCR benchmark: the product's worker pipeline against raw tesseract and OCRmyPDF.

In one run and on the same pages (design.md §7, "Measuring"):

  (a) product    the worker as it runs in production. Every input PDF is handed in as one batch
                 (ingest.intake.accept_file) to a fresh embedded runtime (SQLite, local blob
                 store, embedded index) and ingest.worker.run_worker(until_idle=True) is timed
                 end to end: rendering, orientation and skew, OCR with searchable PDF, page
                 images, thumbnails, storage, indexing and database, with ocr_processes = cores
                 and --workers run_worker threads (default one per core, like EAKTE_WORKERS).
  (b) tesseract  the floor: every page rendered by `pdftoppm -r 300 -gray` to PGM and read by
                 `tesseract PAGE.pgm stdout -l deu+eng` with OMP_THREAD_LIMIT=1, one page per
                 core at a time (a thread pool of `cores` threads over all pages). Rendering is
                 part of the time.
  (c) ocrmypdf   OCRmyPDF --jobs cores --rotate-pages --deskew -l deu+eng --output-type pdf
                 --optimize 0 (see OCRMYPDF_OPTIONS for why these).

It prints seconds, pages per second and the ratios a/b and c/b (goal: a/b <= 1.3), and the word
recall of (a), (b) and (c) against `page_text` in truth.jsonl.

--memory-pages N [N ...] is a separate mode: it hands in ONE batch of N pages (the input pages
repeated) and runs `python -m app.cli worker --until-idle` as a child process, sampling the
resident memory of its whole process tree (worker + pdftoppm/pdfimages/tesseract children), to
show whether a worker's memory grows with the size of a batch.

Run from the repository root with the product's environment, e.g.
    .venv/bin/python bench/ocr_pipeline.py
    .venv/bin/python bench/ocr_pipeline.py --repeat 3 --profile
    .venv/bin/python bench/ocr_pipeline.py --memory-pages 30 300
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import harness
import pikepdf

if TYPE_CHECKING:  # the product is imported when needed, so that --help stays quick
    from core.config import Settings
    from records.runtime import Runtime

SAMPLES = harness.SAMPLES
LANGUAGES = "deu+eng"
REFERENCE_DPI = 300
GOAL_RATIO = 1.3
# Truth pages with |skew| at least this (degrees) or upside down count as "rotated or skewed".
SKEWED_DEGREES = 1.0
SYSTEMS = ("product", "tesseract", "ocrmypdf")
LABELS = {
    "product": "(a) product worker",
    "tesseract": "(b) raw tesseract",
    "ocrmypdf": "(c) OCRmyPDF",
}

# OCRmyPDF with the work the product also does (rotation, deskew, OCR, a searchable PDF) and
# without what it does not: --output-type pdf skips the PDF/A conversion and validation
# (the product writes a plain PDF), --optimize 0 skips the image recompression pass (the
# product keeps tesseract's page images). --rotate-pages-threshold stays at its default.
OCRMYPDF_OPTIONS = [
    "--rotate-pages",
    "--deskew",
    "-l",
    LANGUAGES,
    "--output-type",
    "pdf",
    "--optimize",
    "0",
    "--quiet",
]

# The `ocrmypdf` command line, except that it keeps its priority: its __main__ lowers it with
# os.nice(5), which on a machine shared with other load would slow it down against that load
# (not against the product, which runs at normal priority).
OCRMYPDF_AT_NORMAL_PRIORITY = (
    "import os, runpy, sys; os.nice = lambda increment: os.getpriority(os.PRIO_PROCESS, 0); "
    "sys.argv[0] = 'ocrmypdf'; runpy.run_module('ocrmypdf', run_name='__main__', alter_sys=True)"
)


# --- inputs and truth ----------------------------------------------------------------------


@dataclass(frozen=True)
class PageRef:
    """Page `number` (1-based) of an input PDF."""

    pdf: Path
    number: int


def input_pdfs(items: list[str]) -> list[Path]:
    found: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.pdf") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise SystemExit(f"no such file or folder: {item}")
    if not found:
        raise SystemExit("no PDF files among the inputs")
    return [p.resolve() for p in found]


def page_refs(pdfs: list[Path]) -> list[PageRef]:
    refs = []
    for pdf in pdfs:
        with pikepdf.open(pdf) as document:
            refs.extend(PageRef(pdf, n) for n in range(1, len(document.pages) + 1))
    return refs


def merge_pages(refs: list[PageRef], target: Path) -> None:
    """One PDF of the given pages in order (a page may repeat); the sources stay untouched."""
    sources: dict[Path, pikepdf.Pdf] = {}
    try:
        with pikepdf.new() as merged:
            for ref in refs:
                if ref.pdf not in sources:
                    sources[ref.pdf] = pikepdf.open(ref.pdf)
                merged.pages.append(sources[ref.pdf].pages[ref.number - 1])
            merged.save(target)
    finally:
        for source in sources.values():
            source.close()


@dataclass(frozen=True)
class TruthPage:
    text: str
    rotated_or_skewed: bool


def load_truth(path: Path) -> dict[tuple[str, int], TruthPage]:
    """(file name, page number) -> printed text; documents are matched by file name."""
    truth: dict[tuple[str, int], TruthPage] = {}
    if not path.is_file():
        return truth
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        name = Path(entry["file"]).name
        degradations = entry.get("degradation") or []
        for number, text in enumerate(entry.get("page_text") or [], start=1):
            how = degradations[number - 1] if number <= len(degradations) else {}
            turned = (
                bool(how.get("upside_down")) or abs(float(how.get("skew") or 0)) >= SKEWED_DEGREES
            )
            truth[(name, number)] = TruthPage(text, turned)
    return truth


# --- word recall ---------------------------------------------------------------------------


@dataclass
class Recall:
    found: int = 0
    printed: int = 0
    pages: int = 0

    def add(self, printed_text: str, recognised_text: str) -> None:
        printed = Counter(printed_text.split())
        recognised = Counter(recognised_text.split())
        self.found += sum((printed & recognised).values())
        self.printed += sum(printed.values())
        self.pages += 1

    @property
    def value(self) -> float | None:
        return self.found / self.printed if self.printed else None


def word_recall(
    truth: dict[tuple[str, int], TruthPage], refs: list[PageRef], texts: dict[PageRef, str]
) -> dict[str, Recall]:
    """Multiset recall on whitespace tokens, exact and case-sensitive: a word printed twice must
    be recognised twice. An input page the system gave no text for counts with recall 0."""
    groups = {"all": Recall(), "upright": Recall(), "rotated or skewed": Recall()}
    for ref in refs:
        page = truth.get((ref.pdf.name, ref.number))
        if page is None:
            continue
        text = texts.get(ref, "")
        groups["all"].add(page.text, text)
        groups["rotated or skewed" if page.rotated_or_skewed else "upright"].add(page.text, text)
    return groups


# --- results -------------------------------------------------------------------------------


@dataclass
class RunResult:
    system: str
    seconds: float
    load_before: float
    texts: dict[PageRef, str] = field(default_factory=dict)
    stages: dict[str, tuple[int, float]] = field(default_factory=dict)  # label -> (calls, s)
    problems: list[str] = field(default_factory=list)


def _load() -> float:
    return os.getloadavg()[0]


# --- (a) the product -----------------------------------------------------------------------


def product_settings(data_dir: Path, cores: int) -> Settings:
    """The embedded defaults (SQLite, local blobs, embedded index) in `data_dir`."""
    return harness.embedded_settings(data_dir, ocr_processes=cores, job_poll_seconds=0.2)


def hand_in(runtime: Runtime, batches: dict[str, Path]) -> None:
    """Hand every file in as one batch under its source name, as the desk's upload does."""
    from ingest.intake import accept_file

    for source_name, path in batches.items():
        accept_file(runtime, path, source_name, None, channel="cli")


def product_batches(
    refs: list[PageRef], one_batch: bool, scratch: Path
) -> tuple[dict[str, Path], dict[str, list[PageRef]]]:
    """What to hand in (source name -> file) and which input page each batch page is."""
    files: dict[str, Path] = {}
    pages: dict[str, list[PageRef]] = {}
    if one_batch:
        merged = scratch / "all-pages.pdf"
        merge_pages(refs, merged)
        files[merged.name] = merged
        pages[merged.name] = list(refs)
        return files, pages
    for ref in refs:
        name = ref.pdf.name
        if name in files and files[name] != ref.pdf:  # same name in two folders
            name = f"{len(files):04d}-{name}"
        files[name] = ref.pdf
        pages.setdefault(name, []).append(ref)
    return files, pages


def read_product_texts(
    runtime: Runtime, pages: dict[str, list[PageRef]]
) -> tuple[dict[PageRef, str], list[str]]:
    """Page texts from the product's database, matched to the inputs by the documents'
    source_name (a batch split into several documents names them "NAME (n)") and source page."""
    from sqlalchemy import select

    from core.db import transaction
    from records.models import Document, Page, ScanBatch

    texts: dict[PageRef, str] = {}
    problems: list[str] = []
    with transaction(runtime.sessions) as session:
        for batch in session.scalars(select(ScanBatch)):
            if batch.status != "processed":
                problems.append(
                    f"batch {batch.source_name}: {batch.status} {batch.status_message or ''}"
                )
        rows = session.execute(
            select(Document.source_name, Page.source_page, Page.number, Page.text).join(
                Page, Page.document_id == Document.id
            )
        )
        for source_name, source_page, number, text in rows:
            batch_name = re.sub(r" \(\d+\)$", "", source_name)
            refs = pages.get(batch_name) or pages.get(source_name)
            index = (source_page or number) - 1
            if refs is None or not 0 <= index < len(refs):
                problems.append(f"page {source_name}/{source_page} matches no input page")
                continue
            texts[refs[index]] = text or ""
    return texts, problems


def run_product(
    refs: list[PageRef],
    cores: int,
    work_root: Path | None,
    *,
    workers: int,
    one_batch: bool,
    profile: bool,
) -> RunResult:
    from app.runtime import build_runtime
    from ingest.worker import run_worker

    with tempfile.TemporaryDirectory(prefix="bench-product-", dir=work_root) as scratch:
        scratch_dir = Path(scratch)
        runtime = build_runtime(product_settings(scratch_dir / "data", cores))
        try:
            files, pages = product_batches(refs, one_batch, scratch_dir)
            hand_in(runtime, files)
            clock = StageClock(runtime) if profile else None
            load = _load()
            stop = threading.Event()
            start = time.perf_counter()
            if workers == 1:
                run_worker(runtime, stop, until_idle=True)
            else:  # several workers, as `eakte serve` starts EAKTE_WORKERS (here as threads)
                threads = [
                    threading.Thread(
                        target=run_worker, args=(runtime, stop), kwargs={"until_idle": True}
                    )
                    for _ in range(workers)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            seconds = time.perf_counter() - start
            stages = clock.finish() if clock else {}
            texts, problems = read_product_texts(runtime, pages)
            if clock and clock.missing:
                problems.append(
                    f"not profiled, no longer in the product: {', '.join(clock.missing)}"
                )
        finally:
            runtime.close()
    return RunResult("product", seconds, load, texts, stages, problems)


class StageClock:
    """Wall time per stage of the product's pipeline, summed over the threads that run it.

    Wraps module-level functions of the product for one run (--profile) and puts them back
    afterwards; the product's files stay untouched. Stages that run per page in the thread
    pool add up to at most wall time x ocr_processes; per-batch stages run one at a time.
    """

    # (module[.Class] or "<index>", attribute, label); indentation in the label shows nesting
    STAGES = (
        ("ingest.worker", "claim_next", "queue: claim next job"),
        ("ingest.worker", "has_unfinished_jobs", "queue: idle check"),
        ("ingest.worker", "run_one", "job (process_batch, lease thread)"),
        ("ingest.pipeline", "pdf_page_scans", "  per batch: page dpi and colour (pdfimages -list)"),
        ("ingest.pipeline", "render_pdf_page", "  per page: render (pdfimages / pdftoppm)"),
        ("ingest.prepare", "_extractable_scan", "    of which PDF page inspection (pikepdf)"),
        ("ingest.pipeline", "analyse_page", "  per page: analyse_page"),
        ("ingest.prepare._PageImage", "__init__", "    of which load page image"),
        ("ingest.prepare", "_is_separator", "    of which separator sheet (zxing)"),
        ("ingest.prepare", "_is_blank", "    of which empty back side"),
        ("ingest.prepare", "_orientation", "    of which orientation (+ skew on the way)"),
        ("ingest.prepare", "_osd_orientation", "      of which tesseract OSD fallback"),
        ("ingest.prepare", "_skew", "    skew search (inside orientation or after it)"),
        ("ingest.pipeline", "prepare_page", "  per page: prepare_page (turn, deskew, write PGM)"),
        ("ingest.forms", "ocr_page", "  per page: tesseract (pdf + tsv)"),
        ("ingest.ocr", "parse_tsv", "    of which TSV parsing"),
        ("ingest.pipeline", "_renditions", "  per page: renditions (viewer JPEG, thumbnail)"),
        ("ingest.pipeline._Progress", "page_done", "  per page: progress update (DB)"),
        ("ingest.pipeline", "_store_renditions", "  per batch: store renditions"),
        ("ingest.pipeline", "write_pdfa", "    of which document PDF (merge, PDF/A)"),
        ("ingest.pipeline", "_put", "    of which blob puts (PDF, JPEGs, words)"),
        ("ingest.pipeline", "_commit", "  per batch: commit (DB rows, audit, index)"),
        ("<index>", "index", "    of which search indexing"),
    )

    def __init__(self, runtime: Runtime) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, list[float]] = {}
        self._restore: list[tuple[object, str, object]] = []
        self.missing: list[str] = []
        for owner_name, attribute, label in self.STAGES:
            owner = runtime.index if owner_name == "<index>" else self._resolve(owner_name)
            original = getattr(owner, attribute, None) if owner is not None else None
            if original is None:
                self.missing.append(f"{owner_name}.{attribute}")
                continue
            self._totals[label] = [0, 0.0]
            setattr(owner, attribute, self._timed(original, label))
            self._restore.append((owner, attribute, original))

    @staticmethod
    def _resolve(dotted: str) -> object | None:
        """A module, or a class inside one, by its dotted name."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                owner: object = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for name in parts[cut:]:
                owner = getattr(owner, name, None)
                if owner is None:
                    return None
            return owner
        return None

    def _timed(self, original: Callable, label: str) -> Callable:
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                with self._lock:
                    self._totals[label][0] += 1
                    self._totals[label][1] += elapsed

        return timed

    def finish(self) -> dict[str, tuple[int, float]]:
        """Put the product's functions back; the calls and seconds per stage label."""
        for owner, attribute, original in reversed(self._restore):
            if not isinstance(owner, (type, types.ModuleType)) and hasattr(type(owner), attribute):
                delattr(owner, attribute)  # the instance uses its class's method again
            else:
                setattr(owner, attribute, original)
        self._restore.clear()
        return {label: (int(calls), seconds) for label, (calls, seconds) in self._totals.items()}


# --- (b) raw tesseract ---------------------------------------------------------------------


def run_tesseract(
    refs: list[PageRef], cores: int, work_root: Path | None, raw_dpi: str = "300"
) -> RunResult:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    if raw_dpi == "native":  # each page at its scan's own resolution (found before timing)
        from ingest.prepare import pdf_page_resolutions

        native = {pdf: pdf_page_resolutions(pdf, 60) for pdf in {ref.pdf for ref in refs}}
        dpis = [native[ref.pdf][ref.number - 1] for ref in refs]
    else:
        dpis = [int(raw_dpi)] * len(refs)
    render_seconds: list[float] = []
    ocr_seconds: list[float] = []

    with tempfile.TemporaryDirectory(prefix="bench-tesseract-", dir=work_root) as scratch:

        def one(job: tuple[int, PageRef]) -> str:
            index, ref = job
            prefix = Path(scratch) / f"page-{index:05d}"
            started = time.perf_counter()
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    str(dpis[index]),
                    "-gray",
                    "-f",
                    str(ref.number),
                    "-l",
                    str(ref.number),
                    "-singlefile",
                    str(ref.pdf),
                    str(prefix),
                ],
                check=True,
                capture_output=True,
                env=env,
            )
            rendered = time.perf_counter()
            image = prefix.with_suffix(".pgm")
            result = subprocess.run(
                ["tesseract", str(image), "stdout", "-l", LANGUAGES],
                check=True,
                capture_output=True,
                env=env,
            )
            render_seconds.append(rendered - started)
            ocr_seconds.append(time.perf_counter() - rendered)
            image.unlink()
            return result.stdout.decode("utf-8", "replace")

        load = _load()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=cores) as pool:
            texts = list(pool.map(one, enumerate(refs)))
        seconds = time.perf_counter() - start
    stages = {
        f"per page: pdftoppm -r {raw_dpi} -gray": (len(render_seconds), sum(render_seconds)),
        "per page: tesseract stdout (text)": (len(ocr_seconds), sum(ocr_seconds)),
    }
    return RunResult("tesseract", seconds, load, dict(zip(refs, texts, strict=True)), stages)


# --- (c) OCRmyPDF --------------------------------------------------------------------------


def run_ocrmypdf(
    refs: list[PageRef], cores: int, work_root: Path | None, *, per_file: bool
) -> RunResult:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    with tempfile.TemporaryDirectory(prefix="bench-ocrmypdf-", dir=work_root) as scratch:
        scratch_dir = Path(scratch)
        jobs: list[tuple[Path, list[PageRef]]] = []
        if per_file:
            for pdf in dict.fromkeys(ref.pdf for ref in refs):
                jobs.append((pdf, [ref for ref in refs if ref.pdf == pdf]))
        else:  # merging is preparation, not timed
            merged = scratch_dir / "all-pages.pdf"
            merge_pages(refs, merged)
            jobs.append((merged, list(refs)))
        outputs = []
        load = _load()
        start = time.perf_counter()
        for number, (source, _pages) in enumerate(jobs):
            output = scratch_dir / f"out-{number:05d}.pdf"
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    OCRMYPDF_AT_NORMAL_PRIORITY,
                    "--jobs",
                    str(cores),
                    *OCRMYPDF_OPTIONS,
                    str(source),
                    str(output),
                ],
                capture_output=True,
                env=env,
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"ocrmypdf failed on {source.name}: {done.stderr.decode()[-800:]}"
                )
            outputs.append(output)
        seconds = time.perf_counter() - start
        texts: dict[PageRef, str] = {}
        for output, (_source, pages) in zip(outputs, jobs, strict=True):
            text = subprocess.run(
                ["pdftotext", "-enc", "UTF-8", str(output), "-"], check=True, capture_output=True
            ).stdout.decode("utf-8", "replace")
            for ref, page_text in zip(pages, text.split("\f"), strict=False):
                texts[ref] = page_text
    return RunResult("ocrmypdf", seconds, load, texts)


# --- --memory-pages: one big batch in a worker process -------------------------------------


@dataclass
class MemoryResult:
    pages: int
    seconds: float
    peak_tree_kib: int  # sum of VmRSS over the worker and all its descendants, sampled
    peak_worker_kib: int  # the worker process alone, sampled
    worker_maxrss_kib: int  # the kernel's high-water mark for the worker (wait4 ru_maxrss)
    peak_processes: int
    load_before: float
    status: str
    # the worker's RSS (KiB) at 10 %, 20 %, ... 100 % of the wall time: growth while pages are
    # read shows memory kept per page, a jump at the end memory held per document or batch
    worker_kib_by_tenth: list[int] = field(default_factory=list)


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_memory(
    refs: list[PageRef], pages: int, cores: int, work_root: Path | None, interval: float
) -> MemoryResult:
    from app.runtime import build_runtime
    from core.db import transaction
    from records.models import ScanBatch

    with tempfile.TemporaryDirectory(prefix="bench-memory-", dir=work_root) as scratch:
        scratch_dir = Path(scratch)
        batch = scratch_dir / f"batch-{pages}-pages.pdf"
        merge_pages([refs[i % len(refs)] for i in range(pages)], batch)
        settings = product_settings(scratch_dir / "data", cores)
        runtime = build_runtime(settings)
        try:
            hand_in(runtime, {batch.name: batch})
        finally:
            runtime.close()
        env = harness.product_env(
            settings,
            EAKTE_OCR_PROCESSES=str(cores),
            EAKTE_JOB_POLL_SECONDS="0.2",
            EAKTE_LOG_LEVEL="WARNING",
        )
        log_path = scratch_dir / "worker.log"
        peak_tree = peak_worker = peak_processes = 0
        series: list[tuple[float, int]] = []
        load = _load()
        start = time.perf_counter()
        worker = harness.start_cli(["worker", "--until-idle"], env, log_path)
        while True:
            pid, status, usage = os.wait4(worker.pid, os.WNOHANG)
            if pid:
                break
            tree = _process_tree(worker.pid)
            sizes = [_rss_kib(p) for p in tree]
            peak_tree = max(peak_tree, sum(sizes))
            peak_worker = max(peak_worker, sizes[0] if sizes else 0)
            peak_processes = max(peak_processes, len(tree))
            series.append((time.perf_counter() - start, sizes[0] if sizes else 0))
            time.sleep(interval)
        seconds = time.perf_counter() - start
        worker.returncode = os.waitstatus_to_exitcode(status)
        runtime = build_runtime(settings, migrate_schema=False)
        try:
            with transaction(runtime.sessions) as session:
                states = [
                    f"{b.status} ({b.pages_total} pages, {b.documents_count} documents)"
                    + (f": {b.status_message}" if b.status_message else "")
                    for b in session.query(ScanBatch)
                ]
        finally:
            runtime.close()
        status_text = "; ".join(states)
        if worker.returncode != 0:
            tail = log_path.read_text(errors="replace")[-1500:]
            status_text += f"; worker exit {worker.returncode}: {tail}"
    return MemoryResult(
        pages,
        seconds,
        peak_tree,
        peak_worker,
        usage.ru_maxrss,
        peak_processes,
        load,
        status_text,
        [
            max((kib for t, kib in series if t <= seconds * tenth / 10), default=0)
            for tenth in range(1, 11)
        ],
    )


# --- report --------------------------------------------------------------------------------


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def report_speed(
    runs: dict[str, list[RunResult]],
    refs: list[PageRef],
    cores: int,
    truth: dict[tuple[str, int], TruthPage],
    args: argparse.Namespace,
) -> dict:
    page_count, file_count = len(refs), len({ref.pdf for ref in refs})
    summary: dict = {
        "pages": page_count,
        "files": file_count,
        "cores": cores,
        "repeat": args.repeat,
        "workers": args.workers,
        "one_batch": args.one_batch,
        "ocrmypdf_input": "per-file" if args.ocrmypdf_per_file else "merged",
        "ocrmypdf_options": OCRMYPDF_OPTIONS,
        "systems": {},
    }
    print()
    print(
        f"OCR benchmark: {page_count} pages in {file_count} files, {cores} cores, "
        f"{args.repeat} run(s) each; product: {args.workers} worker(s), "
        f"{'one batch' if args.one_batch else 'one batch per file'}; "
        f"OCRmyPDF: {summary['ocrmypdf_input']} input"
    )
    print(f"{'system':<24}{'median s':>10}{'min s':>9}{'pages/s':>9}{'x (b)':>8}  load before")
    reference = (
        _median(r.seconds for r in runs.get("tesseract", [])) if runs.get("tesseract") else None
    )
    for system in SYSTEMS:
        results = runs.get(system)
        if not results:
            continue
        median = _median(r.seconds for r in results)
        ratio = median / reference if reference else None
        loads = " ".join(f"{r.load_before:.1f}" for r in results)
        ratio_text = f"{ratio:8.2f}" if ratio is not None else f"{'-':>8}"
        print(
            f"{LABELS[system]:<24}{median:10.1f}{min(r.seconds for r in results):9.1f}"
            f"{page_count / median:9.2f}{ratio_text}  {loads}"
        )
        summary["systems"][system] = {
            "seconds": [round(r.seconds, 2) for r in results],
            "median_seconds": round(median, 2),
            "pages_per_second": round(page_count / median, 3),
            "ratio_to_tesseract": round(ratio, 3) if ratio else None,
            "load_before": [round(r.load_before, 2) for r in results],
        }
    product = summary["systems"].get("product", {}).get("ratio_to_tesseract")
    if product is not None:
        verdict = "met" if product <= GOAL_RATIO else "MISSED"
        print(f"goal a/b <= {GOAL_RATIO}: {verdict} (a/b = {product:.2f})")

    if truth:
        print()
        print(
            "word recall against truth.jsonl page_text (multiset of whitespace tokens, exact, "
            "case-sensitive;"
        )
        print(f"'rotated or skewed' = upside down or |skew| >= {SKEWED_DEGREES} degrees)")
        groups = ("all", "upright", "rotated or skewed")
        print(f"{'system':<24}" + "".join(f"{g:>22}" for g in groups))
        for system in SYSTEMS:
            results = runs.get(system)
            if not results:
                continue
            recall = word_recall(truth, refs, results[0].texts)
            cells = []
            for group in groups:
                value = recall[group].value
                cells.append(f"{value:.3f} ({recall[group].pages} p)" if value is not None else "-")
            print(f"{LABELS[system]:<24}" + "".join(f"{c:>22}" for c in cells))
            summary["systems"][system]["recall"] = {
                g: {
                    "recall": round(recall[g].value, 4) if recall[g].value is not None else None,
                    "found": recall[g].found,
                    "printed": recall[g].printed,
                    "pages": recall[g].pages,
                }
                for g in groups
            }

    for system in SYSTEMS:
        for result in runs.get(system, []):
            for problem in result.problems:
                print(f"problem in {LABELS[system]}: {problem}")

    for system in ("product", "tesseract"):
        results = runs.get(system)
        if not results or not results[0].stages:
            continue
        wall = results[0].seconds
        print()
        print(
            f"stages of {LABELS[system]} (first run; wall {wall:.1f} s x {cores} cores = "
            f"{wall * cores:.1f} core-s; times summed over threads)"
        )
        print(f"{'stage':<58}{'calls':>7}{'total s':>9}{'ms/call':>9}{'% core-s':>9}")
        for label, (calls, seconds) in results[0].stages.items():
            per_call = 1000 * seconds / calls if calls else 0.0
            share = 100 * seconds / (wall * cores)
            print(f"{label:<58}{calls:7d}{seconds:9.2f}{per_call:9.0f}{share:9.1f}")
        summary["systems"][system]["stages"] = {
            label: {"calls": calls, "seconds": round(seconds, 3)}
            for label, (calls, seconds) in results[0].stages.items()
        }
    return summary


def report_memory(results: list[MemoryResult], cores: int) -> dict:
    print()
    print(
        f"worker memory: one batch of N pages, `python -m app.cli worker --until-idle`, "
        f"{cores} OCR threads; RSS sampled from /proc"
    )
    print(
        f"{'pages':>6}{'wall s':>9}{'pages/s':>9}{'tree peak MiB':>15}{'worker peak MiB':>17}"
        f"{'worker maxrss MiB':>19}{'procs':>7}{'load':>6}  batch"
    )
    for r in results:
        print(
            f"{r.pages:6d}{r.seconds:9.1f}{r.pages / r.seconds:9.2f}{r.peak_tree_kib / 1024:15.0f}"
            f"{r.peak_worker_kib / 1024:17.0f}{r.worker_maxrss_kib / 1024:19.0f}"
            f"{r.peak_processes:7d}{r.load_before:6.1f}  {r.status}"
        )
    print("worker peak RSS up to 10 %, 20 %, ... 100 % of the wall time (MiB):")
    for r in results:
        print(f"{r.pages:6d}  " + " ".join(f"{kib / 1024:5.0f}" for kib in r.worker_kib_by_tenth))
    return {"memory": [r.__dict__ for r in results], "cores": cores}


# --- command line --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time the product's worker pipeline (a) against raw tesseract (b) and OCRmyPDF (c) "
            "on the same pages and report a/b (goal <= 1.3), c/b and word recall; or, with "
            "--memory-pages, the peak memory of a worker process on one big batch."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        default=[str(SAMPLES / "docs")],
        metavar="DIR_OR_FILES",
        help="input PDFs, or folders whose *.pdf are taken",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        default=SAMPLES / "truth.jsonl",
        help="truth.jsonl with page_text per file; recall is skipped if missing",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run every system N times (interleaved a, b, c); medians are reported",
    )
    parser.add_argument(
        "--cores",
        type=int,
        default=os.cpu_count() or 1,
        help="ocr_processes of the product, tesseract processes of (b), --jobs of (c)",
    )
    parser.add_argument(
        "--raw-dpi",
        default=str(REFERENCE_DPI),
        help="resolution at which (b) renders pages: a number (default 300, the resolution "
        "tesseract is trained for) or 'native' (each scan's own resolution)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        choices=SYSTEMS,
        default=[],
        help="leave a system out (may be repeated)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="time the product's stages (render, analyse_page, tesseract, "
        "renditions, merge, storage, index, DB) by wrapping its functions",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="N run_worker threads on one runtime, so that N batches run side by side, as "
        "`eakte serve` runs EAKTE_WORKERS (default: one per core) worker processes",
    )
    parser.add_argument(
        "--one-batch",
        action="store_true",
        help="experiment: hand all pages to the product as ONE batch instead of one batch per file",
    )
    parser.add_argument(
        "--ocrmypdf-per-file",
        action="store_true",
        help="run OCRmyPDF once per input file, one after the other, instead of "
        "once on all pages merged into one PDF",
    )
    parser.add_argument(
        "--memory-pages",
        type=int,
        nargs="+",
        metavar="N",
        help="memory mode: for each N, one batch of N pages (inputs repeated) "
        "through a worker process; reports peak RSS and wall time",
    )
    parser.add_argument(
        "--sample-interval",
        type=float,
        default=0.05,
        metavar="SECONDS",
        help="memory mode: how often /proc is sampled",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where the temporary data folders go (None: the system's temp folder)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    harness.add_baseline_options(parser)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.cores < 1 or args.workers < 1:
        parser.error("--repeat, --cores and --workers must be at least 1")
    if args.raw_dpi != "native" and not (args.raw_dpi.isdigit() and 72 <= int(args.raw_dpi) <= 600):
        parser.error("--raw-dpi must be 'native' or a resolution from 72 to 600")
    return args


def check_tools(args: argparse.Namespace) -> None:
    needed = ["pdftoppm", "pdfimages", "pdfinfo", "pdftotext", "tesseract"]
    missing = [tool for tool in needed if shutil.which(tool) is None]
    wants_ocrmypdf = "ocrmypdf" not in args.skip and not args.memory_pages
    if wants_ocrmypdf and importlib.util.find_spec("ocrmypdf") is None:
        # it is in the `bench` dependency group: a plain `uv sync` removes it again
        missing.append(f"the ocrmypdf package in {sys.executable} (or pass --skip ocrmypdf)")
    if missing:
        raise SystemExit(f"missing: {'; '.join(missing)}. scripts/setup.sh --bench installs all")


def baseline_figures(summary: dict) -> list[harness.Figure]:
    """The figures of one run's JSON that --baseline compares."""
    Figure = harness.Figure
    if "memory" in summary:
        found = []
        for run in summary["memory"]:
            n, seconds = run["pages"], run["seconds"]
            found += [
                Figure(f"memory, {n} pages: wall time", seconds, "s"),
                Figure(f"memory, {n} pages: pages per second", n / seconds, "", "higher"),
                Figure(
                    f"memory, {n} pages: peak RSS of the tree", run["peak_tree_kib"] / 1024, "MiB"
                ),
                Figure(f"memory, {n} pages: worker peak RSS", run["peak_worker_kib"] / 1024, "MiB"),
                Figure(
                    f"memory, {n} pages: worker ru_maxrss", run["worker_maxrss_kib"] / 1024, "MiB"
                ),
            ]
        return found
    product = summary["systems"]["product"]
    found = [
        Figure("product: median seconds", product["median_seconds"], "s"),
        Figure("product: pages per second", product["pages_per_second"], "", "higher"),
    ]
    for group, recall in (product.get("recall") or {}).items():
        found.append(Figure(f"product: word recall, {group}", recall["recall"], "", "higher"))
        found.append(Figure(f"product: words recognised, {group}", recall["found"], "", "higher"))
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline:
        # (b) and (c) do not depend on the product: they run with the current side only
        skip_references = [] if args.memory_pages else ["--skip", "tesseract", "--skip", "ocrmypdf"]
        return harness.compare(__file__, argv, args, baseline_figures, skip_references)
    harness.use_product()
    check_tools(args)
    pdfs = input_pdfs(args.pages)
    refs = page_refs(pdfs)
    print(
        f"{len(refs)} pages in {len(pdfs)} files; {args.cores} cores; "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )

    if args.memory_pages:
        results = []
        for pages in args.memory_pages:
            print(f"memory: batch of {pages} pages ...", flush=True)
            results.append(run_memory(refs, pages, args.cores, args.work_dir, args.sample_interval))
        summary = report_memory(results, args.cores)
    else:
        truth = load_truth(args.truth)
        runs: dict[str, list[RunResult]] = {s: [] for s in SYSTEMS if s not in args.skip}
        for round_number in range(1, args.repeat + 1):
            for system in runs:
                if system == "product":
                    result = run_product(
                        refs,
                        args.cores,
                        args.work_dir,
                        workers=args.workers,
                        one_batch=args.one_batch,
                        profile=args.profile,
                    )
                elif system == "tesseract":
                    result = run_tesseract(refs, args.cores, args.work_dir, args.raw_dpi)
                else:
                    result = run_ocrmypdf(
                        refs, args.cores, args.work_dir, per_file=args.ocrmypdf_per_file
                    )
                runs[system].append(result)
                print(
                    f"run {round_number}/{args.repeat} {LABELS[system]}: {result.seconds:.1f} s "
                    f"(load before {result.load_before:.2f})",
                    flush=True,
                )
        summary = report_speed(runs, refs, args.cores, truth, args)
    if args.json:
        summary["load_average_end"] = os.getloadavg()
        args.json.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
