"""The requests page: the owner answers from the page (a note is required to refuse),
the asking school sees the answer and the permission."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from babel.dates import format_date

from exchange.config import Settings
from exchange.models import Notification
from tests.actors import SchoolFactory, SchoolHandle
from tests.clock import ManualClock
from tests.pages import Visitor, upload_page
from tests.resource_fixtures import database, make_partners
from tests.sample_files import pdf


async def _asked(
    visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> tuple[Visitor, Visitor, str, str, SchoolHandle]:
    owner, partner = await schools.create("Ош №5"), await schools.create("Нарын №2")
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(), title="Бөлчөктөр")
    page_path = shared.headers["location"].split("?")[0]
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    asked = await reader.post_form(
        f"{page_path}/ask",
        {"scope": "adapt", "purpose": "Grade 6 version", "audience": "Two classes"},
        token_from=page_path,
    )
    assert asked.status_code == 303
    [request] = (await owner.admin.get("/api/reuse-requests?direction=incoming")).json()["items"]
    return author, reader, page_path, request["id"], owner


async def test_the_owner_approves_and_the_partner_sees_the_permission(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    author, reader, page_path, request_id, owner = await _asked(visitors, schools, settings)
    home = await author.get("/")
    assert home.status_code == 200
    assert f'href="/requests#request-{request_id}"' in home.text
    assert "Нарын №2" in home.text
    partner_home = await reader.get("/")
    assert f'href="{page_path}"' in partner_home.text  # shared by a partner recently
    inbox = await author.get("/requests")
    assert inbox.status_code == 200
    assert f'action="/requests/{request_id}/decision"' in inbox.text
    assert "Grade 6 version" in inbox.text
    approved = await author.post_form(
        f"/requests/{request_id}/decision",
        {"decision": "approve", "note": "", "expires_at": "2099-06-30"},
        token_from="/requests",
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/requests?decided=approve#request-{request_id}"
    notices = await reader.get("/inbox")
    assert notices.status_code == 200
    assert f'href="/requests#request-{request_id}"' in notices.text
    theirs = await reader.get("/requests?lang=en")
    assert f'id="request-{request_id}"' in theirs.text
    assert "Approved" in theirs.text
    resource_page = await reader.get(page_path)
    assert "Нарын №2" in resource_page.text  # the grant names the school that holds it
    page_language = re.search(r'<html lang="(\w+)"', resource_page.text)
    assert page_language
    until = format_date(date(2099, 6, 30), format="long", locale=page_language.group(1))
    assert until in resource_page.text  # the permission's end, as the reader's language writes it

    owner_page = await author.get(page_path)
    revoke = re.search(r'action="(/resources/[^"]+/grants/[^"]+/revoke)"', owner_page.text)
    assert revoke
    assert (await author.post_form(revoke.group(1), {}, token_from=page_path)).status_code == 303
    resource_id = page_path.split("/")[2]
    grants = (await owner.admin.get(f"/api/resources/{resource_id}/grants")).json()["items"]
    assert [g["status"] for g in grants if g["source"] == "request"] == ["revoked"]


async def test_a_refusal_needs_a_note(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    author, _reader, _page_path, request_id, owner = await _asked(visitors, schools, settings)
    refused = await author.post_form(
        f"/requests/{request_id}/decision", {"decision": "deny", "note": ""}, token_from="/requests"
    )
    assert refused.status_code == 422
    assert f'<a href="#note-{request_id}">' in refused.text
    assert f'id="note-{request_id}-error"' in refused.text
    [still] = (await owner.admin.get("/api/reuse-requests?direction=incoming")).json()["items"]
    assert still["status"] == "pending"
    denied = await author.post_form(
        f"/requests/{request_id}/decision",
        {"decision": "deny", "note": "It is being rewritten; ask again in May."},
        token_from="/requests",
    )
    assert denied.status_code == 303
    [answered] = (await owner.admin.get("/api/reuse-requests?direction=incoming")).json()["items"]
    assert answered["status"] == "denied"
    assert answered["decision_note"] == "It is being rewritten; ask again in May."


async def test_a_school_with_a_share_permission_passes_the_resource_on_from_its_page(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner, third = (
        await schools.create("Ош №5"),
        await schools.create("Нарын №2"),
        await schools.create("Талас №1"),
    )
    await make_partners(settings, owner.id, partner.id)
    await make_partners(settings, partner.id, third.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(), title="Бөлчөктөр")
    page_path = shared.headers["location"].split("?")[0]
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    await reader.post_form(
        f"{page_path}/ask",
        {"scope": "share", "purpose": "For our partner in Talas", "audience": "Their teachers"},
        token_from=page_path,
    )
    [request] = (await owner.admin.get("/api/reuse-requests?direction=incoming")).json()["items"]
    approved = await author.post_form(
        f"/requests/{request['id']}/decision", {"decision": "approve"}, token_from="/requests"
    )
    assert approved.status_code == 303
    outgoing = await reader.get("/requests")
    assert f'href="{page_path}#forward"' in outgoing.text
    resource_page = await reader.get(page_path)
    assert f'action="{page_path}/forward"' in resource_page.text
    assert "Талас №1" in resource_page.text
    assert "Ош №5</option>" not in resource_page.text  # not back to its owner
    stranger = visitors()
    await stranger.sign_in(third.admin.email)
    assert (await stranger.get(page_path)).status_code == 404
    passed = await reader.post_form(
        f"{page_path}/forward", {"school_id": str(third.id)}, token_from=page_path
    )
    assert passed.status_code == 303
    assert passed.headers["location"] == f"{page_path}?forwarded=1#forward"
    assert (await stranger.get(page_path)).status_code == 200
    owner_view = await author.get(page_path)
    assert "Нарын №2 → Талас №1" in owner_view.text


async def test_the_home_page_shows_what_partners_shared_until_the_member_marks_it_seen(
    client: object,
    visitors: Callable[[], Visitor],
    schools: SchoolFactory,
    settings: Settings,
    clock: ManualClock,
) -> None:
    owner, partner = await schools.create("Ош №5"), await schools.create("Нарын №2")
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    await upload_page(author, pdf(), title="Бөлчөктөр")
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    # Looking is not seeing: the page shows the same until the member says so.
    for _ in range(2):
        clock.set(datetime.now(UTC))  # a resource's creation is stamped with the real time
        home = await reader.get("/")
        assert home.status_code == 200
        assert "Бөлчөктөр" in home.text
    until = re.search(r'name="seen_until" value="([^"]+)"', home.text)
    assert until
    marked = await reader.post_form(
        "/dashboard/seen", {"seen_until": until.group(1)}, token_from="/"
    )
    assert marked.status_code == 303
    assert marked.headers["location"] == "/#home-recent"
    home = await reader.get("/")
    assert "Бөлчөктөр" not in home.text
    assert 'action="/dashboard/seen"' not in home.text
    # What a partner shares afterwards is new again.
    await upload_page(author, pdf(), title="Көбөйтүү жадыбалы")
    clock.set(datetime.now(UTC))
    assert "Көбөйтүү жадыбалы" in (await reader.get("/")).text


@pytest.mark.every_database  # the home page's inbox is read on either database's path
async def test_the_home_page_shows_the_newest_unread_notices_as_the_inbox_api_lists_them(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school, other = await schools.create("Ош №5"), await schools.create("Нарын №2")
    start = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    async with database(settings) as session:
        for number in range(8):
            session.add(
                Notification(
                    recipient_member_id=school.admin.member_id,
                    school_id=school.id,
                    kind="reuse_request.created",
                    subject_type="resource",
                    subject_id=uuid4(),
                    payload={"message": f"Notice number {number}"},
                    created_at=start + timedelta(minutes=number),
                    read_at=start if number == 7 else None,  # the newest one is read
                )
            )
        session.add(
            Notification(
                recipient_member_id=other.admin.member_id,
                school_id=other.id,
                kind="reuse_request.created",
                subject_type="resource",
                subject_id=uuid4(),
                payload={"message": "Somebody else's notice"},
                created_at=start,
            )
        )
        await session.commit()
    member = visitors()
    await member.sign_in(school.admin.email)
    home = (await member.get("/?lang=en")).text
    unread = (await school.admin.get("/api/notifications?unread=true&limit=5")).json()
    shown = [item["message"] for item in unread["items"]]
    assert shown == [f"Notice number {n}" for n in (6, 5, 4, 3, 2)]
    assert [m for m in re.findall(r"Notice number \d", home)] == shown  # newest first
    assert f"See all {unread['unread_count']} unread notices" in home
    assert "Notice number 7" not in home and "Somebody else's notice" not in home
