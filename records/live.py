"""Change tokens for the pages a caseworker keeps open (Postkorb, E-Akte): a short fingerprint
of what the page shows, computed by the database in a query or two, so that an open page asks
"has anything changed?" cheaply (HTTP ETag, 304 when not) and fetches the page's data only
when it has. A token is built only from what the user may see; it reveals nothing else.
(The Postkorb's token is records.inbox.change_token.)
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from records.access import Gate, in_case_file_clause
from records.models import Appeal, Document, FileExport, Note, Objection


def fingerprint(*parts: object) -> str:
    """A change token from what a page shows, as plain values (ids, counts, times)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def file_token(gate: Gate, bg_number: str) -> str:
    """The E-Akte's token: its documents (arrived, left, changed), notes, objections, appeals
    and exports. The access check is the file's own (a refusal is audited); an allowed check
    is not (the file's read is, when the page fetches it)."""
    session = gate.session
    household, _ = gate.household(bg_number, "household.changes", audited=False)
    documents = session.execute(
        select(func.count(), func.max(Document.updated_at)).where(
            Document.household_id == household.id, in_case_file_clause()
        )
    ).one()
    notes = session.execute(
        select(func.count(), func.max(Note.id)).where(
            (Note.household_id == household.id)
            | Note.document_id.in_(select(Document.id).where(Document.household_id == household.id))
        )
    ).one()
    legal = [
        session.execute(
            select(table.id, table.status).where(table.household_id == household.id)
        ).all()
        for table in (Objection, Appeal)
    ]
    exports = session.execute(
        select(func.count(), func.max(FileExport.id)).where(FileExport.household_id == household.id)
    ).one()
    return fingerprint(
        household.id,
        household.updated_at,
        tuple(documents),
        tuple(notes),
        [[tuple(row) for row in rows] for rows in legal],
        tuple(exports),
    )
