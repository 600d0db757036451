"""Finding and inviting partners on the pages: the directory with its filters and the
API's cursor, suggestions with their reasons in the reader's language, a school's profile
with its self-assessment only where the policy lets the reader see it, an invitation
previewed, sent, downloaded as text and DOCX, accepted under the code of conduct with an
explicit "we agree" (recorded with who and when), declined or withdrawn with a reason;
forms without scripts, each with its token; another school's invitation is 404."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any

from docx import Document
from odf import teletype
from odf.opendocument import load
from odf.text import P

from tests.actors import SchoolFactory, SchoolHandle
from tests.clock import ManualClock
from tests.pages import Visitor
from tests.partnering import GOALS, invited

SELF_ASSESSMENT = {"location": "Айылдык мектеп, тоолордун арасында; интернет начар."}


async def _profile(school: SchoolHandle, **fields: Any) -> None:
    response = await school.admin.put("/api/schools/me/profile", json=fields)
    assert response.status_code == 200, response.text


async def test_the_directory_filters_pages_and_suggests_with_reasons(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    naryn = await schools.create("Нарын №2 мектеби", region="Нарын")
    await _profile(
        naryn,
        region="Нарын",
        locality="rural",
        kind="state",
        languages=["ky"],
        offers="Кыргыз тили боюнча баалоо ыкмалары",
        needs="Математика боюнча сабак пландары",
        self_assessment=SELF_ASSESSMENT,
    )
    osh = await schools.create("Ош шаарындагы №5 мектеп", region="Ош")
    await _profile(
        osh,
        region="Ош",
        locality="urban",
        kind="state",
        languages=["ru", "ky"],
        offers="Математика боюнча сабак пландары",
        needs="Кыргыз тили боюнча баалоо ыкмалары",
    )
    for number in range(22):  # more than one page of the directory (20 a page)
        await schools.create(f"Чүй мектеби {number:02}", region="Чүй")
    director = visitors()
    await director.sign_in(osh.admin.email)

    page = await director.get("/partners?lang=ky")
    assert page.status_code == 200
    assert page.headers["content-language"] == "ky"
    text = unescape(page.text)
    # The suggestion names the school and says why, in Kyrgyz.
    suggestions = text.split('id="suggestions"')[1].split('id="directory-heading"')[0]
    assert "Нарын №2 мектеби" in suggestions
    assert f'href="/partners/schools/{naryn.id}"' in suggestions
    assert "<li>" in suggestions.split("<ul>")[1]  # at least one reason
    # Filters: the rural state schools teaching in Kyrgyz in Naryn.
    found = await director.get("/partners?region=нарын&locality=rural&kind=state&language=ky")
    assert found.status_code == 200
    listed = re.findall(
        r'href="/partners/schools/([0-9a-f-]{36})"', found.text.split('id="directory"')[1]
    )
    assert listed == [str(naryn.id)]
    # Search words reach what a school offers and needs.
    wanted = await director.get("/partners?q=баалоо")
    assert f'/partners/schools/{naryn.id}"' in wanted.text.split('id="directory"')[1]
    # Paging by the directory's cursor: the link keeps the filters; htmx gets the rows.
    first_page = await director.get("/partners?region=Чүй")
    more = re.search(r'id="directory-more"><a href="([^"]+)"', first_page.text)
    assert more, "a second page is linked"
    next_url = unescape(more.group(1))
    assert "region=" in next_url and "cursor=" in next_url
    second = await director.get(next_url)
    assert second.status_code == 200
    assert "Чүй мектеби 21" in second.text and "Чүй мектеби 00" not in second.text
    fragment = await director.get(next_url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Чүй мектеби 20" in fragment.text
    # A language code the directory cannot read is said on the page, not as JSON.
    wrong = await director.get("/partners?language=k1")
    assert wrong.status_code == 200 and "text/html" in wrong.headers["content-type"]

    # A profile: the self-assessment stays hidden until the schools are in touch.
    profile = await director.get(f"/partners/schools/{naryn.id}?lang=en")
    assert profile.status_code == 200
    assert "Кыргыз тили боюнча баалоо ыкмалары" in profile.text
    assert SELF_ASSESSMENT["location"] not in unescape(profile.text)
    assert f'href="/partners/schools/{naryn.id}/invite"' in profile.text
    await invited(osh, naryn)
    profile = await director.get(f"/partners/schools/{naryn.id}")
    assert SELF_ASSESSMENT["location"] in unescape(profile.text)
    assert "anything special about your school" in unescape(profile.text)
    # A teacher reads the directory but is not offered the invitation.
    teacher = visitors()
    await teacher.sign_in((await osh.teacher()).email)
    read = await teacher.get(f"/partners/schools/{naryn.id}")
    assert read.status_code == 200 and "/invite" not in read.text
    refused = await teacher.get(f"/partners/schools/{naryn.id}/invite")
    assert refused.status_code == 403


async def test_an_invitation_is_previewed_sent_downloaded_and_accepted_under_the_code(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh, naryn = await schools.create("Ош №5"), await schools.create("Нарын №2")
    director, partner = visitors(), visitors()
    await director.sign_in(osh.admin.email)
    await partner.sign_in(naryn.admin.email)
    form_path = f"/partners/schools/{naryn.id}/invite"
    form = await director.get(form_path)
    assert form.status_code == 200 and 'name="_csrf_token"' in form.text

    vague = await director.post_form(form_path, {"goals": "Be best", "language": "ru"})
    assert vague.status_code == 422 and "Be best" in vague.text
    empty = await director.post_form(form_path, {"goals": "", "language": "ru"})
    assert empty.status_code == 422 and 'href="#goals"' in empty.text
    fields = {
        "goals": "\n".join(GOALS),
        "characteristics": ["local", "virtual"],
        "language": "ru",
    }
    preview = await director.post_form(form_path, fields)
    assert preview.status_code == 200
    letter = unescape(preview.text).split('class="letter"')[1]
    assert "Нарын №2" in letter and GOALS[0] in letter
    nothing_yet = await osh.admin.get("/api/partnerships")
    assert nothing_yet.json()["items"] == []  # a preview sends nothing

    sent = await director.post_form(form_path, {**fields, "send": ""})
    assert sent.status_code == 303, sent.text
    found = re.fullmatch(
        r"/partners/invitations/([0-9a-f-]{36})\?done=sent", sent.headers["location"]
    )
    assert found
    partnership_id = found.group(1)
    path = f"/partners/invitations/{partnership_id}"
    (saved,) = (await osh.admin.get("/api/partnerships")).json()["items"]
    assert saved["language"] == "ru" and saved["goals"] == GOALS
    assert saved["characteristics"] == ["local", "virtual"]

    text = await partner.get(f"{path}/letter.txt")
    assert text.status_code == 200 and text.text == saved["invitation_letter"]
    assert "attachment" in text.headers["content-disposition"]
    document = await partner.get(f"{path}/letter.docx")
    assert document.status_code == 200
    paragraphs = [p.text for p in Document(io.BytesIO(document.content)).paragraphs]
    lines = [line.rstrip() for line in saved["invitation_letter"].splitlines()]
    assert paragraphs[: len(lines)] == lines  # line for line, to print and sign
    opendocument = await partner.get(f"{path}/letter.odt")
    assert opendocument.status_code == 200
    assert opendocument.headers["content-type"] == "application/vnd.oasis.opendocument.text"
    assert "attachment" in opendocument.headers["content-disposition"]
    read_back = load(io.BytesIO(opendocument.content)).getElementsByType(P)
    assert [teletype.extractText(p) for p in read_back][: len(lines)] == lines

    # Both schools see the open invitation on the directory page.
    assert f'href="{path}"' in (await partner.get("/partners")).text
    seen = await partner.get(f"{path}?lang=ky")
    assert seen.status_code == 200
    assert 'name="agree"' in seen.text and f'action="{path}/accept"' in seen.text
    assert f'action="{path}/withdraw"' not in seen.text
    assert f'action="{path}/withdraw"' in (await director.get(path)).text

    # Accepting without ticking "we agree" changes nothing.
    unticked = await partner.post_form(f"{path}/accept", {}, token_from=path)
    assert unticked.status_code == 422 and 'href="#agree"' in unticked.text
    assert (await naryn.admin.get(f"/api/partnerships/{partnership_id}")).json()[
        "status"
    ] == "invited"
    # The inviting school cannot accept its own invitation.
    own = await director.post_form(f"{path}/accept", {"agree": "true"}, token_from=path)
    assert own.status_code == 403
    accepted = await partner.post_form(f"{path}/accept", {"agree": "true"}, token_from=path)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/partnerships/{partnership_id}"
    after = (await naryn.admin.get(f"/api/partnerships/{partnership_id}")).json()
    assert after["status"] == "active"
    assert after["invited"]["agreed_by"]["id"] == str(naryn.admin.member_id)
    assert after["invited"]["agreed_conduct_version"] == 1 and after["accepted_at"]
    record = await director.get(path)
    assert after["invited"]["agreed_by"]["full_name"] in unescape(record.text)

    # Either side ends it with a reason; the partner reads the reason.
    assert f'action="{path}/end"' in record.text
    no_reason = await director.post_form(f"{path}/end", {"note": ""}, token_from=path)
    assert no_reason.status_code == 422 and 'href="#note-ended"' in no_reason.text
    ended = await director.post_form(
        f"{path}/end", {"note": "Мектебибиз кайра курулууда."}, token_from=path
    )
    assert ended.status_code == 303
    assert (await naryn.admin.get(f"/api/partnerships/{partnership_id}")).json()[
        "status"
    ] == "ended"
    notices = (await naryn.admin.get("/api/notifications")).json()["items"]
    assert any("Мектебибиз кайра курулууда." in str(notice) for notice in notices)
    for reader in (director, partner):
        for page in (path, f"/partnerships/{partnership_id}"):
            assert "Мектебибиз кайра курулууда." in unescape((await reader.get(page)).text)


async def test_an_invitation_is_declined_or_withdrawn_with_a_reason(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    osh, naryn, bishkek = (
        await schools.create("Ош №5"),
        await schools.create("Нарын №2"),
        await schools.create("Бишкек №9"),
    )
    director, partner, stranger = visitors(), visitors(), visitors()
    await director.sign_in(osh.admin.email)
    await partner.sign_in(naryn.admin.email)
    await stranger.sign_in(bishkek.admin.email)
    first = await invited(osh, naryn)
    path = f"/partners/invitations/{first}"
    for route in ("", "/letter.txt", "/letter.docx", "/letter.odt"):
        hidden = await stranger.get(path + route)
        assert hidden.status_code == 404 and "text/html" in hidden.headers["content-type"]
    for move in ("accept", "decline", "withdraw"):
        hidden = await stranger.post_form(
            f"{path}/{move}", {"agree": "true", "note": "x"}, token_from="/partners"
        )
        assert hidden.status_code == 404

    no_reason = await partner.post_form(f"{path}/decline", {"note": " "}, token_from=path)
    assert no_reason.status_code == 422 and 'href="#note-declined"' in no_reason.text
    declined = await partner.post_form(
        f"{path}/decline",
        {"note": "Бул окуу жылында биз башка мектеп менен иштешебиз."},
        token_from=path,
    )
    assert declined.status_code == 303
    assert (await osh.admin.get(f"/api/partnerships/{first}")).json()["status"] == "declined"
    notices = (await osh.admin.get("/api/notifications")).json()["items"]
    assert any("Бул окуу жылында" in str(notice) for notice in notices), (
        "the inviting school reads the reason"
    )
    for reader in (director, partner):  # kept on the invitation, for both schools
        record = unescape((await reader.get(path)).text)
        assert "Бул окуу жылында биз башка мектеп менен иштешебиз." in record
    late = await partner.post_form(
        f"{path}/decline", {"note": "Again."}, token_from=f"/partners/schools/{osh.id}"
    )
    assert late.status_code == 422  # no longer open: said on the page

    second = await invited(osh, naryn)
    path = f"/partners/invitations/{second}"
    withdrawn = await director.post_form(
        f"{path}/withdraw", {"note": "We chose goals anew."}, token_from=path
    )
    assert withdrawn.status_code == 303
    assert (await osh.admin.get(f"/api/partnerships/{second}")).json()["status"] == "withdrawn"


async def test_an_admin_writes_the_profile_and_the_self_assessment_on_a_form(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    naryn = await schools.create("Нарын №2")
    director, teacher = visitors(), visitors()
    await director.sign_in(naryn.admin.email)
    await teacher.sign_in((await naryn.teacher()).email)
    assert (await teacher.get("/partners/profile")).status_code == 403
    form = await director.get("/partners/profile?lang=ru")
    assert form.status_code == 200
    assert "Отличается ли чем-то особенным расположение вашей школы?" in unescape(form.text)
    filled = {
        "region": "Нарын",
        "locality": "rural",
        "kind": "state",
        "languages": ["ky", "ru"],
        "strong_subjects": "Кыргыз тили\nМатематика",
        "offers": "Кыргыз тили боюнча баалоо ыкмалары",
        "needs": "Физика боюнча лабораториялык иштер",
        "self_assessment.location": SELF_ASSESSMENT["location"],
    }
    wrong = await director.post_form("/partners/profile", {**filled, "website": "not a site"})
    assert wrong.status_code == 422 and 'href="#website"' in wrong.text
    assert "Физика боюнча лабораториялык иштер" in wrong.text  # kept as typed
    saved = await director.post_form("/partners/profile", filled)
    assert saved.status_code == 303, saved.text
    school = (await naryn.admin.get("/api/schools/me")).json()
    assert school["locality"] == "rural" and school["languages"] == ["ky", "ru"]
    assert school["strong_subjects"] == ["Кыргыз тили", "Математика"]
    assert school["self_assessment"] == SELF_ASSESSMENT
    again = await director.get("/partners/profile")
    assert SELF_ASSESSMENT["location"] in unescape(again.text)


async def test_an_overdue_invitation_is_marked_counted_at_home_and_reminded_once(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, clock: ManualClock
) -> None:
    osh, naryn = await schools.create("Ош №5"), await schools.create("Нарын №2")
    partnership_id = await invited(osh, naryn)
    path = f"/partners/invitations/{partnership_id}"
    clock.advance(timedelta(days=31))
    director, partner = visitors(), visitors()
    await director.sign_in(osh.admin.email)
    await partner.sign_in(naryn.admin.email)

    seen = unescape((await director.get(f"{path}?lang=ru")).text)
    assert "Просрочен" in seen and f'action="{path}/remind"' in seen
    partner_sees = unescape((await partner.get(f"{path}?lang=ky")).text)
    assert "Мөөнөтү өтүп кетти" in partner_sees and f'action="{path}/remind"' not in partner_sees
    listed = unescape((await partner.get("/partners")).text)
    assert "Мөөнөтү өтүп кетти" in listed
    assert "Мөөнөтү өтүп кетти" in unescape((await partner.get("/partnerships")).text)
    home = unescape((await partner.get("/")).text)
    assert "Өнөктөштүккө 1 чакыруу мектебиңиздин жообун күтүп жатат" in home
    assert "1 мөөнөтү өткөн" in home
    assert "1 приглашение вашей школы ждёт ответа" in unescape((await director.get("/")).text)

    # The invited school's admin may not remind; the inviting school's reminds once.
    refused = await partner.post_form(f"{path}/remind", {}, token_from=path)
    assert refused.status_code == 403
    reminded = await director.post_form(f"{path}/remind", {}, token_from=path)
    assert reminded.status_code == 303
    assert reminded.headers["location"] == f"{path}?done=reminded"
    after = unescape((await director.get(reminded.headers["location"])).text)
    assert "Напоминание отправлено администраторам приглашённой школы." in after
    assert f'action="{path}/remind"' not in after  # reminded: no second button
    again = await director.post_form(f"{path}/remind", {}, token_from=path)
    assert again.status_code == 422
    assert "о приглашении напоминают один раз" in unescape(again.text)
    notices = (await partner.get("/inbox")).text
    assert "өнөктөштүккө чакыруусун эскертет" in unescape(notices)
    unknown = await director.post_form(f"{path}/forget", {}, token_from=path)
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
