"""The language of the API's answers: chosen, asked for, or the school's, else Kyrgyz;
`Content-Language` says which; codes, field names and `type` URIs never change."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import Notification
from tests.actors import Actor, SchoolFactory
from tests.partnering import invited


async def missing_school(actor: Actor, **headers: str) -> Any:
    return await actor.get(f"/api/schools/{uuid4()}", headers=headers)


async def missing_page(actor: Actor, **headers: str) -> Any:
    return await actor.get("/api/no-such-thing", headers=headers)


async def test_a_problem_is_answered_in_kyrgyz_russian_or_english(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    answers = {
        language: await missing_page(school.admin, **{"Accept-Language": language})
        for language in ("ky", "ru", "en")
    }
    bodies = {language: answer.json() for language, answer in answers.items()}
    assert {language: answer.status_code for language, answer in answers.items()} == {
        "ky": 404,
        "ru": 404,
        "en": 404,
    }
    assert bodies["ky"]["title"] == "Табылган жок"
    assert bodies["ky"]["detail"].startswith("Бул жерде эч нерсе жок")
    assert bodies["ru"]["title"] == "Не найдено"
    assert bodies["ru"]["detail"].startswith("Здесь ничего нет")
    assert bodies["en"]["title"] == "Not found"
    assert {answer.headers["content-language"] for answer in answers.values()} == {
        "ky",
        "ru",
        "en",
    } and [answers[lang].headers["content-language"] for lang in ("ky", "ru", "en")] == [
        "ky",
        "ru",
        "en",
    ]
    # Only the words change: the type, the status and the fields stay.
    assert {body["type"] for body in bodies.values()} == {"urn:exchange:problem:not-found"}
    assert all(set(body) == set(bodies["en"]) for body in bodies.values())


async def test_a_refusal_before_sign_in_is_in_the_asked_language(
    client: AsyncTestClient[Litestar],
) -> None:
    answer = await client.get("/api/me", headers={"Accept-Language": "ru"})
    assert answer.status_code == 401
    assert answer.json()["title"] == "Требуется вход"
    assert answer.headers["content-language"] == "ru"
    answer = await client.get("/api/me", headers={"Accept-Language": "fr"})
    assert answer.json()["title"] == "Кирүү талап кылынат"
    assert answer.headers["content-language"] == "ky"


async def test_the_members_choice_beats_accept_language_and_is_shown_in_me(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    assert (await teacher.get("/api/me")).json()["language"] is None

    chosen = await teacher.patch("/api/me", json={"language": "ru"})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["language"] == "ru"
    assert chosen.headers["content-language"] == "ru"

    answer = await missing_school(teacher, **{"Accept-Language": "en"})
    assert answer.headers["content-language"] == "ru"
    assert answer.json()["title"] == "Не найдено"
    me = await teacher.get("/api/me", headers={"Accept-Language": "ky"})
    assert me.json()["language"] == "ru" and me.headers["content-language"] == "ru"

    cleared = await teacher.patch("/api/me", json={"language": None})
    assert cleared.json()["language"] is None
    assert cleared.headers["content-language"] == "en"  # the test client's Accept-Language


async def test_a_language_the_exchange_does_not_speak_is_refused(schools: SchoolFactory) -> None:
    school = await schools.create()
    answer = await school.admin.patch("/api/me", json={"language": "de"})
    assert answer.status_code == 422
    assert (await school.admin.get("/api/me")).json()["language"] is None


async def test_without_a_choice_or_accept_language_the_schools_first_language_is_used(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    no_header = {"Accept-Language": ""}
    answer = await missing_school(school.admin, **no_header)
    assert answer.headers["content-language"] == "ky"
    assert answer.json()["title"] == "Табылган жок"

    profile = await school.admin.put(
        "/api/schools/me/profile", json={"region": "Chui", "languages": ["uz", "ru", "ky"]}
    )
    assert profile.status_code == 200, profile.text
    answer = await missing_school(school.admin, **no_header)
    assert answer.headers["content-language"] == "ru"
    assert answer.json()["title"] == "Не найдено"
    # An explicit Accept-Language still comes first.
    answer = await missing_school(school.admin, **{"Accept-Language": "ky"})
    assert answer.headers["content-language"] == "ky"


async def test_successful_answers_carry_content_language_too(schools: SchoolFactory) -> None:
    school = await schools.create()
    answer = await school.admin.get("/api/me", headers={"Accept-Language": "ky, ru;q=0.5"})
    assert answer.status_code == 200
    assert answer.headers["content-language"] == "ky"
    assert "language" in answer.json() and "full_name" in answer.json()


async def test_a_notice_is_read_in_the_readers_language_whoever_caused_it(
    schools: SchoolFactory,
) -> None:
    osh = await schools.create("Osh School")
    naryn = await schools.create("Naryn School")
    deputy = await naryn.add_member("admin")
    assert (await osh.admin.patch("/api/me", json={"language": "ky"})).status_code == 200
    assert (await naryn.admin.patch("/api/me", json={"language": "ru"})).status_code == 200

    # A Kyrgyz-speaking admin's action...
    await invited(osh, naryn)

    # ...is read in Russian by the admin who chose Russian,
    (item,) = (await naryn.admin.get("/api/notifications")).json()["items"]
    assert item["message"] == (
        "«Osh School» приглашает вашу школу к партнёрству по кодексу поведения."
    )
    assert item["payload"]["message"] == item["message"]
    assert not any(key.endswith("_i18n") for key in item["payload"])
    # and in whatever language the other admin's browser asks for.
    answers = {
        language: (
            await deputy.get("/api/notifications", headers={"Accept-Language": language})
        ).json()["items"][0]["message"]
        for language in ("ky", "en")
    }
    assert answers == {
        "ky": "Osh School мектебиңизди жүрүм-турум кодексине ылайык өнөктөштүккө чакырат.",
        "en": "Osh School invites your school to a partnership under the code of conduct.",
    }


async def test_notices_stored_before_translation_stay_readable(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            session.add(
                Notification(
                    recipient_member_id=school.admin.member_id,
                    school_id=school.id,
                    kind="partnership.invited",
                    subject_type="partnership",
                    subject_id=uuid4(),
                    payload={"message": "Talas School invites your school to a partnership."},
                )
            )
            await session.commit()
    finally:
        await engine.dispose()
    (item,) = (
        await school.admin.get("/api/notifications", headers={"Accept-Language": "ru"})
    ).json()["items"]
    assert item["message"] == "Talas School invites your school to a partnership."
