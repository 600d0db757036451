"""The partnership pages: a school's partnerships, a partnership's page with its plan and
questions, planning, changing, closing and evaluating an activity from forms (no script
needed), the school year's summary and its documents, in the reader's language; another
school's partnership is 404 on every route, as in the API."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html import unescape

from docx import Document

from exchange.web.controllers.home import SHOWN as HOME_SHOWN
from tests.actors import SchoolFactory, SchoolHandle
from tests.pages import Visitor
from tests.partnering import GOALS, partners


def _activity_form(**fields: str | list[str]) -> dict[str, str | list[str]]:
    return {
        "kind": "lesson_visit",
        "title": "Бөлчөктөр сабагына катышуу",
        "starts_on": "2026-11-10",
        "ends_on": "",
        "description": "Нарындын мугалимдери Оштогу 6-класстын сабагына келишет.",
        "goals": [GOALS[0]],
        "cover_arrangements": "Айгүл эже алардын сабактарын өтөт.",
        "needs_approval": "true",
        **fields,
    }


async def test_a_partnership_is_planned_lived_and_evaluated_from_its_pages(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh, naryn = await schools.create("Ош №5"), await schools.create("Нарын №2")
    partnership_id = await partners(osh, naryn, language="ky")
    page_path = f"/partnerships/{partnership_id}"
    director, partner = visitors(), visitors()
    await director.sign_in(osh.admin.email)
    await partner.sign_in(naryn.admin.email)

    listed = await director.get("/partnerships")
    assert listed.status_code == 200
    assert f'href="{page_path}"' in listed.text and "Нарын №2" in listed.text
    assert f'href="{page_path}"' in (await partner.get("/")).text  # on the home page too
    shown = await director.get(page_path)
    assert shown.status_code == 200
    assert GOALS[0] in unescape(shown.text) and GOALS[1] in shown.text

    # A form with what is missing says so next to each field, and keeps what was typed.
    refused = await director.post_form(
        f"{page_path}/activities", _activity_form(title="", starts_on="10.11"), token_from=page_path
    )
    assert refused.status_code == 422
    assert 'href="#title"' in refused.text and 'href="#starts_on"' in refused.text
    assert "Нарындын мугалимдери" in refused.text
    wrong_end = await director.post_form(
        f"{page_path}/activities", _activity_form(ends_on="2026-11-01"), token_from=page_path
    )
    assert wrong_end.status_code == 422 and 'href="#ends_on"' in wrong_end.text

    planned = await director.post_form(
        f"{page_path}/activities", _activity_form(), token_from=page_path
    )
    assert planned.status_code == 303, planned.text
    found = re.search(r"/activities/([0-9a-f-]{36})\?done=planned$", planned.headers["location"])
    assert found
    activity_path = f"{page_path}/activities/{found.group(1)}"
    (activity,) = (await osh.admin.get(f"/api/partnerships/{partnership_id}/activities")).json()[
        "items"
    ]
    assert activity["title"] == "Бөлчөктөр сабагына катышуу"
    assert activity["ends_on"] == "2026-11-10" and activity["needs_approval"] is True
    assert activity["approval_obtained"] is False

    changed = await director.post_form(
        activity_path,
        _activity_form(title="Бөлчөктөр: ачык сабак", approval_obtained="true"),
        token_from=f"{activity_path}/edit",
    )
    assert changed.status_code == 303, changed.text
    assert "Бөлчөктөр: ачык сабак" in (await partner.get(page_path)).text

    done = await director.post_form(f"{activity_path}/done", {}, token_from=activity_path)
    assert done.status_code == 303
    evaluation = {
        "went_well": "Окуучулар бөлчөктөрдү оюн аркылуу түшүнүштү.",
        "to_change": "Сабакты эртерээк баштоо керек.",
        "continue": "true",
    }
    unfinished = await partner.post_form(
        f"{activity_path}/evaluations", evaluation, token_from=activity_path
    )
    assert unfinished.status_code == 422
    assert 'href="#goal_progress-0"' in unfinished.text
    evaluated = await partner.post_form(
        f"{activity_path}/evaluations",
        {**evaluation, "goal_progress-0": "4"},
        token_from=activity_path,
    )
    assert evaluated.status_code == 303, evaluated.text
    read = (await naryn.admin.get(f"/api/activities/{found.group(1)}")).json()
    (saved,) = read["evaluations"]
    assert saved["goal_progress"] == {GOALS[0]: 4} and saved["continue"] is True
    assert read["awaiting_evaluation_from"] == [str(osh.id)]
    again = await partner.get(activity_path)
    assert 'action="' + activity_path + '/evaluations"' not in again.text  # once per school

    # Questions between the partners, asked and answered on the page.
    asked = await partner.post_form(
        f"{page_path}/questions",
        {"question": "Математикадан артта калган окуучуларга кантип жардам бересиздер?"},
        token_from=page_path,
    )
    assert asked.status_code == 303, asked.text
    (question,) = (await osh.admin.get("/api/questions?direction=incoming")).json()["items"]
    empty = await director.post_form(
        f"{page_path}/questions/{question['id']}/answers", {"answer": ""}, token_from=page_path
    )
    assert empty.status_code == 422
    answered = await director.post_form(
        f"{page_path}/questions/{question['id']}/answers",
        {"answer": "Сабактан кийин кошумча саат өтөбүз."},
        token_from=page_path,
    )
    assert answered.status_code == 303
    assert "Сабактан кийин кошумча саат өтөбүз." in (await partner.get(page_path)).text

    # The summary page, and its document in the partnership's language (Kyrgyz).
    summary = await director.get(f"{page_path}/summary?school_year=2026&lang=ru")
    assert summary.status_code == 200
    assert "Бөлчөктөр: ачык сабак" in summary.text
    assert summary.headers["content-language"] == "ru"
    document = await director.get(f"{page_path}/summary.docx?school_year=2026")
    assert document.status_code == 200
    paragraphs = [p.text for p in Document(io.BytesIO(document.content)).paragraphs]
    assert paragraphs[0] == "Өнөктөштүктүн жыйынтыгы, 2026–2027 окуу жылы"


async def test_another_schools_partnership_is_404_on_every_page_route(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh, naryn, stranger = (
        await schools.create("Ош №5"),
        await schools.create("Нарын №2"),
        await schools.create("Бишкек №9"),
    )
    partnership_id = await partners(osh, naryn)
    planned = await osh.admin.post(
        f"/api/partnerships/{partnership_id}/activities",
        json={"kind": "meeting", "title": "Meeting", "starts_on": "2026-11-10", "goals": []},
    )
    activity = planned.json()["id"]
    asked = await naryn.admin.post(
        f"/api/partnerships/{partnership_id}/questions", json={"question": "How?"}
    )
    question = asked.json()["id"]
    base = f"/partnerships/{partnership_id}"
    outsider = visitors()
    await outsider.sign_in(stranger.admin.email)
    for path in [
        base,
        f"{base}/activities/new",
        f"{base}/activities/{activity}",
        f"{base}/activities/{activity}/edit",
        f"{base}/summary",
        f"{base}/summary.docx",
        f"{base}/summary.txt",
    ]:
        answer = await outsider.get(path)
        assert answer.status_code == 404, path
        assert "text/html" in answer.headers["content-type"], path
    for path, data in [
        (f"{base}/activities", {"kind": "meeting", "title": "x", "starts_on": "2026-11-11"}),
        (
            f"{base}/activities/{activity}",
            {"kind": "meeting", "title": "x", "starts_on": "2026-11-11"},
        ),
        (f"{base}/activities/{activity}/done", {}),
        (f"{base}/activities/{activity}/cancel", {}),
        (f"{base}/activities/{activity}/evaluations", {"went_well": "x"}),
        (f"{base}/questions", {"question": "x"}),
        (f"{base}/questions/{question}/answers", {"answer": "x"}),
    ]:
        answer = await outsider.post_form(path, data, token_from="/")
        assert answer.status_code == 404, path
    after = (await osh.admin.get(f"/api/activities/{activity}")).json()
    assert after["status"] == "planned" and after["title"] == "Meeting"
    # A visitor is sent to sign in.
    visitor = visitors()
    answer = await visitor.get(base)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")


async def test_a_member_turns_the_calendar_address_on_and_off_from_the_page(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh, naryn = await schools.create("Ош №5"), await schools.create("Нарын №2")
    partnership_id = await partners(osh, naryn)
    await osh.admin.post(
        f"/api/partnerships/{partnership_id}/activities",
        json={"kind": "meeting", "title": "Staff meeting", "starts_on": "2026-11-10", "goals": []},
    )
    teacher = visitors()
    await teacher.sign_in(naryn.admin.email)
    shown = await teacher.post_form("/partnerships/calendar-feed", {}, token_from="/partnerships")
    assert shown.status_code == 200  # the address is on this answer only, not in a URL
    found = re.search(r'value="(http[^"]+/api/calendar/[^"]+\.ics)"', shown.text)
    assert found
    path = "/api/calendar/" + found.group(1).rsplit("/", 1)[1]
    feed = await teacher.get(path)
    assert feed.status_code == 200 and b"Staff meeting" in feed.content
    off = await teacher.post_form(
        "/partnerships/calendar-feed/revoke", {}, token_from="/partnerships"
    )
    assert off.status_code == 303
    assert (await teacher.get(path)).status_code == 404


async def _shared(school: SchoolHandle, title: str, visibility: str = "partners") -> str:
    uploaded = await school.admin.post(
        "/api/resources",
        data={"title": title, "kind": "assessment", "visibility": visibility},
        files={"file": ("test.txt", f"{title}\n".encode(), "text/plain")},
    )
    assert uploaded.status_code == 201, uploaded.text
    return str(uploaded.json()["id"])


def _task_rows(*rows: dict[str, str]) -> dict[str, str]:
    fields = {"task_rows": str(len(rows) + 1)}  # and one empty row, as the page sends it
    for number, row in enumerate(rows):
        fields.update({f"task_{name}-{number}": value for name, value in row.items()})
    return fields


async def test_a_joint_project_gets_tasks_and_linked_resources_from_the_activity_form(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh, naryn = await schools.create("Ош №5"), await schools.create("Нарын №2")
    stranger = await schools.create("Талас №1")
    partnership_id = await partners(osh, naryn, language="ky")
    page_path = f"/partnerships/{partnership_id}"
    tests_of_naryn = await _shared(naryn, "Бөлчөктөр: баалоо тести")
    own_plan = await _shared(osh, "Бөлчөктөр: сабак планы", visibility="school")
    kept_in_talas = await _shared(stranger, "Талас: ички саясат", visibility="school")
    methodist = await osh.add_member("teacher", full_name="Гүлнара Методист")
    director, partner = visitors(), visitors()
    await director.sign_in(osh.admin.email)
    await partner.sign_in(naryn.admin.email)

    form = unescape((await director.get(f"{page_path}/activities/new")).text)
    assert f'value="{tests_of_naryn}"' in form and f'value="{own_plan}"' in form
    assert kept_in_talas not in form  # only what the member may read is offered
    assert 'name="task_title-0"' in form and f'value="{methodist.member_id}"' in form

    project = _activity_form(
        kind="joint_project",
        title="Баалоо ыкмаларын биргелешип жазуу",
        resource_ids=[tests_of_naryn, own_plan],
        **_task_rows(
            {
                "title": "5-класс үчүн тест жазуу",
                "owner": str(methodist.member_id),
                "due": "2026-12-01",
            },
            {"title": "Критерийлерди макулдашуу"},
        ),
    )
    # A resource the member cannot read is refused as the API refuses it, next to its field.
    hidden = await director.post_form(
        f"{page_path}/activities",
        {**project, "resource_ids": [tests_of_naryn, kept_in_talas]},
        token_from=page_path,
    )
    assert hidden.status_code == 422 and 'href="#resource_ids"' in hidden.text
    assert "мектебиңиз окуй алган ресурстарды гана байланыштыра алат" in unescape(hidden.text)
    assert "Талас: ички саясат" not in unescape(hidden.text)
    # A task of another school's member is refused too; a malformed due day is said.
    foreign = await director.post_form(
        f"{page_path}/activities",
        {**project, "task_owner-1": str(naryn.admin.member_id), "task_due-1": "1.12"},
        token_from=page_path,
    )
    assert foreign.status_code == 422 and 'href="#task_due-1"' in foreign.text
    wrong_kind = await director.post_form(
        f"{page_path}/activities", {**project, "kind": "meeting"}, token_from=page_path
    )
    assert wrong_kind.status_code == 422 and 'href="#tasks"' in wrong_kind.text

    planned = await director.post_form(f"{page_path}/activities", project, token_from=page_path)
    assert planned.status_code == 303, planned.text
    activity_path = planned.headers["location"].split("?")[0]
    activity_id = activity_path.rsplit("/", 1)[1]
    saved = (await osh.admin.get(f"/api/activities/{activity_id}")).json()
    assert [(t["title"], t["owner_member_id"], t["due_on"], t["done"]) for t in saved["tasks"]] == [
        ("5-класс үчүн тест жазуу", str(methodist.member_id), "2026-12-01", False),
        ("Критерийлерди макулдашуу", None, None, False),
    ]
    assert saved["resource_ids"] == [tests_of_naryn, own_plan]
    # The partner reads the tasks with their owners, and only the resource it may read.
    seen = unescape((await partner.get(activity_path)).text)
    assert "5-класс үчүн тест жазуу" in seen and "Гүлнара Методист" in seen
    assert f'href="/resources/{tests_of_naryn}"' in seen and own_plan not in seen
    partner_read = (await naryn.admin.get(f"/api/activities/{activity_id}")).json()
    assert partner_read["resource_ids"] == [tests_of_naryn]

    # The partner adds its own task; the owner's form shows it, and keeps it on saving.
    theirs = await partner.post_form(
        activity_path,
        _activity_form(
            kind="joint_project",
            title="Баалоо ыкмаларын биргелешип жазуу",
            resource_ids=[tests_of_naryn],
            **_task_rows({"title": "6-класс үчүн тест жазуу", "due": "2026-12-05"}),
        ),
        token_from=f"{activity_path}/edit",
    )
    assert theirs.status_code == 303, theirs.text
    edit = unescape((await director.get(f"{activity_path}/edit")).text)
    assert 'value="5-класс үчүн тест жазуу"' in edit and "6-класс үчүн тест жазуу" in edit
    assert 'name="task_title-2"' in edit  # two tasks and the empty rows after them

    # The owner marks the first task done and removes the second.
    finished = await director.post_form(
        activity_path,
        {
            **project,
            "task_done-0": "true",
            "task_remove-1": "true",
        },
        token_from=f"{activity_path}/edit",
    )
    assert finished.status_code == 303, finished.text
    tasks = (await naryn.admin.get(f"/api/activities/{activity_id}")).json()["tasks"]
    assert [(t["title"], t["done"]) for t in tasks] == [
        ("6-класс үчүн тест жазуу", False),
        ("5-класс үчүн тест жазуу", True),
    ]
    # The own school's resource the partner cannot read stays linked, unseen by it.
    assert (await osh.admin.get(f"/api/activities/{activity_id}")).json()["resource_ids"] == [
        tests_of_naryn,
        own_plan,
    ]


async def test_the_home_page_shows_a_few_partnerships_and_links_to_all(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    hub = await schools.create("Бишкек №1")
    for number in range(HOME_SHOWN):
        await partners(hub, await schools.create(f"Айыл мектеби {number}"))
    director = visitors()
    await director.sign_in(hub.admin.email)
    few = await director.get("/")
    assert few.text.count('href="/partnerships/') == HOME_SHOWN
    assert '<p><a href="/partnerships">' not in few.text
    await partners(await schools.create("Токмок №3"), hub)
    more = await director.get("/")
    assert more.text.count('href="/partnerships/') == HOME_SHOWN
    assert "Токмок №3" in more.text  # the newest first
    assert '<p><a href="/partnerships">' in more.text  # the whole list is a link away
