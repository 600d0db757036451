"""Previews on the pages: the small image of a file on its resource page and in search
results, served under the read rule to signed-in members, "Preview coming" while it is
being made, and what a download costs, all in the reader's language."""

from __future__ import annotations

import io
from collections.abc import Callable

from litestar import Litestar
from PIL import Image
from sqlalchemy import update

from exchange.config import Settings
from exchange.i18n import format_size, using_language
from exchange.models import ResourceVersion
from tests.actors import SchoolFactory
from tests.background import run_previews
from tests.pages import Visitor, upload_page
from tests.resource_fixtures import audit_actions, database, make_partners
from tests.sample_files import pdf

MAX_BYTES = 20 * 1024


async def shared_pdf(visitor: Visitor, title: str, pages: int = 3, **fields: str) -> str:
    answer = await upload_page(visitor, pdf(pages), title=title, **fields)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].split("/")[2].split("?")[0]


async def test_a_partner_sees_the_preview_and_the_pages_on_the_resource_page_and_in_search(
    app: Litestar,
    client: object,
    visitors: Callable[[], Visitor],
    schools: SchoolFactory,
    settings: Settings,
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    resource_id = await shared_pdf(author, "Бөлчөктөр: сабак планы")
    await run_previews(app)
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    russian = {"Accept-Language": "ru"}

    page = await reader.get(f"/resources/{resource_id}", headers=russian)
    found = await reader.get("/search?q=бөлчөк", headers=russian)
    image = await reader.get(f"/resources/{resource_id}/versions/1/preview")
    current = await reader.get(f"/resources/{resource_id}/preview")
    again = await reader.get(
        f"/resources/{resource_id}/versions/1/preview",
        headers={"If-None-Match": image.headers["etag"]},
    )

    source = f"/resources/{resource_id}/versions/1/preview"
    alt = "Предпросмотр «Бөлчөктөр: сабак планы»"
    assert (
        f'<img class="preview" src="{source}" alt="{alt}" width="240" height="240" '
        'loading="lazy" decoding="async">'
    ) in page.text
    assert (
        f'<img class="thumb" src="{source}" alt="{alt}" width="96" height="96" '
        'loading="lazy" decoding="async">'
    ) in found.text
    with using_language("ru"):
        cost = f"3 страницы, {format_size(len(pdf(3)))}"
    assert cost in page.text
    assert cost in found.text
    assert f'href="/resources/{resource_id}/versions/1/content?disposition=inline"' in found.text
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/webp"
    assert len(image.content) <= MAX_BYTES
    assert "immutable" in image.headers["cache-control"]
    assert image.headers["x-content-type-options"] == "nosniff"
    picture = Image.open(io.BytesIO(image.content))
    assert max(picture.size) <= 320
    assert current.content == image.content
    assert again.status_code == 304


async def test_preview_coming_is_said_while_the_preview_is_being_made(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    author = visitors()
    await author.sign_in(school.admin.email)
    resource_id = await shared_pdf(author, "Көбөйтүү таблицасы")
    async with database(settings) as session:
        await session.execute(update(ResourceVersion).values(preview_state="pending"))
        await session.commit()

    page = await author.get(f"/resources/{resource_id}", headers={"Accept-Language": "ky"})
    image = await author.get(f"/resources/{resource_id}/versions/1/preview")

    assert "Алдын ала көрүнүшү даярдалууда" in page.text
    assert 'class="preview"' not in page.text
    assert image.status_code == 404
    assert "text/html" in image.headers["content-type"]


async def test_a_strangers_look_at_a_preview_page_is_404_and_a_confidential_one_is_audited(
    app: Litestar,
    client: object,
    visitors: Callable[[], Visitor],
    schools: SchoolFactory,
    settings: Settings,
) -> None:
    owner, partner, stranger = (
        await schools.create(),
        await schools.create(),
        await schools.create(),
    )
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    resource_id = await shared_pdf(author, "Ички отчёт", confidential="true")
    await run_previews(app)
    outsider, reader = visitors(), visitors()
    await outsider.sign_in(stranger.admin.email)
    await reader.sign_in(partner.admin.email)

    hidden = await outsider.get(f"/resources/{resource_id}/versions/1/preview")
    read = await reader.get(f"/resources/{resource_id}/versions/1/preview")

    assert hidden.status_code == 404
    assert "text/html" in hidden.headers["content-type"]
    assert read.status_code == 200
    assert read.headers["cache-control"] == "no-store"
    reads = [
        entry.details
        for entry in await audit_actions(settings, resource_id)
        if entry.action == "resource.read"
    ]
    assert reads == [{"what": "preview", "confidential": True}]
