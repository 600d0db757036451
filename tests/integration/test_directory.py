"""Schools that are not on the exchange yet: the handbook's lists loaded as unclaimed
entries, invitations by e-mail, claims of an entry and registering through the link,
through the app over HTTP with a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.cli import main
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.directory.handbook import entry_values, handbook_data, load_handbook
from exchange.models import AuditEvent, DirectoryEntry, RegistrationLink, School
from tests.actors import SchoolFactory, SchoolHandle
from tests.background import send_mail
from tests.clock import ManualClock
from tests.live_server import free_port
from tests.partnering import GOALS
from tests.problems import assert_problem
from tests.settings import settings_env

pytestmark = pytest.mark.every_database

PASSWORD = "our school's long passphrase"
EVRIKA = "evrika-bishkek"  # the handbook gives its e-mail address
QSI = "qsi-bishkek"  # the handbook gives its web site only
ILIM = "ilim-bishkek"  # the handbook gives neither
EVRIKA_MAIL = "evrika_bi@mail.ru"


class Inbox:
    """What the SMTP server accepted (it runs in its own thread)."""

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
def inbox(smtp_server: tuple[Inbox, int], settings: Settings, clock: ManualClock) -> Inbox:
    smtp_server[0].messages.clear()
    smtp_server[0].deliver = lambda: send_mail(settings, clock)
    return smtp_server[0]


@pytest.fixture
def settings(settings: Settings, smtp_server: tuple[Inbox, int]) -> Settings:
    return replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp_server[1]}")


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as db:
            yield db
    finally:
        await engine.dispose()


@pytest.fixture
async def entries(session: AsyncSession, client: AsyncTestClient[Litestar]) -> dict[str, str]:
    """The handbook loaded: each entry's id by its key."""
    await load_handbook(session)
    await session.commit()
    rows = await session.execute(select(DirectoryEntry.key, DirectoryEntry.id))
    return {key: str(entry_id) for key, entry_id in rows}


def token_of(url: str) -> str:
    (token,) = parse_qs(urlsplit(url).query)["token"]
    return token


def link_in(mail: EmailMessage) -> str:
    body = mail.get_content()
    (url,) = [line for line in body.splitlines() if "/register?token=" in line]
    return url.strip()


async def register(client: AsyncTestClient[Litestar], token: str, **fields: Any) -> Any:
    body = {"token": token, "full_name": "Айгүл Асанова", "password": PASSWORD, **fields}
    return await client.post("/api/directory/registrations", json=body)


