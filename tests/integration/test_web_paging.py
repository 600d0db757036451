"""Lists on the pages read on by the API's cursor: a plain link to the next page
without JavaScript, the same link with htmx attributes that add the next items in
place. Following the links shows every item once."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from exchange.config import Settings
from exchange.notifications.service import notify_members
from tests.actors import SchoolFactory
from tests.clock import ManualClock
from tests.pages import Visitor
from tests.resource_fixtures import database, make_partners
from tests.search_rows import Shelf


def next_link(page: str, list_id: str) -> str | None:
    """The next page's address in the list's "more" paragraph, checking that htmx adds
    the next items to the list and replaces this paragraph."""
    found = re.search(rf'<p class="pager" id="{list_id}-more">(.*?)</p>', page, re.S)
    assert found, f"no more paragraph for {list_id}"
    link = re.search(r'<a href="([^"]+)" hx-get="([^"]+)"([^>]*)>', found.group(1))
    if link is None:
        return None
    assert link.group(1) == link.group(2)
    attributes = link.group(3)
    assert f'hx-target="#{list_id}"' in attributes
    assert (
        f'hx-select="#{list_id} &gt; *"' in attributes
        or f'hx-select="#{list_id} > *"' in attributes
    )
    assert f'hx-select-oob="#{list_id}-more"' in attributes
    return html.unescape(link.group(1))


async def read_all(visitor: Visitor, url: str, list_id: str, pattern: str) -> list[str]:
    seen: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        answer = await visitor.get(next_url)
        assert answer.status_code == 200, answer.text
        block = re.search(rf'id="{list_id}">(.*?)</(?:ul|ol|tbody)>', answer.text, re.S)
        assert block, list_id
        seen += re.findall(pattern, block.group(1))
        next_url = next_link(answer.text, list_id)
        pages += 1
        assert pages < 10
    assert pages > 1, "the list fit on one page: the test shows no paging"
    return seen


async def test_the_inbox_reads_on_to_its_oldest_notice(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    sent = ManualClock(datetime(2026, 9, 1, tzinfo=UTC))
    async with database(settings) as session:
        for n in range(60):
            sent.advance(timedelta(seconds=1))  # the order they were sent in
            await notify_members(
                session,
                sent,
                member_ids=[school.admin.member_id],
                kind="test.notice",
                subject_type="school",
                subject_id=school.id,
                payload={"message": f"Notice number {n:03d}."},
            )
        await session.commit()
    browser = visitors()
    await browser.sign_in(school.admin.email)

    seen = await read_all(browser, "/inbox", "inbox-items", r"Notice number (\d{3})\.")

    assert sorted(seen) == [f"{n:03d}" for n in range(60)]


async def test_requests_read_on_by_the_cursor_of_each_list(
    client: object,
    visitors: Callable[[], Visitor],
    schools: SchoolFactory,
    settings: Settings,
    clock: ManualClock,
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    shelf = Shelf(settings, clock)
    titles = [f"Урок {n:02d}" for n in range(20)]
    ids = [await shelf.add(owner.id, title=t, author_id=owner.admin.member_id) for t in titles]
    for resource_id in ids:
        for scope in ("adapt", "share", "publish"):
            asked = await partner.admin.post(
                f"/api/resources/{resource_id}/reuse-requests",
                json={"scope": scope, "purpose": "Биздин 6-класс", "audience": "Эки класс"},
            )
            assert asked.status_code == 201, asked.text
    asker = visitors()
    await asker.sign_in(partner.admin.email)

    asked = await read_all(
        asker, "/requests", "outgoing-items", r'<li id="request-([0-9a-f-]{36})">'
    )

    assert len(asked) == len(set(asked)) == 60


async def test_search_results_read_on_in_place(
    client: object,
    visitors: Callable[[], Visitor],
    schools: SchoolFactory,
    settings: Settings,
    clock: ManualClock,
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    shelf = Shelf(settings, clock)
    for n in range(60):
        await shelf.add(owner.id, title=f"Бөлчөктөр {n:02d}", body="бөлчөктөрдү кошуу")
    reader = visitors()
    await reader.sign_in(partner.admin.email)

    seen = await read_all(reader, "/search?q=бөлчөк", "search-items", r"Бөлчөктөр (\d\d)")

    assert sorted(seen) == [f"{n:02d}" for n in range(60)]
    fragment = await reader.get("/search?q=бөлчөк", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert 'id="search-items-more"' in fragment.text
