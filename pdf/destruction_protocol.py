"""The destruction protocol (issue 17) as a tagged PDF/A-2: the facts of one destruction as
label-value fields, laid out by pdf.access_report. The caller hands in the German labels and
values; the protocol names no client (BG number, ids, dates, rule, counts, approvers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pdf.access_report import Report, Section, build_report

TITLE = "Vernichtungsprotokoll"
INTRO = (
    "Dieses Protokoll belegt die Vernichtung nach Ablauf der Aufbewahrungsfrist bzw. die "
    "Löschung eines einzelnen Dokuments nach Freigabe durch zwei Personen (Vier-Augen-Prinzip). "
    "Vernichtet wurden die Datenbankeinträge, die gespeicherten Objekte mit allen Versionen und "
    "die Einträge im Suchindex. Es enthält keine Namen, Anschriften oder Inhalte."
)


@dataclass(frozen=True)
class ProtocolFacts:
    fields: Sequence[tuple[str, str]]
    created_at: datetime


def build_protocol_pdf(facts: ProtocolFacts) -> bytes:
    return build_report(
        Report(
            title=TITLE,
            fields=[],
            intro=INTRO,
            sections=[Section(heading="Angaben", fields=facts.fields)],
            footer=TITLE,
            producer="E-Akte",
            created_at=facts.created_at,
        )
    )