async def signed_in(client: AsyncTestClient[Litestar], email: str) -> dict[str, str]:
    response = await client.post("/api/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def invite_by_email(inviter: SchoolHandle, **fields: Any) -> Any:
    body = {"goals": GOALS, "language": "ru", "characteristics": ["local"], **fields}
    return await inviter.admin.post("/api/directory/invitations", json=body)


# --- loading the handbook ------------------------------------------------------------------


def test_load_handbook_loads_both_appendices_once_and_says_so_in_the_console_language(
    settings: Settings, session_clock: ManualClock
) -> None:
    env = {**settings_env(settings), "LANG": "ru_RU.UTF-8", "LC_ALL": "", "LANGUAGE": ""}
    runner = CliRunner()
    first = runner.invoke(main, ["directory", "load-handbook"], env=env)
    assert first.exit_code == 0, first.output
    data = handbook_data()
    total = len(data["schools"]) + len(data["sister_cities"])
    assert total == 28
    assert "28" in first.output and "добавлено" in first.output, first.output
    again = runner.invoke(main, ["directory", "load-handbook"], env=env)
    assert again.exit_code == 0, again.output
    assert "0 добавлено" in again.output, again.output

    async def stored() -> list[tuple[str, str, str | None]]:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as db:
                rows = await db.execute(
                    select(DirectoryEntry.key, DirectoryEntry.kind, DirectoryEntry.address)
                )
                return [tuple(row) for row in rows]  # type: ignore[misc]
        finally:
            await engine.dispose()

    rows = asyncio.run(stored())
    assert sorted(key for key, _kind, _address in rows) == sorted(v["key"] for v in entry_values())
    by_key = {key: (kind, address) for key, kind, address in rows}
    # Appendix 5 with the handbook's addresses, appendix 4 as sister cities.
    assert by_key[EVRIKA] == ("school", "Бишкек ш., Байтик Баатыр көч., 36 А")
    assert by_key["aga-khan-school-osh"][1] == "Курманжан датка көчөсү, 93, Ош, Кыргызстан"
    assert by_key["kant-vidnoye"][0] == "sister_city"
    assert sum(kind == "school" for kind, _ in by_key.values()) == 11
    assert sum(kind == "sister_city" for kind, _ in by_key.values()) == 17


async def test_the_directory_shows_entries_as_not_on_the_exchange_with_the_handbooks_words(
    schools: SchoolFactory, entries: dict[str, str]
) -> None:
    school = await schools.create()
    listed = await school.admin.get(
        "/api/directory/entries", params={"q": "Эврика"}, headers={"Accept-Language": "ru"}
    )
    assert listed.status_code == 200, listed.text
    (evrika,) = listed.json()["items"]
    assert evrika["on_exchange"] is False
    assert evrika["name"] == "«Эврика» билим берүүчү комплекс-гимназиясы"
    assert evrika["address"] == "Бишкек ш., Байтик Баатыр көч., 36 А"
    assert evrika["town"] == "Бишкек"
    assert evrika["claimable"] is True
    assert {"city": "Урумчи", "country": "Китайская Народная Республика"} in [
        {"city": c["city"], "country": c["country"]} for c in evrika["sister_cities"]
    ]
    cities = await school.admin.get(
        "/api/directory/entries", params={"kind": "sister_city", "q": "Kant", "limit": 50}
    )
    assert {c["name"] for c in cities.json()["items"]} == {
        "Joppatowne, USA",
        "Vidnoye, Russia",
    }
    ilim = await school.admin.get(f"/api/directory/entries/{entries[ILIM]}")
    assert ilim.json()["claimable"] is False
    # An entry is not an account: nobody signs in to it.
    assert_problem(
        await school.admin.client.post(
            "/api/auth/token", json={"email": EVRIKA_MAIL, "password": PASSWORD}
        ),
        401,
    )


# --- inviting by e-mail -------------------------------------------------------------------


async def test_an_entry_invited_by_email_registers_and_finds_the_invitation_waiting(
    schools: SchoolFactory,
    client: AsyncTestClient[Litestar],
    entries: dict[str, str],
    inbox: Inbox,
    session: AsyncSession,
) -> None:
    inviter = await schools.create("Нарын айылындагы мектеп")
    answer = await invite_by_email(inviter, entry_id=entries[QSI], email="Director@QSI.org")
    assert answer.status_code == 201, answer.text
    sent = answer.json()
    assert sent["status"] == "waiting" and sent["emailed"] is True
    assert sent["school_name"] == "QSI International School Бишкек"
    url = sent["registration_url"]
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "director@qsi.org"
    assert mail["Content-Language"] == "ru"
    assert link_in(mail) == url
    assert "Нарын айылындагы мектеп" in mail.get_content()
    # The handbook's letter goes with it, naming the school and its address as the
    # handbook gives them.
    assert sent["invitation_letter"] in mail.get_content()
    assert "QSI International School Бишкек" in sent["invitation_letter"]
    assert "Тыныстанов көч., 14A" in sent["invitation_letter"]
    # Only the token's hash is kept.
    stored = await session.scalar(select(RegistrationLink.token_hash))
    assert stored is not None and token_of(url) not in stored
    # The list does not show the link again.
    listed = await inviter.admin.get("/api/directory/invitations")
    assert listed.json()["items"][0]["registration_url"] is None

    looked = await client.post("/api/directory/registration", json={"token": token_of(url)})
    assert looked.json()["inviting_school"] == "Нарын айылындагы мектеп"
    made = await register(client, token_of(url))
    assert made.status_code == 201, made.text
    school_id, partnership_id = made.json()["school_id"], made.json()["partnership_id"]
    assert partnership_id is not None

    headers = await signed_in(client, "director@qsi.org")
    me = (await client.get("/api/me", headers=headers)).json()
    assert me["role"] == "admin" and me["school"]["id"] == school_id
    # The entry became the school and kept what the handbook says.
    own = (await client.get("/api/schools/me", headers=headers)).json()
    assert own["address"] == "Тыныстанов көч., 14A, Бишкек, Кыргызстан 720055"
    assert own["kind"] == "international"
    entry = (await client.get(f"/api/directory/entries/{entries[QSI]}", headers=headers)).json()
    assert entry["on_exchange"] is True and entry["school_id"] == school_id
    remaining = await client.get("/api/directory/entries", headers=headers, params={"q": "QSI"})
    assert remaining.json()["items"] == []

    waiting = (await client.get("/api/partnerships", headers=headers)).json()["items"]
    assert [(p["id"], p["status"]) for p in waiting] == [(partnership_id, "invited")]
    assert waiting[0]["goals"] == GOALS
    accepted = await client.post(f"/api/partnerships/{partnership_id}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "active"

    trail = {
        (owner, action)
        for owner, action in await session.execute(
            select(AuditEvent.owner_school_id, AuditEvent.action)
        )
    }
    assert (inviter.id, "school.invited_by_email") in trail
    assert (inviter.id, "school.invitation_taken_up") in trail
    registered = [a for o, a in trail if str(o) == school_id]
    assert "school.registered" in registered and "partnership.accepted" in registered
    notices = (await inviter.admin.get("/api/notifications")).json()["items"]
    assert any("QSI" in n["message"] for n in notices)


async def test_any_school_is_invited_by_name_and_email(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], inbox: Inbox
) -> None:
    inviter = await schools.create()
    answer = await invite_by_email(
        inviter, school_name="Токтогул айылындагы №2 мектеп", email="mektep2@toktogul.kg"
    )
    assert answer.status_code == 201, answer.text
    made = await register(
        client, token_of(answer.json()["registration_url"]), school_name="Токтогул №2 мектеби"
    )
    assert made.status_code == 201, made.text
    headers = await signed_in(client, "mektep2@toktogul.kg")
    assert (await client.get("/api/schools/me", headers=headers)).json()["name"] == (
        "Токтогул №2 мектеби"
    )
    listed = (await inviter.admin.get("/api/directory/invitations")).json()["items"]
    assert (
        listed[0]["status"] == "registered" and listed[0]["school_id"] == made.json()["school_id"]
    )


async def test_inviting_by_email_is_for_admins_and_refuses_what_cannot_be_invited(
    schools: SchoolFactory, entries: dict[str, str]
) -> None:
    school = await schools.create()
    teacher = await school.add_member()
    body = {"goals": GOALS, "language": "en", "email": "a@b.kg", "school_name": "X"}
    assert_problem(await teacher.post("/api/directory/invitations", json=body), 403)
    assert_problem(await teacher.get("/api/directory/invitations"), 403)
    city = await invite_by_email(school, entry_id=entries["osh-yozgat"], email="x@yozgat.tr")
    assert_problem(city, 422)
    member = await invite_by_email(school, school_name="X", email=school.admin.email)
    assert_problem(member, 409)
    nameless = await invite_by_email(school, email="n@n.kg")
    assert_problem(nameless, 422)


# --- claiming an entry --------------------------------------------------------------------


async def test_a_school_claims_its_own_entry_once_through_the_link_sent_to_its_address(
    client: AsyncTestClient[Litestar],
    entries: dict[str, str],
    inbox: Inbox,
    clock: ManualClock,
) -> None:
    evrika = entries[EVRIKA]
    asked = await client.post(
        f"/api/directory/entries/{evrika}/claim",
        json={"email": "Evrika_bi@mail.ru"},
        headers={"Accept-Language": "ky"},
    )
    assert asked.status_code == 202, asked.text
    assert "token" not in asked.text  # the link only reaches the school's own mailbox
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == EVRIKA_MAIL and mail["Content-Language"] == "ky"
    first_link = link_in(mail)
    # A second link a while later: both go to the entry's own address.
    clock.advance(timedelta(minutes=11))
    again = await client.post(f"/api/directory/entries/{evrika}/claim", json={"email": EVRIKA_MAIL})
    assert again.status_code == 202
    second_link = link_in((await inbox.wait_for(2))[1])

    made = await register(client, token_of(first_link))
    assert made.status_code == 201, made.text
    assert made.json()["partnership_id"] is None
    headers = await signed_in(client, EVRIKA_MAIL)
    own = (await client.get("/api/schools/me", headers=headers)).json()
    assert own["name"] == "«Эврика» билим берүүчү комплекс-гимназиясы"
    assert own["address"] == "Бишкек ш., Байтик Баатыр көч., 36 А"

    # Claimed once: a new request and the other link are refused, plainly.
    twice = assert_problem(
        await client.post(f"/api/directory/entries/{evrika}/claim", json={"email": EVRIKA_MAIL}),
        409,
    )
    assert twice["entry_status"] == "claimed" and "claimed already" in twice["detail"]
    other = assert_problem(await register(client, token_of(second_link)), 409)
    assert other["entry_status"] == "claimed"
    used = assert_problem(await register(client, token_of(first_link)), 409)
    assert used["link_status"] == "used" and "already used" in used["detail"]


async def test_a_school_cannot_claim_another_schools_entry(
    client: AsyncTestClient[Litestar], entries: dict[str, str], inbox: Inbox
) -> None:
    # Kelechek's people ask for Evrika's entry with their own address: refused, no mail.
    refused = assert_problem(
        await client.post(
            f"/api/directory/entries/{entries[EVRIKA]}/claim",
            json={"email": "shkola.kelechek@mail.ru"},
        ),
        422,
    )
    assert "address of the school's own" in refused["detail"]
    # Nor an address at a look-alike of QSI's domain, nor an entry without an address.
    assert_problem(
        await client.post(
            f"/api/directory/entries/{entries[QSI]}/claim", json={"email": "x@qsi.org.evil.kg"}
        ),
        422,
    )
    assert_problem(
        await client.post(
            f"/api/directory/entries/{entries[ILIM]}/claim", json={"email": "ilim@mail.ru"}
        ),
        422,
    )
    # A sister city is not a school to claim.
    assert_problem(
        await client.post(
            f"/api/directory/entries/{entries['osh-andijan']}/claim", json={"email": "a@b.uz"}
        ),
        404,
    )
    assert await inbox.wait_for(0) == []
    # An address at QSI's web site's domain reaches QSI's entry, and the link it gets
    # registers QSI, not another school.
    ok = await client.post(
        f"/api/directory/entries/{entries[QSI]}/claim", json={"email": "office@qsi.org"}
    )
    assert ok.status_code == 202, ok.text
    made = await register(client, token_of(link_in((await inbox.wait_for(1))[0])))
    assert made.status_code == 201
    headers = await signed_in(client, "office@qsi.org")
    evrika = (await client.get(f"/api/directory/entries/{entries[EVRIKA]}", headers=headers)).json()
    assert evrika["on_exchange"] is False
    qsi = (await client.get(f"/api/directory/entries/{entries[QSI]}", headers=headers)).json()
    assert qsi["school_id"] == made.json()["school_id"]


async def test_claim_links_to_one_address_are_paced(
    client: AsyncTestClient[Litestar], entries: dict[str, str], inbox: Inbox, clock: ManualClock
) -> None:
    url = f"/api/directory/entries/{entries[EVRIKA]}/claim"
    assert (await client.post(url, json={"email": EVRIKA_MAIL})).status_code == 202
    soon = await client.post(url, json={"email": EVRIKA_MAIL})
    assert_problem(soon, 429)
    assert 1 <= int(soon.headers["Retry-After"]) <= 600
    for _ in range(2):
        clock.advance(timedelta(minutes=11))
        assert (await client.post(url, json={"email": EVRIKA_MAIL})).status_code == 202
    clock.advance(timedelta(minutes=11))
    assert_problem(await client.post(url, json={"email": EVRIKA_MAIL}), 429)  # 3 a day
    clock.advance(timedelta(days=1))
    assert (await client.post(url, json={"email": EVRIKA_MAIL})).status_code == 202
    assert len(await inbox.wait_for(4)) == 4


async def test_an_expired_or_unknown_link_says_so_plainly(
    schools: SchoolFactory,
    client: AsyncTestClient[Litestar],
    entries: dict[str, str],
    clock: ManualClock,
    session: AsyncSession,
) -> None:
    inviter = await schools.create()
    answer = await invite_by_email(inviter, entry_id=entries[ILIM], email="ilim@mail.ru")
    token = token_of(answer.json()["registration_url"])
    clock.advance(timedelta(days=30, seconds=1))
    expired = assert_problem(await register(client, token), 409)
    assert expired["link_status"] == "expired" and "expired on" in expired["detail"]
    assert "invite you again" in expired["detail"]
    assert_problem(await register(client, "not-a-token-the-exchange-made"), 404)
    # Nothing half-written: no school, the entry still unclaimed.
    assert await session.scalar(select(func.count()).select_from(School)) == 1
    entry = await session.get(DirectoryEntry, __import__("uuid").UUID(entries[ILIM]))
    assert entry is not None and entry.claimed_school_id is None


async def test_a_weak_password_keeps_the_link_usable(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    inviter = await schools.create()
    answer = await invite_by_email(inviter, school_name="Y", email="y@y.kg")
    token = token_of(answer.json()["registration_url"])
    assert_problem(await register(client, token, password="short"), 400 if False else 422)
    assert (await register(client, token)).status_code == 201


def test_the_handbook_file_ships_with_the_package() -> None:
    from importlib.resources import files

    text = files("exchange.directory").joinpath("handbook.json").read_text(encoding="utf-8")
    assert json.loads(text)["schools"][0]["key"] == "aga-khan-school-osh"


async def test_of_two_uses_of_one_link_at_once_one_registers(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    inviter = await schools.create()
    answer = await invite_by_email(inviter, school_name="Z", email="z@z.kg")
    token = token_of(answer.json()["registration_url"])
    first, second = await asyncio.gather(register(client, token), register(client, token))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    refused = first if first.status_code == 409 else second
    assert refused.json()["link_status"] == "used"
    assert await session.scalar(select(func.count()).select_from(School)) == 2


async def test_a_school_already_on_the_exchange_makes_its_own_entry_its_own_once(
    schools: SchoolFactory,
    client: AsyncTestClient[Litestar],
    entries: dict[str, str],
    inbox: Inbox,
    session: AsyncSession,
) -> None:
    evrika = await schools.create("Эврика гимназиясы")
    kelechek = await schools.create("Келечек")
    teacher = await evrika.add_member()
    url = f"/api/directory/entries/{entries[EVRIKA]}/claims"
    assert_problem(await teacher.post(url, json={"email": EVRIKA_MAIL}), 403)
    # Kelechek's admin cannot make Evrika's entry Kelechek's with Kelechek's address...
    wrong = await kelechek.admin.post(url, json={"email": "shkola.kelechek@mail.ru"})
    assert_problem(wrong, 422)
    asked = await evrika.admin.post(url, json={"email": EVRIKA_MAIL})
    assert asked.status_code == 202, asked.text
    (mail,) = await inbox.wait_for(1)
    assert "Эврика гимназиясы" in mail.get_content()
    token = token_of(link_in(mail))
    looked = await client.post("/api/directory/registration", json={"token": token})
    assert looked.json()["purpose"] == "attach"
    # ...and the link registers no new school: it confirms.
    assert_problem(await register(client, token), 422)
    confirmed = await client.post("/api/directory/claims/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["school_id"] == str(evrika.id)
    entry = (await evrika.admin.get(f"/api/directory/entries/{entries[EVRIKA]}")).json()
    assert entry["on_exchange"] is True and entry["school_id"] == str(evrika.id)
    own = (await evrika.admin.get("/api/schools/me")).json()
    assert own["address"] == "Бишкек ш., Байтик Баатыр көч., 36 А"
    again = assert_problem(await kelechek.admin.post(url, json={"email": EVRIKA_MAIL}), 409)
    assert again["entry_status"] == "claimed"
    used = assert_problem(
        await client.post("/api/directory/claims/confirm", json={"token": token}), 409
    )
    assert used["link_status"] == "used"
    trail = await session.scalar(
        select(AuditEvent.action).where(
            AuditEvent.owner_school_id == evrika.id, AuditEvent.action == "school.entry_claimed"
        )
    )
    assert trail == "school.entry_claimed"
