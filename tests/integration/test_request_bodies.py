"""What every JSON route takes as a body: JSON labelled as such, nested within reason,
and, when it is missing or wrong, an answer that says what to send."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from exchange.request_bodies import MAX_JSON_DEPTH, json_depth_exceeds, takes_json_body
from tests.actors import PASSWORD, SchoolFactory
from tests.problems import assert_problem

NESTED = b"[" * 1000 + b"]" * 1000
_PATH_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


def json_routes(app: Litestar) -> Iterator[tuple[str, str]]:
    """(method, path) of every route whose body is JSON, its path filled with ids."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not takes_json_body(handler):
                continue
            path = _PATH_PARAMETER.sub(
                lambda match: "1" if match.group(2) == "int" else str(uuid.uuid4()),
                route.path,
            )
            for method in sorted(handler.http_methods):
                yield method, path


async def test_there_are_json_routes_to_check(app: Litestar) -> None:
    routes = set(json_routes(app))
    assert ("POST", "/api/auth/token") in routes
    assert ("PATCH", "/api/me") in routes
    assert ("POST", "/api/members") in routes
    assert not any(path == "/api/resources" for _method, path in routes)  # multipart


async def test_deeply_nested_json_is_a_400_on_every_json_route(
    app: Litestar, client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    school = await schools.create()
    for method, path in json_routes(app):
        response = await school.admin.request(
            method, path, content=NESTED, headers={"Content-Type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert body["type"] == "urn:exchange:problem:unreadable-body", (method, path)
        assert f"more than {MAX_JSON_DEPTH} levels deep" in body["detail"]


async def test_deeply_nested_json_to_sign_in_without_a_token_is_a_400(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post(
        "/api/auth/token", content=NESTED, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


async def test_nesting_inside_a_field_counts_and_brackets_inside_text_do_not(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    deep_field = b'{"full_name": ' + b"[" * 40 + b"]" * 40 + b"}"
    response = await school.admin.patch(
        "/api/me", content=deep_field, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)
    bracketed_name = "[[[[" * 20 + 'Айгүл "[{" \\' + "]]]]" * 20
    response = await school.admin.patch("/api/me", json={"full_name": bracketed_name})
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == bracketed_name


def test_depth_is_counted_outside_strings_only() -> None:
    assert not json_depth_exceeds(b"[" * 32 + b"]" * 32, 32)
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, 32)
    assert json_depth_exceeds(b"{" + b'"a":{' * 40 + b"}" * 41, 32)
    assert not json_depth_exceeds(b'["' + b"[" * 100 + b'"]', 32)
    # An escaped quote does not end a string; an escaped backslash does not escape it.
    assert not json_depth_exceeds(b'["\\"' + b"[" * 100 + b'"]', 32)
    assert json_depth_exceeds(b'["\\\\"' + b"[" * 100 + b"]" * 100 + b"]", 32)
    # Sequential, not nested, lists never add up.
    assert not json_depth_exceeds(b"[" + b"[[]]," * 1000 + b"[]]", 32)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
)
async def test_a_json_body_labelled_otherwise_is_a_415_and_adds_no_member(
    schools: SchoolFactory, content_type: str | None
) -> None:
    school = await schools.create()
    member = (
        b'{"email": "teacher@mislabelled.kg", "password": "%s", "full_name": "Aida", '
        b'"role": "teacher"}' % PASSWORD.encode()
    )
    headers = {"Content-Type": content_type} if content_type else {}
    response = await school.admin.post("/api/members", content=member, headers=headers)
    body = assert_problem(response, 415)
    assert body["type"] == "urn:exchange:problem:json-required"
    assert "Content-Type: application/json" in body["detail"]
    members = await school.admin.get("/api/members")
    assert "teacher@mislabelled.kg" not in members.text


async def test_every_json_route_refuses_a_body_labelled_text_plain(
    app: Litestar, schools: SchoolFactory
) -> None:
    school = await schools.create()
    for method, path in json_routes(app):
        response = await school.admin.request(
            method, path, content=b"{}", headers={"Content-Type": "text/plain"}
        )
        assert_problem(response, 415)


async def test_json_and_structured_json_types_with_parameters_are_taken(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    for content_type in ("application/json; charset=utf-8", "Application/Merge-Patch+JSON"):
        response = await school.admin.patch(
            "/api/me",
            content=b'{"position": "Deputy head"}',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 200, response.text
        assert response.json()["school"]["id"] == str(school.id)


async def test_a_route_whose_body_is_optional_takes_no_body_without_a_content_type(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    response = await school.admin.post(f"/api/partnerships/{uuid.uuid4()}/withdraw")
    assert_problem(response, 404)


async def test_an_upload_still_takes_a_form_and_refuses_json(schools: SchoolFactory) -> None:
    school = await schools.create()
    response = await school.admin.post(
        "/api/resources", content=b'{"title": "x"}', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 415)
    assert "multipart/form-data" in body["detail"]


async def test_an_empty_sign_in_says_which_fields_are_missing(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post(
        "/api/auth/token", content=b"", headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert body["detail"] == (
        "The request has no body. Send a JSON object with the fields 'email', 'password'."
    )
    assert [error["field"] for error in body["errors"]] == ["email", "password"]
    assert "'data'" not in response.text


async def test_validation_errors_name_the_field_in_words(
    client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    missing = await client.post("/api/auth/token", json={"email": "a@school.kg"})
    assert assert_problem(missing, 422)["errors"] == [
        {"field": "password", "source": "body", "message": "'password' is required."}
    ]
    unknown = await client.post(
        "/api/auth/token", json={"email": "a@school.kg", "password": "x", "pin": 1}
    )
    assert "'pin' is not a field this address accepts" in assert_problem(unknown, 422)["detail"]
    wrong_type = await client.post("/api/auth/token", json={"email": 5, "password": "x"})
    assert "'email' must be text, not a whole number." in assert_problem(wrong_type, 422)["detail"]
    not_an_object = await client.post("/api/auth/token", json=[])
    assert (
        "The request body must be a JSON object, not a list."
        in (assert_problem(not_an_object, 422)["detail"])
    )
    school = await schools.create()
    too_few = await school.admin.get("/api/resources", params={"limit": 0})
    assert assert_problem(too_few, 422)["errors"] == [
        {"field": "limit", "source": "query", "message": "'limit' must be at least 1."}
    ]
