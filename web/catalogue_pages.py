"""The document-type catalogue as an administration page (issue 16): /verwaltung/dokumenttypen.

The page lists the types of the catalogue in force (code, name, target inbox, number of
phrases) and its saved versions; `?art=<code>` (or `?art=neu`) shows the form of one type,
`?ansicht=toml` the whole text for experts, `?ansicht=unterschiede&von=a&bis=b` what changed
between two versions. Every change goes through the preview (POST …/vorschau): the draft is
checked with the catalogue's own parser (a German list of problems, with line numbers), the
last letters' stored text is classified with the catalogue in force and with the draft, and
the letters whose type would change are listed by id, date, channel and page count only (the
administration sees no client data). Saving (POST …/speichern) needs that preview's proof for
exactly this draft and a comment; restoring an old version is a draft like any other.
Only the administration (Capability.ADMINISTER) reaches these routes; refusals are audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, current_user
from core.dates import LOCAL_TZ, german, local_date
from core.db import transaction
from core.errors import InvalidInput, NotFound
from ingest import catalogue as service
from ingest.recognition import Catalogue
from records import catalogue as saved
from records.access import Capability, Gate
from records.models import User
from records.runtime import Runtime
from web.pages import render, require

router = APIRouter(include_in_schema=False)

PAGE = "/verwaltung/dokumenttypen"
ACTION = "page.catalogue"
CHANNELS = {
    "upload": "Hochgeladen",
    "api": "Schnittstelle",
    "hotfolder": "Scan-Ordner",
    "cli": "Kommandozeile",
    "demo": "Demo",
    "file": "Datei",
    "mailbox": "E-Mail-Postfach",
}


def target_label(target: str) -> str:
    if target == "caseworker":
        return "Leistungssachbearbeitung"
    if target == "case_manager":
        return "Fallmanagement"
    if target.startswith("team:"):
        return f"Team {target[5:]}"
    return target


def _when(moment: datetime) -> str:
    return f"{german(local_date(moment))}, {moment.astimezone(LOCAL_TZ):%H:%M} Uhr"


@dataclass(frozen=True)
class TypeRow:
    code: str
    name: str
    target: str
    phrases: int


@dataclass(frozen=True)
class VersionRow:
    number: int
    label: str  # "Version 3" / "Katalogdatei"
    when: str
    who: str
    comment: str
    in_force: bool


@dataclass(frozen=True)
class ChangeRow:
    id: str
    received: str
    channel: str
    pages: str
    before: str
    after: str
    inbox: str  # "Leistungssachbearbeitung → Team Widerspruchsstelle" or "unverändert"


@dataclass
class Draft:
    """What the form or the TOML view sent, kept after an error."""

    mode: str  # "type", "toml" or "restore"
    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _admin(request: Request, runtime: Runtime) -> User:
    user = current_user(request, runtime)  # none: to the login page (web.errors)
    require(runtime, user, Capability.ADMINISTER, ACTION)
    return user


def _type_rows(catalogue: Catalogue) -> list[TypeRow]:
    return [
        TypeRow(
            rule.code,
            rule.name,
            target_label(rule.target),
            sum(1 for term in rule.terms if term.kind == "phrase"),
        )
        for rule in catalogue.types
    ]


def _version_rows(gate: Gate, in_force: int) -> list[VersionRow]:
    rows = [
        VersionRow(
            row.version,
            f"Version {row.version}",
            _when(row.created_at),
            row.created_by_login or "–",
            row.comment,
            row.version == in_force,
        )
        for row in saved.versions(gate)
    ]
    rows.append(
        VersionRow(
            0, "Katalogdatei", "–", "–", "Auslieferung bzw. konfigurierte Datei", in_force == 0
        )
    )
    return rows


def _targets(gate: Gate, catalogue: Catalogue) -> list[tuple[str, str]]:
    teams = set(saved.team_names(gate))
    teams |= {rule.team for rule in catalogue.types if rule.team}
    return [
        ("caseworker", target_label("caseworker")),
        ("case_manager", target_label("case_manager")),
    ] + [(f"team:{team}", target_label(f"team:{team}")) for team in sorted(teams)]


def _page(
    request: Request,
    runtime: Runtime,
    user: User,
    *,
    draft: Draft | None = None,
    status: str = "",
    status_code: int = 200,
) -> Response:
    query = request.query_params
    view = query.get("ansicht", "")
    wanted = query.get("art", "")
    with transaction(runtime.sessions, read_only=True) as session:
        gate = Gate(session, user)
        gate.require(Capability.ADMINISTER, ACTION)
        current = service.in_force(runtime.settings, session)
        versions = _version_rows(gate, current.number)
        targets = _targets(gate, current.catalogue)
        diff: list[service.DiffLine] | None = None
        diff_title = ""
        if view == "unterschiede":
            older, newer = _number(query.get("von")), _number(query.get("bis"))
            before = service.text_of(session, runtime.settings, older)
            after = service.text_of(session, runtime.settings, newer)
            if before is None or after is None:
                raise NotFound("Diese Version gibt es nicht.")
            diff = service.diff(before, after)
            diff_title = f"Unterschiede von {_label(older)} zu {_label(newer)}"
    form: dict[str, str] | None = None
    if draft is not None and draft.mode == "type":
        form = draft.values
    elif wanted:
        rule = current.catalogue.rule(wanted)
        if rule is None and wanted != "neu":
            raise NotFound("Diese Dokumentart gibt es nicht.")
        form = (
            {"code": rule.code, "name": rule.name, "target": rule.target}
            | {"phrases": service.phrase_lines(rule), "new": ""}
            if rule is not None
            else {"code": "", "name": "", "target": "caseworker", "phrases": "", "new": "1"}
        )
    toml = None
    if draft is not None and draft.mode == "toml":
        toml = draft.values.get("toml", "")
    elif view == "toml":
        toml = current.text
    return render(
        request,
        "catalogue.html",
        user,
        status_code,
        types=_type_rows(current.catalogue),
        in_force=current.number,
        in_force_label=_label(current.number),
        versions=versions,
        targets=targets,
        form=form,
        toml=toml,
        problems=draft.problems if draft is not None else [],
        diff=diff,
        diff_title=diff_title,
        status=status,
        page=PAGE,
    )


def _label(number: int) -> str:
    return f"Version {number}" if number else "Katalogdatei"


def _number(text: str | None) -> int:
    try:
        return max(0, int(text or ""))
    except ValueError:
        raise NotFound("Diese Version gibt es nicht.") from None


@router.get(PAGE, response_class=HTMLResponse)
def catalogue_page(request: Request, runtime: RuntimeDep) -> Response:
    user = _admin(request, runtime)
    done = request.query_params.get("gespeichert", "")
    status = (
        f"Version {done} gespeichert; sie gilt ab dem nächsten Schreiben." if done.isdigit() else ""
    )
    return _page(request, runtime, user, status=status)


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20, max_part_size=2 * 1024 * 1024)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _draft_text(runtime: Runtime, user: User, posted: dict[str, str]) -> tuple[str, Draft]:
    """The draft's whole text from what was posted; InvalidInput for a wrong form."""
    mode = posted.get("mode", "")
    with transaction(runtime.sessions, read_only=True) as session:
        current = service.in_force(runtime.settings, session)
        if mode == "type":
            values = {k: posted.get(k, "") for k in ("code", "name", "target", "phrases", "new")}
            draft = Draft("type", values)
            if values["new"] and current.catalogue.rule(values["code"].strip()) is not None:
                raise InvalidInput(f"Den Code „{values['code']}“ gibt es schon.")
            edit = service.TypeDraft(
                values["code"], values["name"], values["target"], values["phrases"]
            )
            return service.with_type(current.text, edit), draft
        if mode == "restore":
            number = _number(posted.get("version"))
            text = service.text_of(session, runtime.settings, number)
            if text is None:
                raise NotFound("Diese Version gibt es nicht.")
            return text, Draft("restore", {"version": str(number)})
    text = posted.get("toml", "").replace("\r\n", "\n")
    return text, Draft("toml", {"toml": text})


