"""The OpenAPI document at /schema says what the exchange really answers, and its viewer
works without reaching the internet."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

PUBLIC = {
    ("post", "/api/auth/token"),
    ("post", "/api/auth/set-password"),
    ("get", "/api/code-of-conduct"),
    ("get", "/api/code-of-conduct/{version}"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    # What the resumable uploads speak (tus): asked before signing in, as tus allows.
    ("options", "/api/uploads"),
    # A calendar app sends no header: the secret in the path is the key.
    ("get", "/api/calendar/{feed}"),
    # A school that is not on the exchange yet claims its entry and registers with a
    # link: it has no account to send a token from.
    ("post", "/api/directory/entries/{entry_id}/claim"),
    ("post", "/api/directory/registration"),
    ("post", "/api/directory/registrations"),
    ("post", "/api/directory/claims/confirm"),
}


async def _document(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


async def test_only_public_operations_go_without_a_bearer_token(
    client: AsyncTestClient[Litestar],
) -> None:
    document = await _document(client)
    assert "security" not in document  # no requirement every operation inherits
    for method, path, operation in _operations(document):
        if (method, path) in PUBLIC:
            assert not operation.get("security"), (method, path)
            assert "401" not in operation["responses"] or path.startswith("/api/auth/")
        else:
            assert operation["security"] == [{"BearerToken": []}], (method, path)
            assert "401" in operation["responses"], (method, path)


async def test_every_error_is_documented_as_a_problem_document(
    client: AsyncTestClient[Litestar],
) -> None:
    document = await _document(client)
    problem = document["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail"}
    for method, path, operation in _operations(document):
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        assert errors, (method, path)
        for code, response in errors.items():
            assert list(response["content"]) == ["application/problem+json"], (method, path, code)
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ProblemDetails"}
        if path.count("{"):
            assert "404" in errors, (method, path)
        if "requestBody" in operation and "application/json" in operation["requestBody"]["content"]:
            assert {"400", "415", "422"} <= set(errors), (method, path)


async def test_uploads_document_their_multipart_form(client: AsyncTestClient[Litestar]) -> None:
    paths = (await _document(client))["paths"]
    upload = paths["/api/resources"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["required"]) == {"file", "title", "kind"}
    assert form["properties"]["file"]["contentMediaType"] == "application/octet-stream"
    assert form["properties"]["grades"]["items"] == {"type": "integer", "minimum": 1, "maximum": 11}
    assert form["properties"]["title"]["maxLength"] == 300
    assert form["additionalProperties"] is False
    assert {"413", "415", "422"} <= set(upload["responses"])
    version = paths["/api/resources/{resource_id}/versions"]["post"]
    assert version["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == [
        "file"
    ]


async def test_downloads_are_documented_as_files_with_their_headers(
    client: AsyncTestClient[Litestar],
) -> None:
    paths = (await _document(client))["paths"]
    for path in (
        "/api/resources/{resource_id}/content",
        "/api/resources/{resource_id}/versions/{number}/content",
    ):
        get, head = paths[path]["get"], paths[path]["head"]
        assert "application/json" not in get["responses"]["200"]["content"]
        assert get["responses"]["200"]["content"]["application/octet-stream"]
        assert "content" not in head["responses"]["200"]
        for operation in (get, head):
            headers = operation["responses"]["200"]["headers"]
            assert {"ETag", "Content-Disposition", "Accept-Ranges", "X-Content-Type-Options"} <= (
                set(headers)
            )
            assert "Content-Range" in operation["responses"]["206"]["headers"]
            assert {"304", "404", "416"} <= set(operation["responses"])
            assert "Range" in {p["name"] for p in operation["parameters"]}


async def test_enforced_limits_are_in_the_document(client: AsyncTestClient[Litestar]) -> None:
    document = await _document(client)
    search = {
        p["name"]: p["schema"] for p in document["paths"]["/api/resources"]["get"]["parameters"]
    }
    assert (search["limit"]["minimum"], search["limit"]["maximum"]) == (1, 100)
    grade_items = search["grade"]["oneOf"][0]["items"]
    assert (grade_items["minimum"], grade_items["maximum"]) == (1, 11)
    inbox = {
        p["name"]: p["schema"] for p in document["paths"]["/api/notifications"]["get"]["parameters"]
    }
    assert (inbox["limit"]["minimum"], inbox["limit"]["maximum"]) == (1, 100)
    schemas = document["components"]["schemas"]
    for name in ("SignIn", "MemberCreate", "MemberUpdate", "ProfileUpdate", "ResourceUpdate"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["MemberCreate"]["properties"]["password"]["minLength"] == 10
    # A name must keep a visible character once hidden ones are removed.
    name_pattern = re.compile(schemas["MemberCreate"]["properties"]["full_name"]["pattern"])
    assert name_pattern.search("Айгүл") and not name_pattern.search("\u200b \u202e")
    profile = schemas["ProfileUpdate"]["properties"]
    assert "ict_use" in profile["self_assessment"]["propertyNames"]["enum"]
    assert profile["strong_subjects"]["items"]["minLength"] == 1
    end = document["paths"]["/api/partnerships/{partnership_id}/end"]["post"]
    assert end["requestBody"]["required"] is False


async def test_options_lists_every_method_of_the_path(client: AsyncTestClient[Litestar]) -> None:
    response = await client.options("/api/me")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "OPTIONS"}
    response = await client.options("/api/resources/01234567-89ab-cdef-0123-456789abcdef")
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE", "OPTIONS"}


async def test_the_viewer_loads_nothing_from_outside(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "Redoc.init(" in page.text
    assert not re.findall(r"""(?:src|href)=['"]?https?://""", page.text), page.text[:600]
    script = re.search(r"""<script src=['"]([^'"]+)['"]""", page.text)
    assert script is not None
    viewer = await client.get(script.group(1))
    assert viewer.status_code == 200
    assert viewer.headers["content-type"].startswith("text/javascript")
    assert b"Redoc" in viewer.content[:2000]


# A short ranked list, never more than one page (its `next_cursor` is always null).
ONE_PAGE_LISTS = {"/api/schools/suggestions"}


async def test_every_list_has_one_shape_items_and_next_cursor_paged_by_limit_and_cursor(
    client: AsyncTestClient[Litestar],
) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    assert "`next_cursor`" in document["info"]["description"]
    lists = []
    for method, path, operation in _operations(document):
        answer = operation["responses"].get("200", {}).get("content", {})
        schema = answer.get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", f"{method} {path} answers a bare array"
        name = schema.get("$ref", "").rpartition("/")[2]
        properties = schemas.get(name, {}).get("properties", {})
        if properties.get("items", {}).get("type") != "array":
            continue
        lists.append(path)
        assert "next_cursor" in properties, path
        assert "next_cursor" in schemas[name]["required"], path
        parameters = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert "limit" in parameters, path
        assert ("cursor" in parameters) == (path not in ONE_PAGE_LISTS), path
    assert {
        "/api/members",
        "/api/schools",
        "/api/partnerships",
        "/api/partnerships/{partnership_id}/activities",
        "/api/resources",
        "/api/resources/{resource_id}/versions",
        "/api/resources/{resource_id}/grants",
        "/api/reuse-requests",
        "/api/questions",
        "/api/notifications",
        "/api/audit",
        "/api/directory/entries",
        "/api/directory/invitations",
    } <= set(lists)


async def test_every_schema_has_a_name_a_client_developer_can_read(
    client: AsyncTestClient[Litestar],
) -> None:
    """Generated clients name their classes after the components: `MemberPage`, not
    `Page_exchange.accounts.schemas.MemberOut_`, and no module path to tell two apart."""
    names = list((await _document(client))["components"]["schemas"])
    assert [name for name in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)] == []
    assert {"MemberPage", "GrantPage", "VersionPage", "SelfAssessmentQuestionOut"} <= set(names)
