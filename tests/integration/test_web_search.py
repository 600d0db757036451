"""The search page: one box, facets as filters, results linking to resources; the same
policy as the API (only what the school may read)."""

from __future__ import annotations

from collections.abc import Callable

from exchange.config import Settings
from exchange.i18n import format_size, using_language
from tests.actors import SchoolFactory
from tests.pages import Visitor, upload_page
from tests.resource_fixtures import make_partners
from tests.sample_files import pdf, pdf_of_size


async def test_a_partner_finds_a_resource_by_a_kyrgyz_word_stem(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner, stranger = (
        await schools.create("Ош №5"),
        await schools.create("Нарын №2"),
        await schools.create(),
    )
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(
        author, pdf(), title="Бөлчөктөр: сабак планы", subject="Математика", grades=["5"]
    )
    resource_path = shared.headers["location"].split("?")[0]
    await upload_page(author, pdf(), title="Бөлчөктөр: ички план", visibility="school")

    reader = visitors()
    await reader.sign_in(partner.admin.email)
    found = await reader.get("/search?q=бөлчөк")
    assert found.status_code == 200
    assert f'href="{resource_path}"' in found.text
    assert "<mark>" in found.text or "Бөлчөктөр" in found.text
    assert "ички план" not in found.text  # kept inside the owner school
    assert "Ош №5" in found.text  # the owner school, also as a facet
    assert 'name="kind" value="lesson_plan"' in found.text

    fragment = await reader.get("/search?q=бөлчөк&kind=lesson_plan", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="search-results"')
    assert "<html" not in fragment.text
    assert f'href="{resource_path}"' in fragment.text

    filtered = await reader.get("/search?q=бөлчөк&kind=video")
    assert f'href="{resource_path}"' not in filtered.text
    assert 'class="empty"' in filtered.text

    outsider = visitors()
    await outsider.sign_in(stranger.admin.email)
    nothing = await outsider.get("/search?q=бөлчөк")
    assert resource_path not in nothing.text
    assert 'class="empty"' in nothing.text


async def test_a_result_tells_the_files_type_and_what_its_download_costs(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    content = pdf_of_size(1_572_864)
    await upload_page(author, content, title="Бөлчөктөр: сабак планы")
    reader = visitors()
    await reader.sign_in(partner.admin.email)

    found = await reader.get("/search?q=бөлчөк", headers={"Accept-Language": "ky"})

    assert found.status_code == 200
    with using_language("ky"):
        cost = format_size(len(content))
    assert f"PDF документи · {cost}" in found.text
    assert cost.startswith("1,5")
