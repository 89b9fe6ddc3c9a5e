"""The catalogue of what a request for documents can ask for (issue 19): each item's code,
the German text the letter prints, the document types that fulfil it and whether it names a
period. The product's catalogue is records/request_items.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from records.models import RuntimeSetting

CATALOGUE_FILE = Path(__file__).with_name("request_items.toml")
CATALOGUE_KEY = "request_catalogue"  # the administration's catalogue (runtime_settings)


@dataclass(frozen=True)
class RequestItemType:
    code: str
    label: str
    types: tuple[str, ...]  # document-type codes that fulfil it
    period: bool = False


def parse_catalogue(data: dict[str, Any]) -> dict[str, RequestItemType]:
    """The items of a parsed catalogue, by code, in the file's order."""
    items = data.get("items", {})
    return {
        code: RequestItemType(
            code=code,
            label=str(entry["label"]),
            types=tuple(str(t) for t in entry.get("types", [])),
            period=bool(entry.get("period", False)),
        )
        for code, entry in items.items()
    }


def load_request_catalogue(path: Path = CATALOGUE_FILE) -> dict[str, RequestItemType]:
    with path.open("rb") as handle:
        return parse_catalogue(tomllib.load(handle))


def items_fulfilled_by(catalogue: dict[str, RequestItemType], doc_type: str) -> list[str]:
    """The codes of the items a document of this type fulfils."""
    return [code for code, item in catalogue.items() if doc_type in item.types]


def catalogue_in_force(session: Session) -> dict[str, RequestItemType]:
    """The catalogue in force: the administration's edited version, else the shipped one."""
    row = session.get(RuntimeSetting, CATALOGUE_KEY)
    if row is not None and isinstance(row.value, dict):
        try:
            return parse_catalogue(row.value)
        except (KeyError, TypeError, ValueError):
            pass
    return load_request_catalogue()
