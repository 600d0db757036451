"""Partnerships in tests: invitations and accepted partnerships between test schools."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.actors import Actor, SchoolHandle

GOALS = [
    "Improve assessment of students' achievement in Kyrgyz language lessons",
    "Exchange lesson plans for grade 7 mathematics",
]


async def invite(inviter: SchoolHandle | Actor, partner: SchoolHandle | UUID, **fields: Any) -> Any:
    """POST /api/partnerships as `inviter` (a school's first admin, or any actor)."""
    actor = inviter.admin if isinstance(inviter, SchoolHandle) else inviter
    partner_id = partner.id if isinstance(partner, SchoolHandle) else partner
    body: dict[str, Any] = {
        "partner_school_id": str(partner_id),
        "characteristics": ["local", "virtual"],
        "goals": GOALS,
        "language": "en",
        **fields,
    }
    return await actor.post("/api/partnerships", json=body)


async def invited(inviter: SchoolHandle, partner: SchoolHandle, **fields: Any) -> str:
    response = await invite(inviter, partner, **fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def partners(inviter: SchoolHandle, partner: SchoolHandle, **fields: Any) -> str:
    """An active partnership: `inviter` invites, `partner`'s first admin accepts."""
    partnership_id = await invited(inviter, partner, **fields)
    response = await partner.admin.post(f"/api/partnerships/{partnership_id}/accept")
    assert response.status_code == 200, response.text
    return partnership_id
