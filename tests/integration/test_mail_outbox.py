"""The mail outbox: a mail is stored with the change it reports and sent by a job worker,
once, whichever worker takes it, after the mail server's failures, and never for a
change that was rolled back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.config import Settings
from exchange.mail.outbox import SEND_MAIL, compose, queue_mail
from exchange.models import Job, OutgoingMail
from exchange.unit_of_work import unit_of_work
from tests.background import send_mail
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, ground
from tests.integration.test_mail import Inbox, free_port

__all__ = ["ground"]

pytestmark = pytest.mark.every_database

GOALS = ["Exchange lesson plans for grade 7 physics"]


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:
    smtp_server[0].clear()
    return smtp_server[0]


@pytest.fixture
def settings(settings: Settings, smtp_server: tuple[Inbox, int]) -> Settings:
    return replace(
        settings, smtp_url=f"smtp://127.0.0.1:{smtp_server[1]}", mail_from="exchange@school.kg"
    )


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutgoingMail]:
    async with sessions() as session:
        return list(await session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


async def mail_jobs(sessions: async_sessionmaker[AsyncSession]) -> list[Job]:
    async with sessions() as session:
        return list(await session.scalars(select(Job).where(Job.kind == SEND_MAIL)))


async def write_mails(ground: Ground, count: int) -> None:
    """Commit `count` mails, as a service writing them with its change does."""
    async with ground.sessions() as session:
        uow = unit_of_work(session, ground.clock)
        queue_mail(
            uow,
            [
                compose(
                    sender="exchange@school.kg",
                    to=f"teacher{n}@school.kg",
                    subject=f"Notice {n}",
                    body=f"Notice number {n}.",
                )
                for n in range(count)
            ],
        )
        await uow.commit()


async def test_a_mail_committed_before_its_process_stopped_is_sent_by_another_worker(
    ground: Ground, inbox: Inbox, settings: Settings, clock: ManualClock
) -> None:
    inviting = await ground.school("Karakol School 2")
    invited = await ground.school("Batken Lyceum")
    answer = await inviting.admin.post(
        "/api/partnerships",
        json={"partner_school_id": str(invited.id), "goals": GOALS, "language": "ru"},
    )
    assert answer.status_code == 201, answer.text
    # The app that acknowledged the invitation runs no worker: it may stop now, and the
    # mail is in the database with the invitation.
    (waiting,) = await outbox(ground.sessions)
    assert (waiting.recipient, waiting.sent_at) == (invited.admin.email, None)
    assert waiting.message is not None and b"Karakol School 2" in waiting.message
    assert inbox.messages == []

    assert await send_mail(settings, clock) == 1

    (mail,) = inbox.to(invited.admin.email)
    assert "Karakol School 2" in mail.get_content()
    (sent,) = await outbox(ground.sessions)
    assert sent.sent_at is not None
    assert sent.message is None  # the message itself is not kept once sent
    assert [job.status for job in await mail_jobs(ground.sessions)] == ["done"]


async def test_two_workers_send_each_mail_once(
    ground: Ground, inbox: Inbox, settings: Settings, clock: ManualClock
) -> None:
    await write_mails(ground, 12)

    ran = await asyncio.gather(send_mail(settings, clock), send_mail(settings, clock))

    assert sum(ran) == 12
    assert sorted(m["To"] for m in inbox.messages) == sorted(
        f"teacher{n}@school.kg" for n in range(12)
    )
    assert len({m["Message-ID"] for m in inbox.messages}) == 12
    assert all(mail.sent_at is not None for mail in await outbox(ground.sessions))
    assert await send_mail(settings, clock) == 0
    assert len(inbox.messages) == 12


async def test_a_mail_is_sent_again_after_the_mail_server_failed(
    ground: Ground, inbox: Inbox, settings: Settings, clock: ManualClock
) -> None:
    await write_mails(ground, 1)
    dead = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")

    assert await send_mail(dead, clock) == 1

    (job,) = await mail_jobs(ground.sessions)
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.last_error
    (waiting,) = await outbox(ground.sessions)
    assert waiting.sent_at is None and waiting.message is not None
    # Not at once: after the queue's delay.
    assert await send_mail(settings, clock) == 0
    clock.advance(timedelta(seconds=6))
    assert await send_mail(settings, clock) == 1
    (mail,) = inbox.messages
    assert mail["To"] == "teacher0@school.kg"
    (job,) = await mail_jobs(ground.sessions)
    assert (job.status, job.attempts) == ("done", 2)
    clock.advance(timedelta(hours=3))
    assert await send_mail(settings, clock) == 0
    assert len(inbox.messages) == 1


async def test_a_change_rolled_back_sends_nothing(
    ground: Ground, inbox: Inbox, settings: Settings, clock: ManualClock
) -> None:
    async with ground.sessions() as session:
        uow = unit_of_work(session, clock)
        queue_mail(
            uow,
            [compose(sender="exchange@school.kg", to="t@school.kg", subject="S", body="B")],
        )
        await uow.publish()  # the mail is written in the transaction...
        await session.flush()
        assert await session.scalar(select(func.count()).select_from(OutgoingMail)) == 1
        await session.rollback()  # ...which does not commit

    assert await outbox(ground.sessions) == []
    assert await mail_jobs(ground.sessions) == []
    assert await send_mail(settings, clock) == 0
    assert inbox.messages == []


async def test_a_mail_given_up_keeps_no_message(
    ground: Ground, inbox: Inbox, settings: Settings, clock: ManualClock
) -> None:
    await write_mails(ground, 1)
    dead = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    for _ in range(10):
        await send_mail(dead, clock)
        clock.advance(timedelta(hours=2))

    (job,) = await mail_jobs(ground.sessions)
    assert job.status == "failed"
    (given_up,) = await outbox(ground.sessions)
    assert (given_up.recipient, given_up.sent_at, given_up.message) == (
        "teacher0@school.kg",
        None,
        None,
    )
    assert inbox.messages == []
