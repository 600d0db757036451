"""Upgrading a database that is in use loses nothing.

On SQLite, Alembic's batch mode rebuilds a table to add a constraint (copy, drop, rename);
with foreign keys on, dropping the old table runs the ON DELETE actions of every table
that points at it. A school's data is put in through the API, the database is taken down
to an older revision and up again, and every row of what it holds is still there.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from alembic import command
from sqlalchemy import func, select

from exchange.models import (
    AccessToken,
    Forward,
    Grant,
    Member,
    Notification,
    Partnership,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ResourceVersion,
)
from exchange.schema import _run_outside_event_loop, alembic_config, upgrade
from tests.conduct_fixtures import Ground, grant_by_request, ground

# On SQLite and PostgreSQL: migrations differ per database.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

# The oldest revision taken down to: every later migration runs on the way back up.
OLDEST = "0010"
KEPT = (
    Member,
    AccessToken,
    Notification,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ResourceVersion,
    Grant,
    Forward,
)


async def _counts(ground: Ground) -> dict[str, int]:
    return {
        model.__tablename__: int(
            await ground.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]
        )
        for model in KEPT
    }


@pytest.mark.own_database  # takes the schema down and up again
async def test_going_down_and_up_again_keeps_every_row(ground: Ground) -> None:
    a = await ground.school("Osh School 5")
    author = await a.teacher("Aida Author")
    b = await ground.school("Naryn Village School")
    b_teacher = await b.teacher()
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(a, b)
    await ground.partnership(b, c)
    uploaded = await author.post(
        "/api/resources",
        data={
            "title": "Fractions",
            "kind": "lesson_plan",
            "visibility": "selected",
            "shared_with": str(b.id),
        },
        files={"file": ("plan.txt", b"Fractions in three parts.\n", "text/plain")},
    )
    assert uploaded.status_code == 201, uploaded.text
    resource_id = UUID(uploaded.json()["id"])
    await grant_by_request(ground, b_teacher, author, resource_id, "share")
    forwarded = await b_teacher.post(
        f"/api/resources/{resource_id}/forward", json={"school_id": str(c.id)}
    )
    assert forwarded.status_code == 201, forwarded.text
    before = await _counts(ground)
    assert all(before.values()), before
    await ground.engine.dispose()

    _run_outside_event_loop(command.downgrade, alembic_config(ground.settings), OLDEST)
    upgrade(ground.settings)

    assert await _counts(ground) == before
    assert (await b_teacher.get(f"/api/resources/{resource_id}")).status_code == 200


@pytest.mark.own_database  # takes the schema down and up again
async def test_a_partnership_closed_before_reasons_were_kept_takes_its_reason_from_the_trail(
    ground: Ground,
) -> None:
    a = await ground.school("Osh School 5")
    b = await ground.school("Naryn Village School")
    c = await ground.school("Talas Gymnasium")
    declined = await ground.partnership(a, b, status="invited")
    withdrawn = await ground.partnership(a, c, status="invited")
    answer = await b.admin.post(
        f"/api/partnerships/{declined}/decline", json={"note": "Not this school year."}
    )
    assert answer.status_code == 200, answer.text
    assert (await a.admin.post(f"/api/partnerships/{withdrawn}/withdraw")).status_code == 200
    await ground.engine.dispose()

    _run_outside_event_loop(command.downgrade, alembic_config(ground.settings), "0024")
    upgrade(ground.settings)

    async with ground.session() as session:
        rows = (await session.execute(select(Partnership.id, Partnership.closed_reason))).all()
    reasons = {partnership_id: reason for partnership_id, reason in rows}
    assert reasons[declined] == "Not this school year."
    assert reasons[withdrawn] is None
