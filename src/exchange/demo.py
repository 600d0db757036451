"""`exchange demo`: an empty exchange filled with a small world from the handbook, to look
around in — a rural school in Naryn region, a city school in Bishkek and a school in Osh,
their directors and teachers, an active partnership with its plan (activities done,
evaluated and planned, a joint project with tasks), resources in Kyrgyz, Russian and
English made on the spot (DOCX, ODT, PDF, plain text), a reuse request waiting for its
answer and a question answered.

Everything after the schools themselves is made through the exchange's own API, in
process (Litestar's client over ASGI, no network): every row passes the checks, the
policy and the consequences (audit trail, inbox, search index) a school's own requests
do. Only the schools and their first admins are made as `exchange school create` makes
them, there being no API to found a school.
"""

from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from docx import Document
from fpdf import FPDF
from litestar.testing import AsyncTestClient
from odf.opendocument import OpenDocumentText
from odf.style import Style, TextProperties
from odf.text import H, P
from sqlalchemy import func, select

from exchange.accounts.services import AccountService
from exchange.app import create_app
from exchange.clock import SystemClock, local_day
from exchange.config import Settings
from exchange.database import create_engine, create_session_factory
from exchange.directory.handbook import load_handbook
from exchange.i18n import _
from exchange.models import School

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


@dataclass(frozen=True)
class DemoSchool:
    key: str
    name: str
    region: str
    locality: str
    languages: list[str]
    offers: str
    needs: str
    director: tuple[str, str]  # e-mail, full name
    teachers: list[tuple[str, str]]


SCHOOLS = [
    DemoSchool(
        key="naryn",
        name="Ак-Талаа районундагы Баетов атындагы орто мектеп",
        region="Naryn",
        locality="rural",
        languages=["ky", "ru"],
        offers="Айыл чарба боюнча долбоорлор, жергиликтүү тарых, чоң ата-энелер менен иштөө.",
        needs="Математика жана англис тили боюнча сабак пландары, баалоо тесттери.",
        director=("director@baetov-school.example", "Гүлнара Осмонова"),
        teachers=[
            ("math@baetov-school.example", "Эрмек Сагынбаев"),
            ("kyrgyz@baetov-school.example", "Назира Жумабаева"),
        ],
    ),
    DemoSchool(
        key="bishkek",
        name="Бишкек шаарындагы №12 мектеп-гимназия",
        region="Bishkek",
        locality="urban",
        languages=["ru", "ky", "en"],
        offers="Англис тили жана математика боюнча тажрыйбалуу мугалимдер, баалоо саясаты.",
        needs="Айыл мектептери менен биргелешкен долбоорлор, кыргыз тилиндеги окуу материалдары.",
        director=("director@gymnasium12.example", "Елена Ким"),
        teachers=[
            ("english@gymnasium12.example", "Айдай Токтосунова"),
            ("maths@gymnasium12.example", "Сергей Иванов"),
        ],
    ),
    DemoSchool(
        key="osh",
        name="Ош шаарындагы №5 мектеп",
        region="Osh",
        locality="urban",
        languages=["ky", "ru"],
        offers="Өзбек жана кыргыз тилдериндеги эки тилдүү сабактар, ата-энелер менен иштөө.",
        needs="Табигый илимдер боюнча лабораториялык иштер.",
        director=("director@osh-school5.example", "Бактыгүл Мамытова"),
        teachers=[("science@osh-school5.example", "Азамат Юсупов")],
    ),
]

GOALS = [
    "Окуучулардын математикадан жетишкендиктерин баалоону биргелешип жакшыртуу",
    "Англис тили сабактары үчүн сабак пландарын алмашуу",
]


class DemoRefused(Exception):
    """The database is not empty: the demo fills only an empty one."""


def _password() -> str:
    return secrets.token_urlsafe(12)


# --- the files, made on the spot -------------------------------------------------------------


