"""What a recognition decision rests on, in words a caseworker reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Evidence:
    kind: str  # "bg_number", "name", "birth_date", "address", "alias", "phrase", "pattern", ...
    page: int | None
    text: str  # what was read on the page
    detail: str  # German sentence for the inbox

    def as_json(self) -> dict[str, object]:
        return asdict(self)
