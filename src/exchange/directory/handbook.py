"""The handbook's appendix 5 (private and international schools in Kyrgyzstan, with
their addresses) and appendix 4 (the sister cities of Bishkek, Osh, Karakol and Kant),
shipped with the package as `handbook.json` and loaded as unclaimed directory entries.

Loading is idempotent: an entry is known by its `key`; one already there is left as it
is once claimed, and otherwise brought up to the shipped text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.kernel.text import fold
from exchange.models import DirectoryEntry

SCHOOL = "school"
SISTER_CITY = "sister_city"
KINDS = (SCHOOL, SISTER_CITY)


@dataclass(frozen=True)
class LoadSummary:
    added: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


@cache
def handbook_data() -> dict[str, Any]:
    text = files("exchange.directory").joinpath("handbook.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def towns() -> dict[str, dict[str, str]]:
    """The Kyrgyz towns the handbook's lists name, by key, with their names in ky/ru/en."""
    found: dict[str, dict[str, str]] = handbook_data()["towns"]
    return found


def entry_values() -> list[dict[str, Any]]:
    """Every entry as the table holds it: the schools first, then the sister cities."""
    data = handbook_data()
    town_names = towns()
    values: list[dict[str, Any]] = []
    for school in data["schools"]:
        town = town_names[school["town"]]
        texts = {"town": {code: town[code] for code in ("ky", "ru", "en")}}
        values.append(
            {
                "key": school["key"],
                "kind": SCHOOL,
                "name": school["name"],
                "texts": texts,
                "town_key": school["town"],
                "region": town["region"],
                "school_kind": school["school_kind"],
                "director": school["director"],
                "address": school["address"],
                "contact_email": school["email"],
                "contact_phone": school["phone"],
                "website": school["website"],
            }
        )
    for city in data["sister_cities"]:
        town = town_names[city["of"]]
        texts = {
            "name": dict(city["city"]),
            "country": dict(city["country"]),
            "town": {code: town[code] for code in ("ky", "ru", "en")},
        }
        values.append(
            {
                "key": city["key"],
                "kind": SISTER_CITY,
                "name": f"{city['city']['ky']}, {city['country']['ky']}",
                "texts": texts,
                "town_key": city["of"],
                "region": None,
                "school_kind": None,
                "director": None,
                "address": None,
                "contact_email": None,
                "contact_phone": None,
                "website": None,
            }
        )
    for value in values:
        value["search_text"] = search_text(value)
    return values


def search_text(value: dict[str, Any]) -> str:
    """Every name the entry goes by, in each language, and its address, folded."""
    parts = [value["name"], value.get("address"), value.get("director")]
    for names in value["texts"].values():
        parts.extend(names.values())
    return "\n".join(dict.fromkeys(fold(part) for part in parts if part))


async def load_handbook(session: AsyncSession) -> LoadSummary:
    """Add the entries that are missing and bring unclaimed ones up to the shipped text;
    the caller commits."""
    shipped = entry_values()
    existing = {
        entry.key: entry
        for entry in await session.scalars(
            select(DirectoryEntry).where(DirectoryEntry.key.in_([v["key"] for v in shipped]))
        )
    }
    added = updated = unchanged = 0
    for value in shipped:
        entry = existing.get(value["key"])
        if entry is None:
            session.add(DirectoryEntry(**value))
            added += 1
            continue
        changed = {k: v for k, v in value.items() if getattr(entry, k) != v}
        if changed and entry.claimed_school_id is None:
            for name, new in changed.items():
                setattr(entry, name, new)
            updated += 1
        else:
            unchanged += 1
    await session.flush()
    return LoadSummary(added=added, updated=updated, unchanged=unchanged)