def lesson_plan_docx() -> bytes:
    document = Document()
    document.add_heading("Бөлчөктөрдү кошуу жана кемитүү: 6-класс үчүн сабак планы", level=1)
    document.add_paragraph("Максаты: окуучулар бөлүмдөрү ар түрдүү бөлчөктөрдү кошууну үйрөнүшөт.")
    for step in (
        "1. Кайталоо (5 мүнөт): жалпы бөлүмгө келтирүү.",
        "2. Жаңы тема (15 мүнөт): нан жана алма менен мисалдар.",
        "3. Топтук иш (15 мүнөт): ар бир топ өз маселесин чыгарат.",
        "4. Баалоо (10 мүнөт): кыска тест, өз ара текшерүү.",
    ):
        document.add_paragraph(step)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def assessment_odt() -> bytes:
    document = OpenDocumentText()
    heading = Style(name="Heading", family="paragraph")
    heading.addElement(TextProperties(fontsize="16pt", fontweight="bold"))
    document.styles.addElement(heading)
    document.text.addElement(
        H(outlinelevel=1, stylename=heading, text="Контрольная работа: дроби, 6 класс")
    )
    for line in (
        "Вариант 1.",
        "1. Сложите дроби 1/3 и 1/4.",
        "2. Вычтите 2/5 из 7/10.",
        "3. В селе 120 дворов, у 3/8 из них есть теплица. Сколько дворов с теплицей?",
        "Критерии: 3 верных ответа — «5», 2 — «4», 1 — «3».",
    ):
        document.text.addElement(P(text=line))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def english_lesson_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_title("My village: a speaking lesson for grade 7")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "My village: a speaking lesson for grade 7", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=12)
    for line in (
        "Aim: students describe their village or town in five sentences.",
        "Warm-up: pictures of Naryn, Bishkek and Osh; students guess the place.",
        "Pair work: ask and answer 'What is there in your village?'",
        "Homework: a postcard to a student of the partner school.",
    ):
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def parents_text() -> bytes:
    return (
        "Ата-энелер менен жолугушуу: күн тартиби\n\n"
        "1. Өнөктөш мектеп менен биргелешкен долбоор жөнүндө.\n"
        "2. Окуучулардын сапары үчүн ата-энелердин макулдугу.\n"
        "3. Суроолор жана сунуштар.\n"
    ).encode()


# --- the world, through the API ----------------------------------------------------------------


class _Api:
    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def sign_in(self, email: str, password: str) -> None:
        answer = await self.client.post(
            "/api/auth/token", json={"email": email, "password": password}
        )
        _expect(answer, 200)
        self.tokens[email] = answer.json()["access_token"]

    async def call(
        self, who: str, method: str, path: str, expected: int = 200, **kwargs: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        answer = await self.client.request(method, path, headers=headers, **kwargs)
        _expect(answer, expected)
        return answer.json() if answer.content else None


def _expect(answer: Any, status: int) -> None:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
            f"{answer.text[:300]}"
        )


async def _empty(settings: Settings) -> bool:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return not await connection.scalar(select(func.count()).select_from(School))
    finally:
        await engine.dispose()


async def fill(settings: Settings) -> dict[str, Any]:
    """Fill an empty database; returns what `exchange demo` prints."""
    if not await _empty(settings):
        raise DemoRefused(
            _(
                "The database already holds schools: the demo fills only an empty one. "
                "Point EXCHANGE_DATABASE_URL at a new database (or remove the SQLite file) "
                "and run it again."
            )
        )
    # The demo's own process runs no background jobs: the service runs them once started.
    settings = replace(settings, run_jobs=False)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its in-process requests, one a line
    members: list[dict[str, str]] = []
    app = create_app(settings)
    async with AsyncTestClient(app) as client:
        api = _Api(client)
        school_ids: dict[str, str] = {}
        emails: dict[str, list[str]] = {}
        for school in SCHOOLS:
            school_ids[school.key] = await _found(app, settings, school, api, members, emails)
        await _handbook_lists(app, settings)
        return await _live(api, school_ids, emails, members)


async def _handbook_lists(app: Any, settings: Settings) -> None:
    """The handbook's schools and sister cities, not on the exchange yet, to invite."""
    sessions = create_session_factory(
        app.state["engine"], settings, consequences=app.state["consequences"]
    )
    async with sessions() as session:
        await load_handbook(session)
        await session.commit()


