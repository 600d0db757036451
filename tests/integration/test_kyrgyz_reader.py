"""English never reaches a Kyrgyz reader.

Each place that once showed English to someone reading in Kyrgyz is read here through
the real app (or the real command): the pages with their file types, sizes and dates,
the API's refusals of a value, the reasons a request was closed or a forward cut, the
words for why a permission exists, the command line's summaries. Russian is read too
where its plural forms differ from Kyrgyz and English."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from exchange.cli import main
from exchange.config import Settings
from exchange.i18n import format_day, format_size, using_language
from exchange.models import Forward, ReuseRequest
from tests.actors import Actor, SchoolFactory
from tests.conduct_fixtures import Ground, ground
from tests.english_left import english_in
from tests.pages import Visitor, upload_page
from tests.partnering import partners
from tests.resource_fixtures import upload
from tests.sample_files import pdf, pdf_of_size
from tests.settings import settings_env

__all__ = ["ground"]

KY = {"Accept-Language": "ky"}
RU = {"Accept-Language": "ru"}


class _VisibleText(HTMLParser):
    """The text a person reads on a page: its elements' text, its controls' labels,
    placeholders and titles; not scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._hidden += 1
        for name, value in attrs:
            if name in {"aria-label", "placeholder", "title", "alt"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    reader = _VisibleText()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


async def named(actor: Actor, full_name: str) -> Actor:
    answer = await actor.patch("/api/me", json={"full_name": full_name})
    assert answer.status_code == 200, answer.text
    return actor


async def test_every_page_reads_in_kyrgyz_with_the_files_type_size_and_date(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh = await schools.create("Ош шаарындагы №5 мектеп")
    naryn = await schools.create("Нарын айыл мектеби")
    await named(osh.admin, "Айгүл Токтогулова")
    await named(naryn.admin, "Бакыт Асанов")
    partnership = await partners(
        osh,
        naryn,
        goals=["Окуучулардын билимин баалоону жакшыртуу", "Биргелешкен сабак пландары"],
        language="ky",
    )
    content = pdf_of_size(300_000)
    shared = await upload(
        osh.admin, content, title="Бөлчөктөр: сабак планы", subject="Математика", language="ky"
    )
    assert shared.status_code == 201, shared.text
    resource = shared.json()
    asked = await naryn.admin.post(
        f"/api/resources/{resource['id']}/reuse-requests",
        json={"scope": "adapt", "purpose": "Өз сабагыбызга", "audience": "Мугалимдер"},
    )
    assert asked.status_code == 201, asked.text

    browser = visitors()
    await browser.sign_in(osh.admin.email)
    page = await browser.get(f"/resources/{resource['id']}?lang=ky")
    assert page.status_code == 200
    text = visible_text(page.text)
    with using_language("ky"):
        size, day = (
            format_size(len(content)),
            format_day(datetime.fromisoformat(resource["created_at"])),
        )
    assert "PDF документи" in text
    assert size in text and size.endswith("кБ")
    assert day in text and "-ж." in day
    assert english_in(text) == []

    pages = (
        "/",
        "/search?q=бөлчөк",
        "/requests",
        "/inbox",
        "/account",
        "/resources/new",
        "/members",
        f"/members/{osh.admin.member_id}/edit",
        "/audit",
        "/partnerships",
        f"/partnerships/{partnership}",
        f"/partnerships/{partnership}/activities/new",
        f"/partnerships/{partnership}/summary",
        f"/resources/{resource['id']}/edit",
        f"/resources/{resource['id']}/versions/new",
    )
    for path in pages:
        answer = await browser.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        assert 'lang="ky"' in answer.text
        assert english_in(visible_text(answer.text)) == [], path

    russian = visible_text((await browser.get(f"/resources/{resource['id']}?lang=ru")).text)
    assert "Документ PDF" in russian
    with using_language("ru"):
        assert format_size(len(content)) in russian


async def test_a_refused_value_is_explained_in_kyrgyz_naming_its_field(
    schools: SchoolFactory,
) -> None:
    school = await schools.create("Талас гимназиясы")
    shared = await upload(school.admin, pdf(), title="Сабак планы")
    assert shared.status_code == 201, shared.text
    json_body = {**KY, "Content-Type": "application/json"}
    refusals = [
        await school.admin.get("/api/audit?since=кечээ", headers=KY),
        await school.admin.patch("/api/me", json={"language": 5}, headers=KY),
        await school.admin.get("/api/reuse-requests?direction=sideways", headers=KY),
        await school.admin.post(
            "/api/members",
            json={"email": "x", "full_name": "Асан", "role": "teacher"},
            headers=KY,
        ),
        await school.admin.patch("/api/me", content=b'{"language":', headers=json_body),
        await school.admin.patch(
            f"/api/resources/{shared.json()['id']}",
            content=b'{"grades": [99999999999999999999999999]}',
            headers=json_body,
        ),
    ]
    fields = ["'since'", "'language'", "'direction'", "'email'", None, "grades"]
    for answer, field in zip(refusals, fields, strict=True):
        problem = answer.json()
        assert answer.status_code in {400, 422}, answer.text
        assert answer.headers["content-language"] == "ky"
        assert field is None or field in problem["detail"], problem
        assert english_in(problem["detail"]) == [], problem["detail"]
        for error in problem.get("errors", []):
            assert english_in(error["message"]) == [], error


async def test_why_a_request_closed_or_a_forward_stopped_is_read_in_each_readers_language(
    ground: Ground,
) -> None:
    osh = await ground.school("Ош №5 мектеби")
    author = await named(await osh.teacher(), "Айгүл Токтогулова")
    naryn = await ground.school("Нарын айыл мектеби")
    teacher = await named(await naryn.teacher(), "Бакыт Асанов")
    talas = await ground.school("Талас гимназиясы")
    partnership = await ground.partnership(osh, naryn)
    await ground.partnership(naryn, talas)
    resource = await ground.resource(osh, author, title="Бөлчөктөр")
    ask = {"purpose": "Өз сабагыбызга", "audience": "Мугалимдер"}
    share = await teacher.post(
        f"/api/resources/{resource}/reuse-requests", json={"scope": "share", **ask}
    )
    approved = await author.post(
        f"/api/reuse-requests/{share.json()['id']}/decision", json={"decision": "approve"}
    )
    assert approved.status_code == 200, approved.text
    forwarded = await teacher.post(
        f"/api/resources/{resource}/forward", json={"school_id": str(talas.id)}
    )
    assert forwarded.status_code == 201, forwarded.text
    pending = await teacher.post(
        f"/api/resources/{resource}/reuse-requests", json={"scope": "adapt", **ask}
    )
    withdrawn = await teacher.post(
        f"/api/resources/{resource}/reuse-requests", json={"scope": "publish", **ask}
    )
    assert (
        await teacher.post(f"/api/reuse-requests/{withdrawn.json()['id']}/withdraw")
    ).status_code == 200
    await ground.end_partnership(partnership)

    async def reason(request: Any, headers: dict[str, str]) -> str:
        answer = await teacher.get(f"/api/reuse-requests/{request.json()['id']}", headers=headers)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["closed_reason"])

    assert await reason(pending, KY) == (
        "Ош №5 мектеби менен Нарын айыл мектеби ортосундагы өнөктөштүк аяктады. Мектептер "
        "кайра өнөктөш болсо, суроо-талапты кайра жөнөтүүгө болот."
    )
    assert await reason(pending, RU) == (
        "Партнёрство между «Ош №5 мектеби» и «Нарын айыл мектеби» завершилось. Если школы "
        "снова станут партнёрами, запрос можно будет отправить ещё раз."
    )
    assert await reason(withdrawn, KY) == "Суроо-талапты жөнөткөн мектеп аны кайтарып алды."
    # The school that can no longer read the resource is not told its title, in words.
    listed = await teacher.get("/api/reuse-requests?direction=outgoing", headers=KY)
    assert {item["resource"]["title"] for item in listed.json()["items"]} == {
        "сиз мындан ары окуй албаган ресурс"
    }

    chain = (await osh.admin.get(f"/api/resources/{resource}/forwards", headers=KY)).json()
    (forward,) = chain["forwards"]
    assert (
        forward["cut_reason"]
        == "Ош №5 мектеби менен Нарын айыл мектеби ортосундагы өнөктөштүк аяктады."
    )
    grants = (await osh.admin.get(f"/api/resources/{resource}/grants", headers=KY)).json()
    whys = [grant["why"] for grant in grants["items"]]
    assert whys and all(english_in(why) == [] for why in whys), whys
    assert any("өнөктөштүк аяктаганда" in why for why in whys), whys

    # What is stored is the reason's code, so each reader gets their own words.
    async with ground.session() as session:
        stored = set(await session.scalars(select(ReuseRequest.closed_reason)))
        cut = set(await session.scalars(select(Forward.cut_reason)))
    assert "withdrawn" in stored
    assert {reason.split(":")[0] for reason in stored if reason} == {
        "withdrawn",
        "partnership_ended",
    }
    assert {reason.split(":")[0] for reason in cut if reason} == {"partnership_ended"}


def console(settings: Settings, locale: str) -> dict[str, str | None]:
    """The environment of a console whose locale is `locale`."""
    return {
        **settings_env(settings),
        "LANG": locale,
        "LANGUAGE": None,
        "LC_ALL": None,
        "LC_MESSAGES": None,
    }  # type: ignore[dict-item]


async def run(settings: Settings, locale: str, *args: str) -> str:
    result = await asyncio.to_thread(
        CliRunner().invoke, main, list(args), env=console(settings, locale)
    )
    assert result.exit_code == 0, result.output
    return result.stderr


async def test_the_command_lines_summaries_speak_the_consoles_language_and_its_plurals(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create("Ош шаарындагы №5 мектеп")
    for number in range(2):
        shared = await upload(school.admin, pdf(), title=f"Сабак планы {number}")
        assert shared.status_code == 201, shared.text

    kyrgyz = await run(settings, "ky_KG.UTF-8", "search", "reindex")
    assert "2 ресурс кайра индекстелди (1 топ)." in kyrgyz
    assert english_in(kyrgyz) == []
    russian = await run(settings, "ru_RU.UTF-8", "search", "reindex")
    assert "Переиндексировано 2 ресурса (1 пакет)." in russian
    russian = await run(settings, "ru_RU.UTF-8", "search", "reindex", "--batch-size", "1")
    assert "Переиндексировано 2 ресурса (2 пакета)." in russian

    gc = await run(settings, "ky_KG.UTF-8", "store", "gc", "--grace-hours", "0", "--dry-run")
    assert "Эч бир версия колдонбогон 0 файл өчүрүлмөк." in gc
    assert "2 файл колдонулуп жатат." in gc
    assert english_in(gc) == []
    gc = await run(settings, "ru_RU.UTF-8", "store", "gc", "--grace-hours", "0", "--dry-run")
    assert "Используются 2 файла." in gc
    english = await run(settings, "C.UTF-8", "store", "gc", "--grace-hours", "0", "--dry-run")
    assert "2 files are in use." in english


async def test_an_upload_refused_for_its_values_says_why_in_kyrgyz_beside_each_field(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create("Ош шаарындагы №5 мектеп")
    await named(school.admin, "Айгүл Токтогулова")
    browser = visitors()
    await browser.sign_in(school.admin.email)
    # Chosen on the page, the language is the member's own from now on, in the API too.
    assert (await browser.get("/resources/new?lang=ky")).status_code == 200
    answer = await upload_page(browser, pdf(), title="Б" * 400, grades=["12"])
    assert answer.status_code == 422, answer.text
    text = visible_text(answer.text)
    assert "Аталышта 400 белги бар; 300 белгиден ашпасын." in text
    assert "Класстар 1ден 11ге чейин; 12 — мектептеги класс эмес." in text
    assert english_in(text) == []

    refused = await upload(school.admin, pdf(), kind="poem")
    problem = refused.json()
    assert refused.status_code == 422, refused.text
    assert "'poem' — ресурстун түрү эмес" in problem["detail"]
    assert english_in(problem["detail"]) == []
