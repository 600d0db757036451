"""The school's members on the page (`/members`): admins add a member without choosing
their password and copy the one-time link, make a new link, change a member's name,
disable and enable an account; teachers see who is in their school; another school's
members are 404. The same service and rules as `/api/members`."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from exchange.config import Settings
from tests.actors import PASSWORD, SchoolFactory
from tests.pages import Visitor

LINK = re.compile(r'id="set-password-link" value="([^"]+)"')


def link_in(page: str) -> str:
    found = LINK.search(page)
    assert found, "the page shows no link to copy"
    return html.unescape(found.group(1))


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


async def test_an_admin_adds_a_member_who_chooses_their_password_with_the_link(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    admin = visitors()
    await admin.sign_in(school.admin.email)

    answer = await admin.post_form(
        "/members",
        {
            "full_name": "Айгүл Асанова",
            "email": "aigul@school.kg",
            "position": "математика мугалими",
            "role": "teacher",
        },
    )

    assert answer.status_code == 200, answer.text
    assert "location" not in answer.headers  # the link is never put in an address
    link = link_in(answer.text)
    assert link.startswith(f"{settings.public_url}/set-password?token=")
    members = (await school.admin.get("/api/members")).json()["items"]
    [added] = [m for m in members if m["email"] == "aigul@school.kg"]
    assert (added["full_name"], added["role"], added["position"]) == (
        "Айгүл Асанова",
        "teacher",
        "математика мугалими",
    )
    chosen = await school.admin.post(
        "/api/auth/set-password", json={"token": token_of(link), "new_password": PASSWORD}
    )
    assert chosen.status_code == 204, chosen.text
    member = visitors()
    await member.sign_in("aigul@school.kg")
    listed = await member.get("/members")
    assert "Айгүл Асанова" in listed.text
    assert 'action="/members"' not in listed.text  # a teacher adds no one


async def test_a_refused_member_is_shown_by_its_field_in_the_readers_language(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    admin = visitors()
    await admin.sign_in(school.admin.email)
    await admin.get("/?lang=ru")
    before = (await school.admin.get("/api/members")).json()["items"]

    taken = await admin.post_form(
        "/members", {"full_name": "Двойник", "email": school.admin.email, "role": "teacher"}
    )
    assert taken.status_code == 422
    assert 'id="email-error"' in taken.text
    assert "уже есть учётная запись" in taken.text
    empty = await admin.post_form("/members", {"full_name": "", "email": "x", "role": "boss"})
    assert empty.status_code == 422
    for field in ("full_name", "email", "role"):
        assert f'<a href="#{field}">' in empty.text, field
    assert (await school.admin.get("/api/members")).json()["items"] == before


async def test_a_new_link_replaces_the_earlier_one(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    admin = visitors()
    await admin.sign_in(school.admin.email)
    first = link_in(
        (
            await admin.post_form(
                "/members", {"full_name": "Бакыт Осмонов", "email": "bakyt@school.kg"}
            )
        ).text
    )
    [member] = [
        m
        for m in (await school.admin.get("/api/members")).json()["items"]
        if m["email"] == "bakyt@school.kg"
    ]

    answer = await admin.post_form(
        f"/members/{member['id']}/password-link", {}, token_from="/members"
    )

    assert answer.status_code == 200, answer.text
    second = link_in(answer.text)
    assert second != first
    old = await school.admin.post(
        "/api/auth/set-password", json={"token": token_of(first), "new_password": PASSWORD}
    )
    assert old.status_code == 409
    assert old.json()["link_status"] == "replaced"
    new = await school.admin.post(
        "/api/auth/set-password", json={"token": token_of(second), "new_password": PASSWORD}
    )
    assert new.status_code == 204


async def test_an_admin_disables_enables_and_renames_a_member(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    admin = visitors()
    await admin.sign_in(school.admin.email)

    disabled = await admin.post_form(
        f"/members/{teacher.member_id}/disable", {}, token_from="/members"
    )
    assert disabled.status_code == 303
    assert (await teacher.get("/api/me")).status_code == 401
    shown = await admin.get(disabled.headers["location"])
    assert 'role="status"' in shown.text
    enabled = await admin.post_form(
        f"/members/{teacher.member_id}/enable", {}, token_from="/members"
    )
    assert enabled.status_code == 303
    renamed = await admin.post_form(
        f"/members/{teacher.member_id}/edit",
        {"full_name": "Нурлан Токтогулов", "position": "директордун орун басары"},
    )
    assert renamed.status_code == 303, renamed.text
    member = (await school.admin.get(f"/api/members/{teacher.member_id}")).json()
    assert (member["is_active"], member["full_name"], member["position"]) == (
        True,
        "Нурлан Токтогулов",
        "директордун орун басары",
    )
    # The last admin cannot be disabled, and the page says why.
    self_disable = await admin.post_form(
        f"/members/{school.admin.member_id}/disable", {}, token_from="/members"
    )
    assert self_disable.status_code == 409
    assert 'role="alert"' in self_disable.text


async def test_teachers_and_other_schools_cannot_change_members(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school, other = await schools.create(), await schools.create()
    teacher = await school.teacher()
    colleague = await school.teacher()
    browser = visitors()
    await browser.sign_in(teacher.email)
    before = (await school.admin.get("/api/members")).json()["items"]

    added = await browser.post_form("/members", {"full_name": "Someone", "email": "s@school.kg"})
    assert added.status_code == 403
    for action in ("disable", "password-link", "edit"):
        refused = await browser.post_form(
            f"/members/{colleague.member_id}/{action}", {"full_name": "X"}, token_from="/members"
        )
        assert refused.status_code == 403, action
    assert (await school.admin.get("/api/members")).json()["items"] == before

    outsider = visitors()
    await outsider.sign_in(other.admin.email)
    assert (await outsider.get(f"/members/{teacher.member_id}/edit")).status_code == 404
    for action in ("disable", "enable", "password-link", "edit"):
        refused = await outsider.post_form(
            f"/members/{teacher.member_id}/{action}", {"full_name": "X"}, token_from="/members"
        )
        assert refused.status_code == 404, action
    assert teacher.email not in (await outsider.get("/members")).text


async def test_the_list_pages_on_with_a_link_that_follows_the_apis_cursor(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    for n in range(55):
        response = await school.admin.post(
            "/api/members", json={"email": f"m{n:02d}@school.kg", "full_name": f"Мугалим {n:02d}"}
        )
        assert response.status_code == 201
    admin = visitors()
    await admin.sign_in(school.admin.email)

    first = await admin.get("/members")
    more = re.search(r'<p class="pager" id="members-more"><a href="([^"]+)"', first.text)
    assert more, "the first page has no link to the next"
    second = await admin.get(html.unescape(more.group(1)))

    emails = set(re.findall(r"m\d\d@school\.kg", first.text + second.text))
    assert len(emails) == 55
    assert not set(re.findall(r"m\d\d@school\.kg", first.text)) & set(
        re.findall(r"m\d\d@school\.kg", second.text)
    )
    assert '<p class="pager" id="members-more"></p>' in second.text
