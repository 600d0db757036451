"""Signing in and out, members, and the walls between schools."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import AccessToken, Member
from tests.actors import PASSWORD, SchoolFactory
from tests.clock import ManualClock
from tests.problems import assert_problem


async def test_sign_in_returns_a_bearer_token_that_opens_me(schools: SchoolFactory) -> None:
    school = await schools.create("Ош шаарындагы №5 мектеп", region="Osh")
    response = await school.admin.get("/api/me")
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin"
    assert body["email"] == school.admin.email
    assert body["school"] == {
        "id": str(school.id),
        "name": "Ош шаарындагы №5 мектеп",
        "region": "Osh",
        "locality": None,
        "kind": None,
    }


async def test_sign_in_is_case_insensitive_on_the_email(
    client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    school = await schools.create()
    response = await client.post(
        "/api/auth/token", json={"email": school.admin.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.json()["expires_at"]


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    school = await schools.create()
    wrong = await client.post(
        "/api/auth/token", json={"email": school.admin.email, "password": "not the password"}
    )
    unknown = await client.post(
        "/api/auth/token", json={"email": "nobody@nowhere.kg", "password": "not the password"}
    )
    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_calls_without_a_valid_token_get_401(
    client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    await schools.create()
    assert_problem(await client.get("/api/me"), 401)
    assert_problem(await client.get("/api/me", headers={"Authorization": "Basic abc"}), 401)
    assert_problem(await client.get("/api/me", headers={"Authorization": "Bearer "}), 401)
    response = await client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_expired_token_gets_401(schools: SchoolFactory, clock: ManualClock) -> None:
    school = await schools.create()
    assert (await school.admin.get("/api/me")).status_code == 200
    clock.advance(timedelta(hours=24, seconds=1))
    assert_problem(await school.admin.get("/api/me"), 401)


async def test_signing_out_revokes_only_that_token(schools: SchoolFactory) -> None:
    school = await schools.create()
    other_sign_in = await schools.sign_in(school.admin.email)
    response = await school.admin.delete("/api/auth/token")
    assert response.status_code == 204
    assert_problem(await school.admin.get("/api/me"), 401)
    assert (await other_sign_in.get("/api/me")).status_code == 200


async def test_tokens_and_passwords_are_stored_only_as_hashes(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            member = await session.scalar(select(Member).where(Member.id == school.admin.member_id))
            hashes = list(await session.scalars(select(AccessToken.token_hash)))
    finally:
        await engine.dispose()
    assert member is not None
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash
    assert school.admin.token not in hashes
    assert all(len(h) == 64 for h in hashes)


async def test_production_password_hashing_is_argon2id_with_rfc9106_parameters() -> None:
    from argon2 import PasswordHasher, extract_parameters, profiles

    production = PasswordHasher()
    parameters = extract_parameters(production.hash("a long enough password"))
    assert parameters == profiles.RFC_9106_LOW_MEMORY
    assert production.verify(production.hash("x" * 12), "x" * 12)


async def test_admin_adds_a_teacher_who_can_sign_in(schools: SchoolFactory) -> None:
    school = await schools.create()
    teacher = await school.add_member(
        "teacher", full_name="Айгүл Токтогулова", position="Math teacher"
    )
    me = (await teacher.get("/api/me")).json()
    assert me["role"] == "teacher"
    assert me["full_name"] == "Айгүл Токтогулова"
    assert me["position"] == "Math teacher"
    assert me["school_id"] == str(school.id)
    listed = (await school.admin.get("/api/members")).json()["items"]
    assert {m["email"] for m in listed} == {school.admin.email, teacher.email}


async def test_adding_a_member_with_a_taken_email_is_409(schools: SchoolFactory) -> None:
    school = await schools.create()
    other = await schools.create()
    response = await school.admin.post(
        "/api/members",
        json={"email": other.admin.email, "password": PASSWORD, "full_name": "Someone"},
    )
    assert_problem(response, 409)


async def test_member_fields_are_validated(schools: SchoolFactory) -> None:
    school = await schools.create()
    bad_email = await school.admin.post(
        "/api/members", json={"email": "no-at-sign", "password": PASSWORD, "full_name": "X"}
    )
    assert_problem(bad_email, 422)
    assert bad_email.json()["errors"][0]["field"] == "email"
    short = await school.admin.post(
        "/api/members", json={"email": "x@y.kg", "password": "short", "full_name": "X"}
    )
    assert_problem(short, 422)
    assert "at least 10" in short.json()["detail"]
    bad_role = await school.admin.post(
        "/api/members",
        json={"email": "x@y.kg", "password": PASSWORD, "full_name": "X", "role": "owner"},
    )
    assert_problem(bad_role, 422)
    malformed = await school.admin.post(
        "/api/members", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(malformed, 400)


async def test_a_teacher_calling_admin_routes_gets_403(schools: SchoolFactory) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    colleague = await school.teacher()
    add = await teacher.post(
        "/api/members", json={"email": "new@x.kg", "password": PASSWORD, "full_name": "New"}
    )
    assert_problem(add, 403)
    assert_problem(await teacher.post(f"/api/members/{colleague.member_id}/disable"), 403)
    assert_problem(await teacher.post(f"/api/members/{colleague.member_id}/enable"), 403)
    # A teacher may still see who is in their own school.
    assert (await teacher.get("/api/members")).status_code == 200


async def test_a_school_never_sees_another_schools_members(schools: SchoolFactory) -> None:
    school_a = await schools.create()
    school_b = await schools.create()
    teacher_b = await school_b.teacher()
    listed = (await school_a.admin.get("/api/members")).json()["items"]
    assert {m["school_id"] for m in listed} == {str(school_a.id)}
    assert_problem(await school_a.admin.get(f"/api/members/{teacher_b.member_id}"), 404)
    assert_problem(await school_a.admin.post(f"/api/members/{teacher_b.member_id}/disable"), 404)
    assert_problem(await school_a.admin.get(f"/api/members/{uuid4()}"), 404)
    assert (await teacher_b.get("/api/me")).status_code == 200


async def test_disabling_a_member_stops_their_tokens_at_once(schools: SchoolFactory) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    assert (await teacher.get("/api/me")).status_code == 200
    response = await school.admin.post(f"/api/members/{teacher.member_id}/disable")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_problem(await teacher.get("/api/me"), 401)
    refused = await teacher.client.post(
        "/api/auth/token", json={"email": teacher.email, "password": PASSWORD}
    )
    assert_problem(refused, 401)
    assert (await school.admin.post(f"/api/members/{teacher.member_id}/enable")).status_code == 200
    again = await schools.sign_in(teacher.email)
    assert (await again.get("/api/me")).status_code == 200


async def test_an_admin_cannot_disable_themselves_or_the_last_admin(schools: SchoolFactory) -> None:
    school = await schools.create()
    assert_problem(await school.admin.post(f"/api/members/{school.admin.member_id}/disable"), 409)
    second = await school.add_member("admin")
    assert (await second.post(f"/api/members/{school.admin.member_id}/disable")).status_code == 200
    assert_problem(await second.post(f"/api/members/{second.member_id}/disable"), 409)


async def test_repeated_failures_for_one_account_get_429_with_retry_after(
    client: AsyncTestClient[Litestar], schools: SchoolFactory, clock: ManualClock
) -> None:
    school = await schools.create()
    for _ in range(5):
        response = await client.post(
            "/api/auth/token", json={"email": school.admin.email, "password": "wrong password!"}
        )
        assert_problem(response, 401)
    blocked = await client.post(
        "/api/auth/token", json={"email": school.admin.email, "password": PASSWORD}
    )
    assert_problem(blocked, 429)
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60 + 1
    assert blocked.json()["retry_after_seconds"] == retry_after
    clock.advance(timedelta(seconds=retry_after))
    allowed = await client.post(
        "/api/auth/token", json={"email": school.admin.email, "password": PASSWORD}
    )
    assert allowed.status_code == 200


async def test_repeated_failures_from_one_address_get_429_across_accounts(
    app: Litestar, settings: Settings, schools: SchoolFactory
) -> None:
    await schools.create()
    # A second app instance on the same database sees the same count.
    from exchange.app import create_app

    other_instance = create_app(settings)
    async with AsyncTestClient(app=other_instance) as other_client:
        for number in range(30):
            client = other_client if number % 2 else schools.client
            response = await client.post(
                "/api/auth/token",
                json={"email": f"guess{number}@x.kg", "password": "wrong password!"},
            )
            assert_problem(response, 401)
        blocked = await other_client.post(
            "/api/auth/token", json={"email": "guess-new@x.kg", "password": "wrong password!"}
        )
    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) > 0


async def test_a_successful_sign_in_clears_the_accounts_failures(
    client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    school = await schools.create()
    for _ in range(4):
        await client.post(
            "/api/auth/token", json={"email": school.admin.email, "password": "nope nope nope"}
        )
    assert (
        await client.post(
            "/api/auth/token", json={"email": school.admin.email, "password": PASSWORD}
        )
    ).status_code == 200
    for _ in range(4):
        await client.post(
            "/api/auth/token", json={"email": school.admin.email, "password": "nope nope nope"}
        )
    assert (
        await client.post(
            "/api/auth/token", json={"email": school.admin.email, "password": PASSWORD}
        )
    ).status_code == 200
