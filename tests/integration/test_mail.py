"""E-mail for request events, through a real SMTP server on 127.0.0.1 (aiosmtpd).

Mail goes out only after the change it reports on is committed; a mail server that is
down never undoes a decision."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from structlog.testing import capture_logs

from exchange.config import Settings, SettingsError
from exchange.mail.smtp import SmtpTarget
from tests.background import send_mail
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, ground, sister_schools
from tests.problems import assert_problem

__all__ = ["ground"]

ASK = {"scope": "adapt", "purpose": "Grade 5 maths", "audience": "Our pupils"}
USER, PASSWORD = "exchange", "s3cret pass"


class Inbox:
    """Collects what the SMTP server accepted (it runs in its own thread)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self._lock = threading.Lock()
        # Runs a job worker over the outbox (set per test: its settings and clock).
        self.deliver: Callable[[], Awaitable[object]] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode(),
            data.password.decode(),
        ) == (USER, PASSWORD)
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.logins.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, count: int) -> list[EmailMessage]:
        """What has arrived once a job worker has sent the mail waiting in the outbox."""
        if self.deliver is not None:
            await self.deliver()
        for _ in range(200):
            if len(self.messages) >= count:
                break
            await asyncio.sleep(0.05)
        return list(self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox(smtp_server: tuple[Inbox, int]) -> tuple[Inbox, int]:
    """The module's SMTP server, with nothing received yet: its port stays, so the tests
    share one running app."""
    inbox, _port = smtp_server
    inbox.clear()
    return smtp_server


@pytest.fixture
def settings(settings: Settings, smtp_inbox: tuple[Inbox, int]) -> Settings:
    _, port = smtp_inbox
    return replace(
        settings,
        smtp_url=f"smtp://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{port}",
        mail_from="exchange@school.kg",
    )


@pytest.fixture(autouse=True)
def mail_worker(smtp_inbox: tuple[Inbox, int], settings: Settings, clock: ManualClock) -> None:
    """Waiting for mail first runs a job worker with the app's settings over the outbox."""
    inbox, _ = smtp_inbox
    inbox.deliver = lambda: send_mail(settings, clock)


async def test_a_request_and_its_decision_are_mailed_to_both_sides(
    ground: Ground, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_inbox
    cast = await sister_schools(ground, title="Fractions")
    created = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK
    )
    assert created.status_code == 201
    await inbox.wait_for(2)
    for decider in (cast.author, cast.a.admin):
        (mail,) = inbox.to(decider.email)
        assert mail["From"] == "exchange@school.kg"
        assert "Naryn Village School asks for permission to adapt: “Fractions”" in mail["Subject"]
        assert mail["Content-Language"] == "en"
        body = mail.get_content()
        assert "Grade 5 maths" in body
        assert "approve or decline the request under Requests" in body
    assert inbox.logins and set(inbox.logins) == {USER}

    decided = await cast.author.post(
        f"/api/reuse-requests/{created.json()['id']}/decision",
        json={"decision": "deny", "note": "Being rewritten, ask in May"},
    )
    assert decided.status_code == 200
    await inbox.wait_for(4)
    for requester_side in (cast.b_teacher, cast.b.admin):
        (mail,) = inbox.to(requester_side.email)
        assert "was declined" in mail["Subject"]
        assert "Being rewritten, ask in May" in mail.get_content()


async def test_a_withdrawal_is_mailed_to_the_deciders(
    ground: Ground, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_inbox
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    await inbox.wait_for(2)
    await cast.b_teacher.post(f"/api/reuse-requests/{created['id']}/withdraw")
    await inbox.wait_for(4)
    assert ["withdrew" in m["Subject"] for m in inbox.to(cast.author.email)] == [False, True]


async def test_nothing_is_mailed_when_the_change_is_refused(
    ground: Ground, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_inbox
    cast = await sister_schools(ground, kind="policy", confidential=True)
    assert_problem(
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/reuse-requests", json={**ASK, "scope": "share"}
        ),
        403,
        rule=6,
    )
    assert await send_mail(ground.settings, ground.clock) == 0
    assert inbox.messages == []


async def test_the_overdue_escalation_is_mailed_to_the_owner_admins_once(
    ground: Ground, smtp_inbox: tuple[Inbox, int], clock: ManualClock
) -> None:
    from datetime import timedelta

    inbox, _ = smtp_inbox
    cast = await sister_schools(ground)
    await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    await inbox.wait_for(2)
    clock.advance(timedelta(days=15))
    await ground.run_escalation()
    clock.advance(timedelta(hours=1))
    await ground.run_escalation()
    await inbox.wait_for(3)
    await asyncio.sleep(0.2)
    overdue = [m for m in inbox.messages if m["Subject"].startswith("Overdue")]
    assert [m["To"] for m in overdue] == [cast.a.admin.email]


async def test_the_evaluation_reminder_is_mailed_to_the_responsible_member_once(
    ground: Ground, smtp_inbox: tuple[Inbox, int], clock: ManualClock
) -> None:
    from datetime import timedelta

    inbox, _ = smtp_inbox
    cast = await sister_schools(ground)
    today = clock.now().date().isoformat()
    planned = await cast.author.post(
        f"/api/partnerships/{cast.partnership_id}/activities",
        json={
            "kind": "lesson_visit",
            "title": "A lesson visit in Naryn",
            "starts_on": today,
            "responsible_member_ids": [str(cast.author.member_id)],
        },
    )
    assert planned.status_code == 201, planned.text
    done = await cast.author.post(f"/api/activities/{planned.json()['id']}/done")
    assert done.status_code == 200, done.text
    clock.advance(timedelta(days=8))
    await ground.run_escalation()
    clock.advance(timedelta(days=1))
    await ground.run_escalation()
    await inbox.wait_for(2)  # the author's, and the partner school's admin (named nobody)
    await asyncio.sleep(0.2)
    reminders = [m for m in inbox.messages if "A lesson visit in Naryn" in m["Subject"]]
    assert sorted(m["To"] for m in reminders) == sorted([cast.author.email, cast.b.admin.email])


async def test_a_mail_server_that_is_down_does_not_undo_the_decision_and_the_mail_follows(
    ground: Ground, smtp_inbox: tuple[Inbox, int], settings: Settings, clock: ManualClock
) -> None:
    from datetime import timedelta

    inbox, _ = smtp_inbox
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    await inbox.wait_for(2)
    decided = await cast.author.post(
        f"/api/reuse-requests/{created['id']}/decision", json={"decision": "approve"}
    )
    assert decided.status_code == 200
    # A worker whose mail server does not answer: nothing leaves, nothing is undone.
    dead = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with capture_logs() as logs:
        assert await send_mail(dead, clock) == 2
    assert [entry["event"] for entry in logs].count("job failed") == 2
    again = (await cast.b_teacher.get(f"/api/reuse-requests/{created['id']}")).json()
    assert again["status"] == "approved"
    # The server is back: the mail waits for its next attempt, then goes once.
    assert await send_mail(settings, clock) == 0
    clock.advance(timedelta(seconds=6))
    await inbox.wait_for(4)
    clock.advance(timedelta(hours=3))
    assert await send_mail(settings, clock) == 0
    for requester_side in (cast.b_teacher, cast.b.admin):
        assert len(inbox.to(requester_side.email)) == 1


def test_smtp_urls_are_read_with_credentials_starttls_and_defaults() -> None:
    plain = SmtpTarget.from_url("smtp://mail.school.kg")
    assert (plain.host, plain.port, plain.start_tls, plain.use_tls) == (
        "mail.school.kg",
        25,
        False,
        False,
    )
    submission = SmtpTarget.from_url("smtp://user%40school.kg:p%3Ass@relay:587?starttls=1")
    assert (submission.username, submission.password, submission.port) == (
        "user@school.kg",
        "p:ss",
        587,
    )
    assert submission.start_tls is True
    implicit = SmtpTarget.from_url("smtps://relay")
    assert (implicit.port, implicit.use_tls) == (465, True)
    for bad in ("http://relay", "smtp://", "smtp://relay:notaport"):
        with pytest.raises(SettingsError):
            SmtpTarget.from_url(bad)


async def test_partnership_notices_are_mailed_too(
    ground: Ground, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_inbox
    inviting = await ground.school("Karakol School 2")
    invited = await ground.school("Batken Lyceum")
    response = await inviting.admin.post(
        "/api/partnerships",
        json={
            "partner_school_id": str(invited.id),
            "goals": ["Exchange lesson plans for grade 7 physics"],
            "language": "ru",
        },
    )
    assert response.status_code == 201, response.text
    await inbox.wait_for(1)
    (mail,) = inbox.to(invited.admin.email)
    assert "Karakol School 2" in mail.get_content()


async def test_an_overdue_invitations_reminder_is_mailed_to_the_invited_admins_in_their_language(
    ground: Ground, smtp_inbox: tuple[Inbox, int], clock: ManualClock
) -> None:
    from datetime import timedelta

    inbox, _ = smtp_inbox
    inviting = await ground.school("Karakol School 2")
    invited = await ground.school("Batken Lyceum")
    deputy = await invited.add_member("admin")
    assert (await invited.admin.patch("/api/me", json={"language": "ky"})).status_code == 200
    assert (await deputy.patch("/api/me", json={"language": "ru"})).status_code == 200
    response = await inviting.admin.post(
        "/api/partnerships",
        json={
            "partner_school_id": str(invited.id),
            "goals": ["Exchange lesson plans for grade 7 physics"],
            "language": "ru",
        },
    )
    assert response.status_code == 201, response.text
    await inbox.wait_for(2)
    inbox.clear()
    clock.advance(timedelta(days=30))

    reminded = await inviting.admin.post(f"/api/partnerships/{response.json()['id']}/remind")

    assert reminded.status_code == 200, reminded.text
    await inbox.wait_for(2)
    await asyncio.sleep(0.2)
    assert len(inbox.messages) == 2
    (to_director,) = inbox.to(invited.admin.email)
    (to_deputy,) = inbox.to(deputy.email)
    assert to_director["Content-Language"] == "ky"
    assert "Karakol School 2 мектебиңизге" in to_director.get_content()
    assert "өнөктөштүккө чакыруусун эскертет" in to_director.get_content()
    assert to_deputy["Content-Language"] == "ru"
    assert "напоминает вашей школе о приглашении к партнёрству" in to_deputy.get_content()


async def test_each_recipient_reads_the_mail_in_their_own_language(
    ground: Ground, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_inbox
    cast = await sister_schools(ground, title="Fractions")
    assert (await cast.author.patch("/api/me", json={"language": "ky"})).status_code == 200
    assert (await cast.a.admin.patch("/api/me", json={"language": "ru"})).status_code == 200
    # The teacher who asks reads the exchange in English; the mail follows each reader.
    created = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/reuse-requests",
        json=ASK,
        headers={"Accept-Language": "en"},
    )
    assert created.status_code == 201, created.text
    await inbox.wait_for(2)
    (to_author,) = inbox.to(cast.author.email)
    (to_admin,) = inbox.to(cast.a.admin.email)
    assert to_author["Content-Language"] == "ky"
    assert to_author["Subject"] == (
        "Naryn Village School ыңгайлаштырууга уруксат сурайт: «Fractions»"
    )
    assert to_author.get_content().startswith("Урматтуу Aida Author,")
    assert "«Суроо-талаптар» бөлүмүндө" in to_author.get_content()
    assert to_admin["Content-Language"] == "ru"
    assert (
        to_admin["Subject"] == "«Naryn Village School» просит разрешение на адаптацию: «Fractions»"
    )
    assert to_admin.get_content().startswith("Здравствуйте, Director of Osh School 5!")
    assert "в разделе «Запросы»" in to_admin.get_content()
    assert "Grade 5 maths" in to_admin.get_content()
