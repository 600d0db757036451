"""The audit trail on a page (`/audit`): the API's list under the same policy, each
entry a sentence in the reader's language, its filters, and paging by its cursor."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from exchange.config import Settings
from tests.actors import SchoolFactory
from tests.pages import Visitor, upload_page
from tests.resource_fixtures import make_partners
from tests.sample_files import pdf

EVENT_CODE = re.compile(r"\b(resource|member|reuse_request|partnership|grant)\.[a-z_]+\b")


async def shared(visitor: Visitor, title: str) -> str:
    answer = await upload_page(visitor, pdf(), title=title)
    assert answer.status_code == 303, answer.text
    found = re.search(r"/resources/([0-9a-f-]{36})", answer.headers["location"])
    assert found
    return found.group(1)


async def test_an_admin_reads_the_trail_in_words_of_their_language_and_filters_it(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    admin = visitors()
    await admin.sign_in(school.admin.email)
    await admin.get("/?lang=ru")
    fractions = await shared(admin, "Бөлчөктөр")
    await shared(admin, "Геометрия")
    teacher = await school.teacher()
    reset = await school.admin.post(f"/api/members/{teacher.member_id}/password-reset")
    assert reset.status_code == 201

    trail = await admin.get("/audit")

    assert trail.status_code == 200
    assert "Поделился(ась) «Бөлчөктөр»." in trail.text
    name = (await school.admin.get(f"/api/members/{teacher.member_id}")).json()["full_name"]
    assert f"Создал(а) ссылку, по которой {html.escape(name)} установит пароль." in trail.text
    assert not EVENT_CODE.search(trail.text), EVENT_CODE.search(trail.text)
    api = (await school.admin.get("/api/audit")).json()["items"]
    assert len(re.findall(r"<time datetime=", trail.text)) == len(api)

    page_address = f"http://testserver.local/resources/{fractions}"
    one = await admin.get("/audit", params={"resource_id": page_address})
    assert "«Бөлчөктөр»" in one.text
    assert "«Геометрия»" not in one.text
    later = await admin.get("/audit", params={"since": "2100-01-01"})
    assert "<time datetime=" not in later.text
    wrong = await admin.get("/audit", params={"since": "вчера", "resource_id": "что-то"})
    assert wrong.status_code == 422
    assert 'id="since-error"' in wrong.text
    assert 'id="resource_id-error"' in wrong.text


async def test_teachers_and_other_schools_read_no_trail_but_their_own(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    admin = visitors()
    await admin.sign_in(owner.admin.email)
    resource_id = await shared(admin, "Бөлчөктөр")
    assert 'href="/audit"' in (await admin.get("/")).text

    teacher = visitors()
    await teacher.sign_in((await owner.teacher()).email)
    assert (await teacher.get("/audit")).status_code == 403
    assert 'href="/audit"' not in (await teacher.get("/")).text
    other = visitors()
    await other.sign_in(partner.admin.email)
    assert (await other.get("/audit", params={"resource_id": resource_id})).status_code == 404
    own_trail = await other.get("/audit")
    assert own_trail.status_code == 200
    assert "Бөлчөктөр" not in own_trail.text


async def test_the_trail_pages_on_with_a_link_that_follows_the_apis_cursor(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    for _ in range(55):
        assert (
            await school.admin.post(f"/api/members/{teacher.member_id}/password-reset")
        ).status_code == 201
    admin = visitors()
    await admin.sign_in(school.admin.email)

    first = await admin.get("/audit")
    more = re.search(r'<p class="pager" id="audit-more"><a href="([^"]+)"', first.text)
    assert more
    second = await admin.get(html.unescape(more.group(1)))

    times = re.findall(r"<time datetime=", first.text + second.text)
    assert len(times) == len((await school.admin.get("/api/audit?limit=200")).json()["items"])
    assert '<p class="pager" id="audit-more"></p>' in second.text
