"""External programs: the one runner, what their failures mean, and what the installation has.

Every program the pipeline starts (tesseract directly or through pytesseract, poppler's
pdftoppm through pdf2image, pdfimages and pdftotext) runs with a timeout, and its failure is
told apart in one place:

- the program is missing, cannot start, or lacks a language pack: `ToolUnavailable`, a
  configuration error. Every page would fail the same way, so the job waits for the
  installation to be fixed instead of marking pages unreadable;
- the program ran past its timeout on a page: `ProgramTimeout`, that page is unreadable;
- the program ran and refused the page (exit status not 0): `UnreadablePage`.

`probe_tools` says at start and in `/health` whether OCR can run at all.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType

import pdf2image.exceptions

from core.errors import ProgramTimeout, ToolUnavailable, UnreadablePage

log = logging.getLogger(__name__)

# tesseract's own threads would compete with the pages read in parallel (one per core).
ONE_THREAD = {"OMP_THREAD_LIMIT": "1"}

# What tesseract writes when it cannot load its trained data: the installation's fault, not
# the page's (a missing language pack, osd.traineddata for orientation, a wrong TESSDATA_PREFIX).
_TESSERACT_NOT_READY = re.compile(
    r"Failed loading language|Could not initialize tesseract|Error opening data file"
)
POPPLER_PROGRAMS = ("pdftoppm", "pdfimages", "pdftotext", "pdfinfo")
PROBE_TIMEOUT = 20


def pytesseract_module() -> ModuleType:
    """pytesseract, imported when first needed: it imports numpy (0.2 s), and the child process
    that looks into every PDF's pages (ingest.textlayer) imports this module without reading."""
    import pytesseract

    return pytesseract


def _tesseract_cmd() -> str:
    return str(pytesseract_module().pytesseract.tesseract_cmd)


def _missing(program: str, exc: OSError) -> ToolUnavailable:
    if isinstance(exc, FileNotFoundError):
        reason = "nicht gefunden"
    elif isinstance(exc, PermissionError):
        reason = "nicht ausführbar"
    else:
        reason = exc.strerror or str(exc)
    return ToolUnavailable(
        f"Das Programm {program} fehlt oder lässt sich nicht starten ({reason}).",
        program=program,
    )


def _not_ready(program: str, detail: str) -> ToolUnavailable:
    languages = sorted(set(re.findall(r"Failed loading language '([^']+)'", detail)))
    what = f"die Sprachpakete {', '.join(languages)}" if languages else "seine Sprachdaten"
    return ToolUnavailable(
        f"{program} kann {what} nicht laden: die Texterkennung ist nicht vollständig eingerichtet.",
        program=program,
        missing_languages=languages,
        detail=detail[-300:],
    )


def failure(program: str, returncode: int, stderr: str) -> UnreadablePage | ToolUnavailable:
    """What a program's non-zero exit means: its installation is broken, or the page is."""
    detail = stderr.strip()
    if program == "tesseract" and _TESSERACT_NOT_READY.search(detail):
        return _not_ready(program, detail)
    # A program that the shell could not run reports 126/127 without a word of its own.
    if returncode in (126, 127) and not detail:
        return ToolUnavailable(
            f"Das Programm {program} ließ sich nicht starten (Status {returncode}).",
            program=program,
        )
    return UnreadablePage(f"{program} meldet einen Fehler: {detail[-300:]}")


def run_program(
    args: list[str], timeout: int, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run one external program with a timeout; its failures as the error family has them.
    `env`: variables set for it besides this process's own."""
    program = os.path.basename(args[0])
    env = dict(os.environ, **ONE_THREAD, **(env or {}))
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, check=True, env=env)
    except subprocess.TimeoutExpired:
        raise ProgramTimeout(f"{program} lief länger als {timeout} s") from None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace")
        raise failure(program, exc.returncode, stderr) from None
    except OSError as exc:  # not found, not executable
        raise _missing(program, exc) from None


@contextmanager
def tesseract_errors(timeout: int) -> Iterator[None]:
    """pytesseract's exceptions as the error family has them."""
    pytesseract = pytesseract_module()
    try:
        yield
    except pytesseract.TesseractNotFoundError:
        raise _missing("tesseract", FileNotFoundError("nicht gefunden")) from None
    except pytesseract.TesseractError as exc:
        raise failure("tesseract", int(exc.status), str(exc.message)) from None
    except RuntimeError as exc:
        if "timeout" not in str(exc).lower():
            raise
        raise ProgramTimeout(f"tesseract lief länger als {timeout} s") from None
    except OSError as exc:  # found, but not executable
        raise _missing("tesseract", exc) from None


