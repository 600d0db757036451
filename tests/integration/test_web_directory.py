"""Schools not on the exchange yet, on the pages: the entries marked in the directory, an
admin inviting by e-mail with the link shown once, a school claiming its own entry, and
registering through the link to find the invitation waiting."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.directory.handbook import load_handbook
from exchange.models import DirectoryEntry
from tests.actors import SchoolFactory
from tests.pages import Visitor

PASSWORD = "our school's long passphrase"


@pytest.fixture
async def entries(settings: Settings, client: AsyncTestClient[Litestar]) -> dict[str, str]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as db:
            await load_handbook(db)
            await db.commit()
            rows = await db.execute(select(DirectoryEntry.key, DirectoryEntry.id))
            return {key: str(entry_id) for key, entry_id in rows}
    finally:
        await engine.dispose()


def link_on(page: str) -> str:
    (url,) = re.findall(r'id="registration-link" readonly value="([^"]+)"', page)
    return html.unescape(url)


async def test_the_directory_marks_the_handbooks_schools_not_on_the_exchange(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], entries: dict[str, str]
) -> None:
    school = await schools.create()
    visitor = Visitor(client)
    await visitor.sign_in(school.admin.email)
    partners = await visitor.get("/partners?q=Эврика&lang=ru")
    assert partners.status_code == 200
    assert "Эврика" in partners.text and "Пока не участвует в обмене ресурсами" in partners.text
    listed = await visitor.get("/partners/not-on-exchange?kind=sister_city&q=Osh&lang=en")
    assert "Yozgat, Türkiye" in listed.text and "Sister city of Osh" in listed.text
    page = await visitor.get(f"/partners/not-on-exchange/{entries['evrika-bishkek']}")
    assert "Бишкек ш., Байтик Баатыр көч., 36 А" in page.text
    assert "Evrika_bi@mail.ru" in page.text and "Colorado Springs" in page.text
    assert 'action="/partners/not-on-exchange/' in page.text  # the admin's invitation form


async def test_an_admin_invites_by_email_and_the_school_registers_and_finds_it_waiting(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], entries: dict[str, str]
) -> None:
    inviter = await schools.create("Нарын айылындагы мектеп")
    admin = Visitor(client)
    await admin.sign_in(inviter.admin.email)
    entry = entries["hope-academy-bishkek"]
    shown = await admin.get(f"/partners/not-on-exchange/{entry}")
    assert shown.status_code == 200, shown.text[-3000:]
    refused = await admin.post_form(
        f"/partners/not-on-exchange/{entry}/invite",
        {"email": "not an address", "goals": "", "language": "ky"},
        token_from=f"/partners/not-on-exchange/{entry}",
    )
    assert refused.status_code == 422
    assert 'href="#email"' in refused.text and 'href="#goals"' in refused.text
    sent = await admin.post_form(
        f"/partners/not-on-exchange/{entry}/invite",
        {
            "email": "office@hopeacademykg.com",
            "goals": "Exchange lesson plans for grade 7 mathematics",
            "characteristics": "local",
            "language": "en",
        },
        token_from=f"/partners/not-on-exchange/{entry}",
    )
    assert sent.status_code == 200, sent.text
    url = link_on(sent.text)
    assert "/register?token=" in url
    listed = await admin.get("/partners/invite-by-email")
    assert "office@hopeacademykg.com" in listed.text and url not in listed.text

    newcomer = Visitor(client)
    path = urlsplit(url).path + "?" + urlsplit(url).query
    form = await newcomer.get(path + "&lang=ky")
    assert form.status_code == 200 and "Нарын айылындагы мектеп" in form.text
    token = parse_qs(urlsplit(url).query)["token"][0]
    registered = await newcomer.post_form(
        "/register",
        {
            "token": token,
            "school_name": "Hope Academy",
            "full_name": "Мээрим Жумабаева",
            "password": PASSWORD,
        },
        token_from=path,
    )
    assert registered.status_code == 303, registered.text
    assert registered.headers["location"].startswith("/partners?registered=invited")
    waiting = await newcomer.get("/partners?registered=invited")
    assert "Нарын айылындагы мектеп" in waiting.text
    assert "/partners/invitations/" in waiting.text
    # The link works once: whoever holds it later is told so.
    again = await Visitor(client).post_form(
        "/register",
        {"token": token, "full_name": "X Y", "password": PASSWORD},
        token_from="/sign-in",
    )
    assert again.status_code == 422 and "колдонулуп бүткөн" in again.text  # "already used"


async def test_a_visitor_claims_only_with_the_entrys_own_address(
    client: AsyncTestClient[Litestar], entries: dict[str, str]
) -> None:
    visitor = Visitor(client)
    page = await visitor.get("/claim?lang=en")
    assert page.status_code == 200
    assert "Silk Road School" in page.text
    assert "«Илим» билим берүү комплекси" in page.text  # listed among those without an address
    refused = await visitor.post_form(
        "/claim", {"entry_id": entries["silk-road-school-bishkek"], "email": "me@gmail.com"}
    )
    assert refused.status_code == 422
    assert "address of the school&#39;s own" in refused.text or "address of the school's own" in (
        html.unescape(refused.text)
    )


async def test_the_pages_of_schools_not_on_the_exchange_read_in_kyrgyz(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], entries: dict[str, str]
) -> None:
    from tests.english_left import english_in
    from tests.integration.test_kyrgyz_reader import visible_text

    school = await schools.create("Ош шаарындагы №5 мектеп")
    renamed = await school.admin.patch("/api/me", json={"full_name": "Айгүл Токтогулова"})
    assert renamed.status_code == 200
    admin = Visitor(client)
    await admin.sign_in(school.admin.email)
    invited = await admin.post_form(
        "/partners/invite-by-email?lang=ky",
        {
            "school_name": "Токтогул айылындагы №2 мектеп",
            "email": "mektep2@toktogul.kg",
            "goals": "Окуучулардын билимин баалоону жакшыртуу",
            "language": "ky",
        },
        token_from="/partners/invite-by-email?lang=ky",
    )
    assert invited.status_code == 200, invited.text
    assert english_in(visible_text(invited.text).replace(link_on(invited.text), "")) == []
    register = urlsplit(link_on(invited.text))
    pages = (
        "/partners/invite-by-email",
        "/partners/not-on-exchange?kind=sister_city",
        f"/partners/not-on-exchange/{entries['osh-yozgat']}",
        f"/partners/not-on-exchange/{entries['ilim-osh']}",
    )
    for path in pages:
        answer = await admin.get(path)
        assert answer.status_code == 200 and 'lang="ky"' in answer.text, path
        assert english_in(visible_text(answer.text)) == [], path
    newcomer = Visitor(client)
    form = await newcomer.get(f"{register.path}?{register.query}&lang=ky")
    assert form.status_code == 200
    assert english_in(visible_text(form.text)) == []