def _problems(runtime: Runtime, text: str) -> list[str]:
    with transaction(runtime.sessions, read_only=True) as session:
        return service.draft_problems(text, session)


def _preview(
    request: Request, runtime: Runtime, user: User, text: str, comment: str = "", error: str = ""
) -> Response:
    with transaction(runtime.sessions) as session:
        gate = Gate(session, user)
        gate.require(Capability.ADMINISTER, ACTION)
        current = service.in_force(runtime.settings, session)
        seen = service.preview(gate, runtime.settings, text)
        draft = service.checked(text)
    counts = seen.counts()
    names = {rule.code: rule.name for rule in current.catalogue.types}
    new_names = {rule.code: rule.name for rule in draft.types}
    rows = [
        ChangeRow(
            str(change.id),
            _when(change.received_at),
            CHANNELS.get(change.channel or "", "–"),
            str(change.page_count),
            names.get(change.before, change.before),
            new_names.get(change.after, change.after),
            (
                f"{target_label(change.before_target)} → {target_label(change.after_target)}"
                if change.before_target != change.after_target
                else "unverändert"
            ),
        )
        for change in seen.changes
    ]
    return render(
        request,
        "catalogue_preview.html",
        user,
        422 if error else 200,
        page=PAGE,
        counts=counts,
        changes=rows,
        base=seen.base,
        base_label=_label(seen.base),
        draft=text,
        token=service.token(runtime.settings, user.login, seen.base, seen.hash, counts),
        diff=service.diff(current.text, text),
        comment=comment,
        error=error,
    )


