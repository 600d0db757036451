"""The resource pages: sharing a file from the form, reading it, downloading it, and
asking its authors, through the same services and policy as the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from exchange.config import Settings
from tests.actors import SchoolFactory
from tests.pages import Visitor, csrf_token_in, upload_page
from tests.resource_fixtures import NOTHING_STORED, make_partners, row_counts
from tests.sample_files import html_page, pdf, text


def stored_files(settings: Settings) -> list[Path]:
    return [p for p in Path(settings.data_dir, "files").rglob("*") if p.is_file()]


async def test_a_file_shared_from_the_form_is_the_apis_resource(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    content = pdf(2)
    answer = await upload_page(
        browser,
        content,
        title="Бөлчөктөр: сабак планы",
        subject="Математика",
        grades=["5", "6"],
        language="ky",
        licence="cc-by",
        visibility="partners",
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    found = re.fullmatch(r"/resources/([0-9a-f-]{36})\?shared=1", location)
    assert found
    resource_id = found.group(1)
    api = await school.admin.get(f"/api/resources/{resource_id}")
    assert api.status_code == 200
    body = api.json()
    assert body["title"] == "Бөлчөктөр: сабак планы"
    assert body["grades"] == [5, 6]
    assert body["licence"] == "cc-by"
    assert body["size"] == len(content)
    page = await browser.get(location)
    assert page.status_code == 200
    assert "Бөлчөктөр: сабак планы" in page.text
    assert f'href="/resources/{resource_id}/content"' in page.text
    download = await browser.get(f"/resources/{resource_id}/content")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-disposition"].startswith("attachment")
    assert "content-encoding" not in download.headers


async def test_a_refused_file_is_shown_next_to_the_field_and_nothing_is_kept(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    answer = await upload_page(browser, html_page(), filename="page.html", title="A web page")
    assert answer.status_code == 415
    assert "text/html" in answer.headers["content-type"], answer.text
    assert 'class="error-summary"' in answer.text
    assert '<a href="#file">' in answer.text
    assert 'id="file-error"' in answer.text
    assert 'value="A web page"' in answer.text  # the reader's answers stay in place
    assert await row_counts(settings) == NOTHING_STORED
    assert stored_files(settings) == []


async def test_a_wrong_field_is_shown_next_to_it(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    answer = await upload_page(browser, pdf(), title="", grades=["14"])
    assert answer.status_code == 422
    assert '<a href="#title">' in answer.text
    assert '<a href="#grades">' in answer.text
    assert await row_counts(settings) == NOTHING_STORED


async def test_an_upload_without_the_form_token_stores_nothing(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    await browser.get("/resources/new")
    answer = await browser.http.post(
        "/resources/new",
        data={"title": "Forged", "kind": "lesson_plan"},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
    )
    assert answer.status_code == 403
    assert await row_counts(settings) == NOTHING_STORED
    assert stored_files(settings) == []


async def test_another_schools_resource_page_is_not_found_as_in_the_api(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner, stranger = (
        await schools.create(),
        await schools.create(),
        await schools.create(),
    )
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(), title="Shared with partners")
    resource_id = shared.headers["location"].split("/")[2].split("?")[0]
    kept = await upload_page(author, pdf(), title="Our own", visibility="school")
    own_id = kept.headers["location"].split("/")[2].split("?")[0]

    outsider = visitors()
    await outsider.sign_in(stranger.admin.email)
    for path in (f"/resources/{resource_id}", f"/resources/{resource_id}/content"):
        page = await outsider.get(path)
        assert page.status_code == 404
        assert "text/html" in page.headers["content-type"]
        assert "Shared with partners" not in page.text
        assert (await stranger.admin.get(f"/api{path}")).status_code == 404

    reader = visitors()
    await reader.sign_in(partner.admin.email)
    assert (await reader.get(f"/resources/{resource_id}")).status_code == 200
    assert (await reader.get(f"/resources/{own_id}")).status_code == 404
    assert (await reader.get("/resources/00000000-0000-0000-0000-000000000000")).status_code == 404


async def test_a_partner_asks_to_adapt_from_the_resource_page(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(), title="Fractions")
    page_path = shared.headers["location"].split("?")[0]
    resource_id = page_path.split("/")[2]

    reader = visitors()
    await reader.sign_in(partner.admin.email)
    page = await reader.get(page_path)
    assert 'action="' + page_path + '/ask"' in page.text
    incomplete = await reader.http.post(
        f"{page_path}/ask",
        data={"_csrf_token": csrf_token_in(page.text), "scope": "adapt", "purpose": ""},
    )
    assert incomplete.status_code == 422
    assert '<a href="#purpose">' in incomplete.text
    assert '<a href="#audience">' in incomplete.text
    asked = await reader.post_form(
        f"{page_path}/ask",
        {"scope": "adapt", "purpose": "A version for grade 6", "audience": "Two classes"},
        token_from=page_path,
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == f"{page_path}?asked=1#ask"
    incoming = await owner.admin.get("/api/reuse-requests?direction=incoming")
    [request] = incoming.json()["items"]
    assert request["resource"]["id"] == resource_id
    assert request["scope"] == "adapt"
    assert request["purpose"] == "A version for grade 6"
    owner_view = await author.get(page_path)
    assert partner.name in owner_view.text


async def test_the_owner_changes_a_resource_and_withdraws_a_permission(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(), title="Fractions", licence="cc-by")
    page_path = shared.headers["location"].split("?")[0]
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    assert (await reader.get(f"{page_path}/edit")).status_code == 403
    form = await author.get(f"{page_path}/edit")
    assert form.status_code == 200
    assert 'value="Fractions"' in form.text
    refused = await author.post_form(
        f"{page_path}/edit",
        {"title": "Fractions", "kind": "lesson_plan", "licence": "cc-by", "confidential": "true"},
    )
    assert refused.status_code == 422  # rule 6: confidential and an open licence
    assert 'class="error-summary"' in refused.text
    saved = await author.post_form(
        f"{page_path}/edit",
        {"title": "Бөлчөктөр", "kind": "lesson_plan", "visibility": "school", "grades": ["5"]},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{page_path}?saved=1"
    resource_id = page_path.split("/")[2]
    body = (await owner.admin.get(f"/api/resources/{resource_id}")).json()
    assert (body["title"], body["visibility"], body["grades"]) == ("Бөлчөктөр", "school", [5])
    assert (await reader.get(page_path)).status_code == 404


async def test_an_adaptation_names_its_original_by_the_address_of_its_page(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    original = await upload_page(author, pdf(), title="Fractions", licence="cc-by")
    original_path = original.headers["location"].split("?")[0]
    adapter = visitors()
    await adapter.sign_in(partner.admin.email)
    form = await adapter.get(f"/resources/new?derived_from={original_path.split('/')[2]}")
    assert f'value="{original_path.split("/")[2]}"' in form.text
    adapted = await upload_page(
        adapter,
        pdf(),
        title="Fractions, grade 6",
        visibility="school",
        derived_from=f"http://exchange.school.kg{original_path}",
    )
    assert adapted.status_code == 303, adapted.text
    adapted_id = adapted.headers["location"].split("/")[2].split("?")[0]
    body = (await partner.admin.get(f"/api/resources/{adapted_id}")).json()
    assert body["derived_from"]["id"] == original_path.split("/")[2]
    page = await adapter.get(f"/resources/{adapted_id}")
    assert f'href="{original_path}"' in page.text  # the provenance chain links the original


async def test_a_pdf_opens_in_the_browser_from_its_page_and_other_types_are_told_why_not(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner, stranger = (
        await schools.create(),
        await schools.create(),
        await schools.create(),
    )
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(2), title="Бөлчөктөр")
    pdf_id = shared.headers["location"].split("/")[2].split("?")[0]
    notes = await upload_page(author, text(), filename="notes.txt", title="Эскертүүлөр")
    text_id = notes.headers["location"].split("/")[2].split("?")[0]
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    kyrgyz = {"Accept-Language": "ky"}

    pdf_page = await reader.get(f"/resources/{pdf_id}", headers=kyrgyz)
    text_page = await reader.get(f"/resources/{text_id}", headers=kyrgyz)
    opened = await reader.get(f"/resources/{pdf_id}/content?disposition=inline")
    version = await reader.get(f"/resources/{pdf_id}/versions/1/content?disposition=inline")
    saved = await reader.get(f"/resources/{pdf_id}/versions/1/content")
    refused = await reader.get(f"/resources/{text_id}/content?disposition=inline", headers=kyrgyz)

    assert f'href="/resources/{pdf_id}/content?disposition=inline">Браузерде ачуу</a>' in (
        pdf_page.text
    )
    assert f'href="/resources/{pdf_id}/versions/1/content"' in pdf_page.text
    assert "disposition=inline" not in text_page.text
    for answer in (opened, version):
        assert answer.status_code == 200
        assert answer.content == pdf(2)
        assert answer.headers["content-disposition"].startswith("inline;")
        assert answer.headers["content-security-policy"] == "sandbox"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert refused.status_code == 422
    assert "text/html" in refused.headers["content-type"]
    assert '<html lang="ky"' in refused.text
    assert "Браузерде PDF документтери жана сүрөттөр" in refused.text
    outsider = visitors()
    await outsider.sign_in(stranger.admin.email)
    hidden = await outsider.get(f"/resources/{pdf_id}/versions/1/content?disposition=inline")
    assert hidden.status_code == 404
    assert "text/html" in hidden.headers["content-type"]


@pytest.mark.every_database  # the page's own reads run on either database's path
async def test_the_resource_page_shows_each_school_the_grants_and_versions_the_api_shows_it(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, first, second = [await schools.create() for _ in range(3)]
    for partner in (first, second):
        await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(author, pdf(), title="Fractions")
    page_path = shared.headers["location"].split("?")[0]
    resource_id = page_path.split("/")[2]
    version = await owner.admin.post(
        f"/api/resources/{resource_id}/versions",
        files={"file": ("fractions-2.pdf", pdf(3), "application/pdf")},
        data={"change_note": "Examples from Naryn"},
    )
    assert version.status_code == 201, version.text
    for partner, decision in ((first, "approve"), (second, "approve")):
        asked = await partner.admin.post(
            f"/api/resources/{resource_id}/reuse-requests",
            json={"scope": "adapt", "purpose": f"For {partner.name}", "audience": "Grade 6"},
        )
        assert asked.status_code == 201, asked.text
        decided = await owner.admin.post(
            f"/api/reuse-requests/{asked.json()['id']}/decision", json={"decision": decision}
        )
        assert decided.status_code == 200, decided.text
    grants = (await owner.admin.get(f"/api/resources/{resource_id}/grants")).json()["items"]
    withdrawn = next(g for g in grants if g["school"]["id"] == str(second.id))
    revoked = await owner.admin.post(
        f"/api/resources/{resource_id}/grants/{withdrawn['id']}/revoke"
    )
    assert revoked.status_code == 200, revoked.text

    owner_page = (await author.get(page_path)).text
    kept = next(g for g in grants if g["school"]["id"] == str(first.id))
    assert f'/grants/{kept["id"]}/revoke"' in owner_page  # in force: it can be withdrawn
    assert f'/grants/{withdrawn["id"]}/revoke"' not in owner_page
    assert first.name in owner_page and second.name in owner_page
    # Newest version first, with what changed and who uploaded it.
    assert owner_page.index("fractions-2.pdf") < owner_page.index("/versions/1/content")
    assert "Examples from Naryn" in owner_page

    for partner, other in ((first, second), (second, first)):
        reader = visitors()
        await reader.sign_in(partner.admin.email)
        page = (await reader.get(page_path)).text
        api = (await partner.admin.get(f"/api/resources/{resource_id}/grants")).json()["items"]
        assert [g["school"]["id"] for g in api] == [str(partner.id)]
        assert partner.name in page  # its own permission, in force or withdrawn
        assert other.name not in page  # never another school's
        assert "/revoke" not in page
        assert "Examples from Naryn" in page


async def test_the_owners_page_lists_the_requests_about_that_resource_only(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    paths = []
    for title in ("Fractions", "Decimals"):
        shared = await upload_page(author, pdf(), title=title)
        paths.append(shared.headers["location"].split("?")[0])
    asked = {}
    for path in paths:
        answer = await partner.admin.post(
            f"/api{path}/reuse-requests",
            json={"scope": "adapt", "purpose": "Grade 6", "audience": "Two classes"},
        )
        assert answer.status_code == 201, answer.text
        asked[path] = answer.json()["id"]
    for path, other in (paths, paths[::-1]):
        page = (await author.get(path)).text
        assert f'href="/requests#request-{asked[path]}"' in page
        assert f"request-{asked[other]}" not in page


async def test_a_confidential_resources_page_read_by_a_partner_is_audited_as_the_api_read_is(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner = await schools.create(), await schools.create()
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    shared = await upload_page(
        author,
        pdf(),
        title="Staff rules",
        kind="policy",
        confidential="true",
        visibility="partners",
    )
    assert shared.status_code == 303, shared.text
    page_path = shared.headers["location"].split("?")[0]
    resource_id = page_path.split("/")[2]
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    page = await reader.get(page_path)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"  # rule 6, as the API answers it
    assert (await author.get(page_path)).status_code == 200  # its own school: not audited
    trail = (await owner.admin.get(f"/api/audit?resource_id={resource_id}")).json()["items"]
    reads = [
        (i["action"], i["actor_school"]["name"]) for i in trail if i["action"] == "resource.read"
    ]
    assert reads == [("resource.read", partner.name)]
