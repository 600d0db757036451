"""Members join and recover by one-time link, and change their own password."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from exchange.app import create_app
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import PasswordLink
from tests.actors import PASSWORD, SchoolFactory, SchoolHandle
from tests.background import send_mail
from tests.clock import ManualClock
from tests.live_server import free_port
from tests.problems import assert_problem

NEW_PASSWORD = "a brand new passphrase"


def token_of(url: str) -> str:
    (token,) = parse_qs(urlsplit(url).query)["token"]
    return token


async def add_without_password(school: SchoolHandle, email: str) -> dict[str, Any]:
    response = await school.admin.post(
        "/api/members", json={"email": email, "full_name": "Жаңы Мугалим", "role": "teacher"}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def set_password(
    client: AsyncTestClient[Litestar], token: str, password: str = NEW_PASSWORD
) -> Any:
    return await client.post(
        "/api/auth/set-password", json={"token": token, "new_password": password}
    )


async def sign_in(client: AsyncTestClient[Litestar], email: str, password: str) -> Any:
    return await client.post("/api/auth/token", json={"email": email, "password": password})


async def test_a_member_added_without_a_password_sets_theirs_with_the_link(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], clock: ManualClock
) -> None:
    school = await schools.create()
    added = await add_without_password(school, "new.teacher@school.kg")
    assert added["email"] == "new.teacher@school.kg"
    assert added["link_emailed"] is False
    assert added["set_password_url"].startswith("http://127.0.0.1:8000/set-password?token=")
    expires_at = datetime.fromisoformat(added["expires_at"])
    assert expires_at == clock.now() + timedelta(hours=72)
    # No password works before the link is used.
    assert_problem(await sign_in(client, "new.teacher@school.kg", ""), 422)
    assert_problem(await sign_in(client, "new.teacher@school.kg", "anything at all"), 401)

    response = await set_password(client, token_of(added["set_password_url"]))
    assert response.status_code == 204, response.text
    signed_in = await sign_in(client, "new.teacher@school.kg", NEW_PASSWORD)
    assert signed_in.status_code == 200
    me = await client.get(
        "/api/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    )
    assert me.json()["id"] == added["id"]


async def test_a_member_added_with_a_password_gets_no_link(schools: SchoolFactory) -> None:
    school = await schools.create()
    response = await school.admin.post(
        "/api/members",
        json={"email": "with.password@school.kg", "full_name": "X Y", "password": PASSWORD},
    )
    assert response.status_code == 201
    assert response.json()["set_password_url"] is None
    assert response.json()["expires_at"] is None


async def test_a_used_link_says_so_and_does_not_work_again(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    school = await schools.create()
    added = await add_without_password(school, "once@school.kg")
    token = token_of(added["set_password_url"])
    assert (await set_password(client, token)).status_code == 204
    again = await set_password(client, token, "someone else's password")
    body = assert_problem(again, 409)
    assert body["link_status"] == "used"
    assert "already used" in body["detail"]
    assert_problem(await sign_in(client, "once@school.kg", "someone else's password"), 401)
    assert (await sign_in(client, "once@school.kg", NEW_PASSWORD)).status_code == 200


async def test_an_expired_link_says_so(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], clock: ManualClock
) -> None:
    school = await schools.create()
    added = await add_without_password(school, "late@school.kg")
    clock.advance(timedelta(hours=72, seconds=1))
    expired = await set_password(client, token_of(added["set_password_url"]))
    body = assert_problem(expired, 409)
    assert body["link_status"] == "expired"
    assert "expired on" in body["detail"]
    assert_problem(await sign_in(client, "late@school.kg", NEW_PASSWORD), 401)


async def test_an_unknown_token_is_404_and_a_weak_password_keeps_the_link(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    school = await schools.create()
    added = await add_without_password(school, "weak@school.kg")
    assert_problem(await set_password(client, "not-a-token-the-exchange-made"), 404)
    token = token_of(added["set_password_url"])
    short = assert_problem(await set_password(client, token, "short"), 422)
    assert "at least 10" in short["detail"]
    assert (await set_password(client, token)).status_code == 204


async def test_links_are_stored_only_as_hashes(schools: SchoolFactory, settings: Settings) -> None:
    school = await schools.create()
    added = await add_without_password(school, "hashed@school.kg")
    token = token_of(added["set_password_url"])
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            links = list(await session.scalars(select(PasswordLink)))
    finally:
        await engine.dispose()
    assert [str(link.member_id) for link in links] == [added["id"]]
    assert links[0].token_hash != token and len(links[0].token_hash) == 64
    assert token not in links[0].token_hash


async def test_an_admin_resets_a_password_and_earlier_links_and_sign_ins_end(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    first = await school.admin.post(f"/api/members/{teacher.member_id}/password-reset")
    assert first.status_code == 201, first.text
    assert first.json()["member_id"] == str(teacher.member_id)
    assert first.json()["emailed"] is False
    second = await school.admin.post(f"/api/members/{teacher.member_id}/password-reset")
    assert second.status_code == 201
    # Until a link is used the old password still works.
    assert (await sign_in(client, teacher.email, PASSWORD)).status_code == 200
    replaced = await set_password(client, token_of(first.json()["set_password_url"]))
    assert assert_problem(replaced, 409)["link_status"] == "replaced"

    assert (
        await set_password(client, token_of(second.json()["set_password_url"]))
    ).status_code == 204
    assert_problem(await teacher.get("/api/me"), 401)
    assert_problem(await sign_in(client, teacher.email, PASSWORD), 401)
    assert (await sign_in(client, teacher.email, NEW_PASSWORD)).status_code == 200


async def test_resets_are_for_admins_of_the_members_school_only(
    schools: SchoolFactory,
) -> None:
    school_a = await schools.create()
    school_b = await schools.create()
    teacher_a = await school_a.teacher()
    colleague = await school_a.teacher()
    assert_problem(
        await school_b.admin.post(f"/api/members/{teacher_a.member_id}/password-reset"), 404
    )
    assert_problem(await school_b.admin.post(f"/api/members/{uuid4()}/password-reset"), 404)
    assert_problem(await colleague.post(f"/api/members/{teacher_a.member_id}/password-reset"), 403)
    disabled = await school_a.admin.post(f"/api/members/{colleague.member_id}/disable")
    assert disabled.status_code == 200
    assert_problem(
        await school_a.admin.post(f"/api/members/{colleague.member_id}/password-reset"), 409
    )


async def test_changing_ones_password_needs_the_current_one_and_ends_other_sign_ins(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    other_device = await schools.sign_in(teacher.email)
    pending = await school.admin.post(f"/api/members/{teacher.member_id}/password-reset")

    wrong = await teacher.post(
        "/api/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    body = assert_problem(wrong, 422)
    assert body["errors"][0]["field"] == "current_password"
    weak = await teacher.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert_problem(weak, 422)
    assert (await other_device.get("/api/me")).status_code == 200

    changed = await teacher.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    assert (await teacher.get("/api/me")).status_code == 200
    assert_problem(await other_device.get("/api/me"), 401)
    assert_problem(await sign_in(client, teacher.email, PASSWORD), 401)
    assert (await sign_in(client, teacher.email, NEW_PASSWORD)).status_code == 200
    # A link issued before the change no longer works.
    voided = await set_password(client, token_of(pending.json()["set_password_url"]))
    assert assert_problem(voided, 409)["link_status"] == "replaced"


async def test_wrong_current_passwords_are_throttled(schools: SchoolFactory) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    statuses = []
    for _ in range(6):
        response = await teacher.post(
            "/api/me/password",
            json={"current_password": "a wrong guess!", "new_password": NEW_PASSWORD},
        )
        statuses.append(response.status_code)
    assert statuses == [422] * 5 + [429]


async def test_password_events_are_in_the_schools_audit_trail(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    school = await schools.create()
    added = await add_without_password(school, "audited@school.kg")
    assert (await set_password(client, token_of(added["set_password_url"]))).status_code == 204
    changed = await school.admin.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204
    events = (await school.admin.get("/api/audit")).json()["items"]
    by_action = {event["action"]: event for event in events}
    issued = by_action["member.password_link_issued"]
    assert issued["details"] == {
        "member_id": added["id"],
        "purpose": "join",
        "emailed": added["link_emailed"],
    }
    assert issued["actor"]["id"] == str(school.admin.member_id)
    password_set = by_action["member.password_set"]
    assert password_set["details"] == {
        "member_id": added["id"],
        "purpose": "join",
        "sign_ins_ended": 0,
    }
    assert password_set["actor"] is None  # whoever held the link
    password_changed = by_action["member.password_changed"]
    assert password_changed["details"]["member_id"] == str(school.admin.member_id)
    assert password_changed["details"]["sign_ins_ended"] >= 0
    assert password_changed["actor"]["id"] == str(school.admin.member_id)
    assert all(added["set_password_url"].split("token=")[1] not in str(e) for e in events)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        # Runs a job worker over the outbox (set per test: its settings and clock).
        self.deliver: Callable[[], Awaitable[object]] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    async def wait_for(self, count: int) -> list[EmailMessage]:
        """What has arrived once a job worker has sent the mail waiting in the outbox."""
        if self.deliver is not None:
            await self.deliver()
        for _ in range(200):
            if len(self.messages) >= count:
                break
            await asyncio.sleep(0.05)
        return list(self.messages)


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_links_are_emailed_with_the_configured_public_address(
    settings: Settings, clock: ManualClock, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_inbox
    mailing = replace(
        settings, smtp_url=f"smtp://127.0.0.1:{port}", public_url="https://exchange.example.kg/"
    )
    inbox.deliver = lambda: send_mail(mailing, clock)
    async with AsyncTestClient(app=create_app(mailing, clock=clock)) as client:
        school = await SchoolFactory(client, mailing).create("Ош №5")
        added = await add_without_password(school, "mailed@school.kg")
        assert added["link_emailed"] is True
        url = added["set_password_url"]
        assert url.startswith("https://exchange.example.kg/set-password?token=")
        (mail,) = await inbox.wait_for(1)
        assert mail["To"] == "mailed@school.kg"
        body = mail.get_content()
        assert url in body
        assert "Ош №5" in body
        # A member who has chosen no language, of a school that names none: Kyrgyz.
        assert mail["Content-Language"] == "ky"
        assert body.startswith("Урматтуу ")
        reset = await school.admin.post(f"/api/members/{added['id']}/password-reset")
        assert reset.json()["emailed"] is True
        messages = await inbox.wait_for(2)
        assert reset.json()["set_password_url"] in messages[1].get_content()