@router.post(PAGE + "/vorschau", response_class=HTMLResponse)
async def catalogue_preview(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(_admin, request, runtime)
    posted = await _posted(request)
    try:
        text, draft = await run_in_threadpool(_draft_text, runtime, user, posted)
    except InvalidInput as error:
        mode = posted.get("mode", "type")
        failed = Draft(mode, {k: v for k, v in posted.items() if k != "mode"}, [error.message])
        return await run_in_threadpool(_page, request, runtime, user, draft=failed, status_code=422)
    problems = await run_in_threadpool(_problems, runtime, text)
    if problems:
        draft.problems = problems
        if draft.mode == "restore":
            draft = Draft("toml", {"toml": text}, problems)
        return await run_in_threadpool(_page, request, runtime, user, draft=draft, status_code=422)
    return await run_in_threadpool(_preview, request, runtime, user, text)


def _save(runtime: Runtime, user: User, posted: dict[str, str]) -> int:
    counts = {}
    for name in ("letters", "unchanged", "changed", "to_fallback"):
        try:
            counts[name] = int(posted.get(name, ""))
        except ValueError:
            raise InvalidInput(
                "Bitte zuerst die Vorschau für genau diesen Entwurf ansehen."
            ) from None
    with transaction(runtime.sessions) as session:
        row = service.save(
            Gate(session, user),
            runtime.settings,
            posted.get("draft", "").replace("\r\n", "\n"),
            posted.get("comment", ""),
            _number(posted.get("base")),
            counts,
            posted.get("token", ""),
        )
        return row.version


@router.post(PAGE + "/speichern", response_class=HTMLResponse)
async def catalogue_save(request: Request, runtime: RuntimeDep) -> Response:
    user = await run_in_threadpool(_admin, request, runtime)
    posted = await _posted(request)
    try:
        number = await run_in_threadpool(_save, runtime, user, posted)
    except InvalidInput as error:
        text = posted.get("draft", "").replace("\r\n", "\n")
        problems = await run_in_threadpool(_problems, runtime, text)
        if problems:
            failed = Draft("toml", {"toml": text}, problems)
            return await run_in_threadpool(
                _page, request, runtime, user, draft=failed, status_code=422
            )
        return await run_in_threadpool(
            _preview, request, runtime, user, text, posted.get("comment", ""), error.message
        )
    return RedirectResponse(f"{PAGE}?gespeichert={number}", status_code=303)
