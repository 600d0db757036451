"""Every page route goes through the same policy as the API: a visitor is sent to sign
in, another school's resource (and everything done to it) is 404, as in the API."""

from __future__ import annotations

import re
from collections.abc import Callable

from litestar import Litestar

from exchange.config import Settings
from tests.actors import SchoolFactory
from tests.background import run_previews
from tests.pages import Visitor, csrf_token_in, upload_page
from tests.resource_fixtures import make_partners, row_counts
from tests.sample_files import pdf

MEMBER_PAGES = [
    "/",
    "/account",
    "/resources/new",
    "/search",
    "/requests",
    "/inbox",
    "/members",
    "/audit",
    "/partnerships",
]


async def test_every_member_page_sends_a_visitor_to_sign_in(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    visitor = visitors()
    for path in [*MEMBER_PAGES, "/resources/00000000-0000-0000-0000-000000000001"]:
        answer = await visitor.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/sign-in?next="), path
    token = csrf_token_in((await visitor.get("/sign-in")).text)
    upload = await visitor.http.post(
        "/resources/new",
        data={"_csrf_token": token, "title": "x", "kind": "lesson_plan"},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
    )
    assert upload.status_code == 303
    assert upload.headers["location"].startswith("/sign-in")
    member = visitors()
    await member.sign_in(school.admin.email)
    for path in MEMBER_PAGES:
        assert (await member.get(path)).status_code == 200, path


async def test_another_schools_resource_is_404_on_every_page_route(
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
    found = re.search(r"/resources/([0-9a-f-]{36})", shared.headers["location"])
    assert found
    resource_id = found.group(1)
    reader = visitors()
    await reader.sign_in(partner.admin.email)
    await reader.post_form(
        f"/resources/{resource_id}/ask",
        {"scope": "adapt", "purpose": "Grade 6", "audience": "Two classes"},
        token_from=f"/resources/{resource_id}",
    )
    [request] = (await owner.admin.get("/api/reuse-requests?direction=incoming")).json()["items"]
    before = await row_counts(settings)

    outsider = visitors()
    await outsider.sign_in(stranger.admin.email)
    assert (await outsider.get(f"/resources/{resource_id}")).status_code == 404
    assert (await outsider.get(f"/resources/{resource_id}/content")).status_code == 404
    for path, data in [
        (f"/resources/{resource_id}/ask", {"scope": "adapt", "purpose": "x", "audience": "y"}),
        (f"/resources/{resource_id}/forward", {"school_id": str(stranger.id)}),
        (f"/resources/{resource_id}/delete", {}),
        (f"/requests/{request['id']}/decision", {"decision": "approve"}),
        (f"/requests/{request['id']}/withdraw", {}),
    ]:
        answer = await outsider.post_form(path, data, token_from="/")
        assert answer.status_code == 404, path
        assert "text/html" in answer.headers["content-type"], path
    # The partner may read it, but neither delete it nor answer its requests.
    assert (
        await reader.post_form(f"/resources/{resource_id}/delete", {}, token_from="/")
    ).status_code in {403, 404}
    assert await row_counts(settings) == before
    [still] = (await owner.admin.get("/api/reuse-requests?direction=incoming")).json()["items"]
    assert still["status"] == "pending"


async def test_a_first_and_a_later_visit_stay_within_their_byte_budgets(
    app: Litestar, client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    """A first visit (page, stylesheet, scripts and preview images, gzipped) at most
    100 KB; a later page, its static files cached, at most 30 KB with its images."""
    school = await schools.create()
    gzip = {"Accept-Encoding": "gzip"}
    stranger, browser = visitors(), visitors()
    await browser.sign_in(school.admin.email)
    shared = await upload_page(browser, pdf(), title="Бөлчөктөр: сабак планы")
    resource = shared.headers["location"].split("?")[0]
    assert await run_previews(app) == 1  # the resource page and the search show it
    for who, path in [
        (stranger, "/sign-in"),
        (browser, "/"),
        (browser, "/search?q=бөлчөк"),
        (browser, "/resources/new"),
        (browser, resource),
        (browser, f"{resource}/versions/new"),
        (browser, "/requests"),
    ]:
        page = await who.get(path, headers=gzip)
        assert page.status_code == 200, path
        page_bytes = page.num_bytes_downloaded
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        asset_bytes = 0
        for asset in assets:
            answer = await who.get(asset, headers=gzip)
            asset_bytes += answer.num_bytes_downloaded
        image_bytes = 0
        images = re.findall(r'<img [^>]*src="(/resources/[^"]+)"', page.text)
        assert bool(images) == (path in (resource, "/search?q=бөлчөк")), (path, images)
        for image in images:
            answer = await who.get(image, headers=gzip)
            assert answer.status_code == 200, image
            image_bytes += answer.num_bytes_downloaded
        first_visit = page_bytes + asset_bytes + image_bytes
        assert first_visit <= 100 * 1024, (path, page_bytes, asset_bytes, image_bytes)
        assert page_bytes + image_bytes <= 30 * 1024, (path, page_bytes, image_bytes)


async def test_the_upload_pages_resumable_uploads_are_the_members_own_and_need_the_form_token(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    colleague = await school.teacher()
    tus = {"Tus-Resumable": "1.0.0", "Upload-Length": "1000"}
    metadata = {"Upload-Metadata": "filename cGxhbi5wZGY=,title RnJhY3Rpb25z,kind bGVzc29uX3BsYW4="}
    visitor = visitors()
    answer = await visitor.http.post("/resources/uploads", headers={**tus, **metadata})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")

    member = visitors()
    await member.sign_in(school.admin.email)
    token = csrf_token_in((await member.get("/resources/new")).text)
    without_token = await member.http.post("/resources/uploads", headers={**tus, **metadata})
    assert without_token.status_code == 403
    refused = await member.http.post(
        "/resources/uploads",
        headers={**tus, "X-CSRFToken": token, "Upload-Metadata": "filename cGxhbi5wZGY="},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in refused.json()["errors"]} == {"title", "kind"}
    created = await member.http.post(
        "/resources/uploads", headers={**tus, **metadata, "X-CSRFToken": token}
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith("/resources/uploads/")
    assert (await member.http.request("HEAD", location, headers=tus)).headers[
        "upload-offset"
    ] == "0"

    other = visitors()
    await other.sign_in(colleague.email)
    other_token = csrf_token_in((await other.get("/resources/new")).text)
    assert (await other.http.request("HEAD", location, headers=tus)).status_code == 404
    piece = await other.http.request(
        "PATCH",
        location,
        content=b"%PDF",
        headers={
            **tus,
            "X-CSRFToken": other_token,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
    )
    assert piece.status_code == 404
    assert (
        await other.http.request("DELETE", location, headers={**tus, "X-CSRFToken": other_token})
    ).status_code == 404
    gone = await member.http.request("DELETE", location, headers={**tus, "X-CSRFToken": token})
    assert gone.status_code == 204