@contextmanager
def poppler_errors(program: str, timeout: int) -> Iterator[None]:
    """pdf2image's exceptions as the error family has them."""
    try:
        yield
    except pdf2image.exceptions.PDFInfoNotInstalledError:
        raise _missing("pdfinfo", FileNotFoundError("nicht gefunden")) from None
    except pdf2image.exceptions.PDFPopplerTimeoutError:
        raise ProgramTimeout(f"{program} lief länger als {timeout} s") from None
    except pdf2image.exceptions.PDFPageCountError as exc:
        raise UnreadablePage(f"pdfinfo meldet einen Fehler: {str(exc)[-300:]}") from None
    except OSError as exc:  # not found, not executable
        raise _missing(program, exc) from None


def tesseract_languages(timeout: int = PROBE_TIMEOUT) -> list[str]:
    """The languages tesseract finds in its tessdata folder (TESSDATA_PREFIX is honoured)."""
    done = run_program([_tesseract_cmd(), "--list-langs"], timeout)
    # The first line names the folder; then one language per line.
    lines = done.stdout.decode("utf-8", "replace").splitlines()[1:]
    return sorted(line.strip() for line in lines if line.strip())


def require_tesseract_languages(languages: str) -> None:
    """Refuse to read with a language that is not installed.

    tesseract itself only warns when one of several languages (deu+eng) is missing and reads
    on with the others, a little worse; it fails only when none is there. Checked once per
    language string while everything is present, again each time while something is missing.
    """
    key = (_tesseract_cmd(), os.environ.get("TESSDATA_PREFIX"), languages)
    if key in _LANGUAGES_PRESENT:
        return
    installed = set(tesseract_languages())
    missing = [lang for lang in languages.split("+") if lang and lang not in installed]
    if missing:
        raise _not_ready(
            "tesseract", "".join(f"Failed loading language '{lang}'\n" for lang in missing)
        )
    _LANGUAGES_PRESENT.add(key)


_LANGUAGES_PRESENT: set[tuple[str, str | None, str]] = set()


# --- the probe at start and in /health ---


@dataclass
class ToolState:
    """What the installation offers for OCR; `problems` in German for the administration."""

    ok: bool
    tesseract: str | None = None
    languages: list[str] = field(default_factory=list)
    missing_languages: list[str] = field(default_factory=list)
    poppler: str | None = None
    missing_programs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def probe_tools(ocr_languages: str) -> ToolState:
    """tesseract and its languages (those `ocr_languages` names, and osd for orientation),
    and poppler's programs; never raises."""
    state = ToolState(ok=True)
    tesseract = _tesseract_cmd()
    try:
        done = run_program([tesseract, "--version"], PROBE_TIMEOUT)
        first = done.stdout.decode("utf-8", "replace").splitlines()
        state.tesseract = first[0].rsplit(" ", 1)[-1] if first else "?"
        state.languages = tesseract_languages()
    except (ToolUnavailable, UnreadablePage) as exc:
        state.problems.append(exc.message)
        state.missing_programs.append("tesseract")
    if state.tesseract is not None:
        wanted = [lang for lang in ocr_languages.split("+") if lang] + ["osd"]
        state.missing_languages = [lang for lang in wanted if lang not in state.languages]
        if state.missing_languages:
            state.problems.append(
                "tesseract fehlen die Sprachpakete "
                + ", ".join(state.missing_languages)
                + " (Debian: tesseract-ocr-<sprache>; EAKTE_OCR_LANGUAGES nennt "
                + ocr_languages
                + ")."
            )
    for program in POPPLER_PROGRAMS:
        if shutil.which(program) is None:
            state.missing_programs.append(program)
            state.problems.append(f"Das Programm {program} (poppler-utils) fehlt.")
    if "pdftoppm" not in state.missing_programs:
        try:
            done = run_program(["pdftoppm", "-v"], PROBE_TIMEOUT)
            first = done.stderr.decode("utf-8", "replace").splitlines()
            state.poppler = first[0].rsplit(" ", 1)[-1] if first else "?"
        except (ToolUnavailable, UnreadablePage) as exc:
            state.problems.append(exc.message)
    state.ok = not state.problems
    return state


def log_tool_state(state: ToolState, where: str) -> None:
    """One loud line when OCR cannot run, one quiet line when it can."""
    if state.ok:
        log.info(
            "%s: tesseract %s (languages %s), poppler %s",
            where,
            state.tesseract,
            "+".join(state.languages),
            state.poppler,
        )
        return
    log.error(
        "%s: OCR IS NOT POSSIBLE - Texterkennung nicht möglich: %s",
        where,
        " ".join(state.problems),
    )