async def _found(
    app: Any,
    settings: Settings,
    school: DemoSchool,
    api: _Api,
    members: list[dict[str, str]],
    emails: dict[str, list[str]],
) -> str:
    password = _password()
    director_email, director_name = school.director
    sessions = create_session_factory(
        app.state["engine"], settings, consequences=app.state["consequences"]
    )
    async with sessions() as session:
        created, _admin = await AccountService(session, settings, SystemClock()).create_school(
            name=school.name,
            admin_email=director_email,
            admin_password=password,
            admin_name=director_name,
            region=school.region,
        )
        school_id = str(created.id)
    members.append(
        {"email": director_email, "password": password, "school": school.name, "role": "admin"}
    )
    await api.sign_in(director_email, password)
    await api.call(
        director_email,
        "PUT",
        "/api/schools/me/profile",
        json={
            "region": school.region,
            "locality": school.locality,
            "kind": "state",
            "languages": school.languages,
            "offers": school.offers,
            "needs": school.needs,
        },
    )
    emails[school.key] = [director_email]
    for email, full_name in school.teachers:
        password = _password()
        await api.call(
            director_email,
            "POST",
            "/api/members",
            201,
            json={"email": email, "password": password, "full_name": full_name, "role": "teacher"},
        )
        await api.sign_in(email, password)
        members.append(
            {"email": email, "password": password, "school": school.name, "role": "teacher"}
        )
        emails[school.key].append(email)
    return school_id


async def _share(api: _Api, who: str, content: bytes, name: str, media: str, **fields: str) -> str:
    resource = await api.call(
        who, "POST", "/api/resources", 201, data=fields, files={"file": (name, content, media)}
    )
    return str(resource["id"])


async def _live(
    api: _Api,
    school_ids: dict[str, str],
    emails: dict[str, list[str]],
    members: list[dict[str, str]],
) -> dict[str, Any]:
    naryn_director, naryn_math, naryn_kyrgyz = emails["naryn"]
    bishkek_director, bishkek_english, bishkek_maths = emails["bishkek"]

    # Bishkek invites Naryn (city and village, §3), Naryn accepts the code of conduct.
    partnership = await api.call(
        bishkek_director,
        "POST",
        "/api/partnerships",
        201,
        json={
            "partner_school_id": school_ids["naryn"],
            "characteristics": ["local", "real", "urban_rural", "formal"],
            "goals": GOALS,
            "language": "ky",
        },
    )
    pid = partnership["id"]
    await api.call(naryn_director, "POST", f"/api/partnerships/{pid}/accept")
    # Osh is invited by Bishkek too, and has not answered yet.
    await api.call(
        bishkek_director,
        "POST",
        "/api/partnerships",
        201,
        json={
            "partner_school_id": school_ids["osh"],
            "characteristics": ["local", "virtual"],
            "goals": ["Эки тилдүү сабактар боюнча тажрыйба алмашуу"],
            "language": "ru",
        },
    )

    # What each school shares with its partners, in its languages.
    plan_docx = await _share(
        api,
        bishkek_maths,
        lesson_plan_docx(),
        "Бөлчөктөр - 6-класс.docx",
        DOCX,
        title="Бөлчөктөрдү кошуу: 6-класс үчүн сабак планы",
        kind="lesson_plan",
        subject="Математика",
        grades="6",
        language="ky",
        licence="all_rights_reserved",
    )
    await _share(
        api,
        bishkek_english,
        english_lesson_pdf(),
        "My village - grade 7.pdf",
        "application/pdf",
        title="My village: a speaking lesson for grade 7",
        kind="lesson_plan",
        subject="English",
        grades="7",
        language="en",
        licence="cc-by",
    )
    await _share(
        api,
        naryn_math,
        assessment_odt(),
        "Контрольная - дроби.odt",
        ODT,
        title="Контрольная работа по дробям, 6 класс",
        kind="assessment",
        subject="Математика",
        grades="6",
        language="ru",
    )
    await _share(
        api,
        naryn_kyrgyz,
        parents_text(),
        "Ата-энелер менен жолугушуу.txt",
        "text/plain",
        title="Ата-энелер менен жолугушуунун күн тартиби",
        kind="other",
        subject="Тарбия иши",
        language="ky",
    )

    # A reuse request waiting for its answer (rule 7): Naryn asks to adapt Bishkek's plan.
    await api.call(
        naryn_math,
        "POST",
        f"/api/resources/{plan_docx}/reuse-requests",
        201,
        json={
            "scope": "adapt",
            "purpose": "Айыл турмушунан мисалдар менен өз вариантыбызды жасоо.",
            "audience": "Мектебибиздин эки 6-классы, 40ка жакын окуучу.",
        },
    )

    # The plan: a first meeting done and evaluated by both, a lesson visit done and waiting
    # for Bishkek's evaluation, a joint project under way, an open day to come.
    today = local_day(SystemClock().now())
    first_goal, second_goal = GOALS
    naryn_id, bishkek_id = school_ids["naryn"], school_ids["bishkek"]
    meeting = await _activity(
        api,
        bishkek_director,
        pid,
        kind="meeting",
        title="Эки мектептин жетекчилеринин биринчи жолугушуусу",
        starts_on=today - timedelta(days=40),
        host_school_id=bishkek_id,
        goals=GOALS,
        description="Өнөктөштүктүн максаттарын жана окуу жылынын планын талкуулоо.",
    )
    await api.call(bishkek_director, "POST", f"/api/activities/{meeting}/done")
    await _evaluate(
        api,
        bishkek_director,
        meeting,
        {first_goal: 3, second_goal: 4},
        "Максаттар так жазылды, ар бир мектеп өз милдетин билет.",
        "Кийинки жолугушууга мугалимдерди да чакыруу керек.",
    )
    await _evaluate(
        api,
        naryn_director,
        meeting,
        {first_goal: 4, second_goal: 3},
        "Шаардагы кесиптештер биздин муктаждыктарыбызды угушту.",
        "Жолго көп убакыт кетти: кийинкиси онлайн болсун.",
    )
    visit = await _activity(
        api,
        naryn_director,
        pid,
        kind="lesson_visit",
        title="Бишкектин мугалимдери Нарындагы математика сабагында",
        starts_on=today - timedelta(days=9),
        ends_on=today - timedelta(days=8),
        host_school_id=naryn_id,
        goals=[first_goal],
        responsible_member_ids=[],
        cover_arrangements="Сергей Ивановдун сабактарын ошол күндөрү Айдай Токтосунова өтөт.",
        needs_approval=False,
    )
    await api.call(naryn_director, "POST", f"/api/activities/{visit}/done")
    await _evaluate(
        api,
        naryn_director,
        visit,
        {first_goal: 4},
        "Окуучулар бөлчөктөрдү оюн аркылуу жакшы түшүнүштү.",
        "Баалоо тестин сабактан мурун бөлүшүү керек.",
    )
    project = await _activity(
        api,
        bishkek_director,
        pid,
        kind="joint_project",
        title="Математикадан баалоо ыкмаларын биргелешип иштеп чыгуу",
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=60),
        host_school_id=bishkek_id,
        goals=[first_goal],
        tasks=[
            {
                "title": "5-6-класстар үчүн тесттердин үлгүлөрү",
                "due_on": (today + timedelta(days=20)).isoformat(),
            },
        ],
    )
    await api.call(
        naryn_director,
        "PATCH",
        f"/api/activities/{project}",
        json={
            "tasks": [
                {
                    "title": "7-8-класстар үчүн баалоо критерийлери",
                    "due_on": (today + timedelta(days=30)).isoformat(),
                }
            ]
        },
    )
    await _activity(
        api,
        naryn_director,
        pid,
        kind="open_day",
        title="Нарындагы мектепте ачык эшиктер күнү",
        starts_on=today + timedelta(days=21),
        host_school_id=naryn_id,
        goals=[second_goal],
        needs_approval=True,
        description="Бишкектин окуучулары айыл мектебине келишет: ата-энелердин макулдугу керек.",
    )

    # A question between the partners (§6 step 5), and its answer.
    question = await api.call(
        naryn_director,
        "POST",
        f"/api/partnerships/{pid}/questions",
        201,
        json={"question": "Математикадан артта калган окуучуларга кантип жардам бересиздер?"},
    )
    await api.call(
        bishkek_maths,
        "POST",
        f"/api/questions/{question['id']}/answers",
        201,
        json={
            "answer": "Жумасына эки жолу сабактан кийин кошумча саат өтөбүз, жогорку "
            "класстын окуучулары жардам беришет.",
            "resource_ids": [plan_docx],
        },
    )
    return {"members": members, "partnership_id": pid, "school_ids": school_ids}


async def _activity(api: _Api, who: str, partnership_id: str, **fields: Any) -> str:
    body = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items()}
    activity = await api.call(
        who, "POST", f"/api/partnerships/{partnership_id}/activities", 201, json=body
    )
    return str(activity["id"])


async def _evaluate(
    api: _Api, who: str, activity_id: str, progress: dict[str, int], went_well: str, to_change: str
) -> None:
    await api.call(
        who,
        "POST",
        f"/api/activities/{activity_id}/evaluations",
        201,
        json={
            "went_well": went_well,
            "to_change": to_change,
            "goal_progress": progress,
            "continue": True,
        },
    )
