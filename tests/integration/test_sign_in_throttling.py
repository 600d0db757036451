"""Sign-in throttling: guessing is slowed down, and a guesser cannot lock a member out.

The counts live in the database, so a burst of concurrent guesses, spread over many
addresses and served by the real server, gets no more answers than the limit allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from tests.actors import PASSWORD, SchoolFactory
from tests.apps import RunningApps
from tests.clock import ManualClock
from tests.live_server import create_school, live_server
from tests.problems import assert_problem
from tests.settings import settings_env

# On SQLite and PostgreSQL: throttling counts in one statement per attempt, with concurrent guesses.
pytestmark = pytest.mark.every_database

BURST = 60
WRONG = "not the right password"


async def burst_of_wrong_passwords(base_url: str, email: str, count: int) -> list[int]:
    """`count` wrong passwords for one account at once, each from another address."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        start = asyncio.Event()

        async def guess(number: int) -> int:
            await start.wait()
            response = await client.post(
                "/api/auth/token",
                json={"email": email, "password": WRONG},
                headers={"X-Forwarded-For": f"10.7.{number // 250}.{number % 250 + 1}"},
            )
            return response.status_code

        tasks = [asyncio.create_task(guess(number)) for number in range(count)]
        await asyncio.sleep(0.1)
        start.set()
        return await asyncio.gather(*tasks)


@pytest.mark.slow
async def test_a_concurrent_burst_of_wrong_passwords_gets_at_most_the_limit_of_401(
    settings: Settings, tmp_path: Path
) -> None:
    email = "director@burst.kg"
    await create_school(settings, "Burst school", email)
    with live_server(tmp_path, settings_env(settings)) as server:
        statuses = await burst_of_wrong_passwords(server.base_url, email, BURST)
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) <= settings.sign_in_max_failures_per_account
    assert statuses.count(429) >= BURST - settings.sign_in_max_failures_per_account


async def guesses_from(
    client: AsyncTestClient[Litestar], email: str, address: str, count: int
) -> list[int]:
    statuses = []
    for _ in range(count):
        response = await client.post(
            "/api/auth/token",
            json={"email": email, "password": WRONG},
            headers={"X-Forwarded-For": address},
        )
        statuses.append(response.status_code)
    return statuses


@pytest.fixture
async def client(
    app: Litestar, running_apps: RunningApps
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app as a reverse proxy reaches it: the client's address in X-Forwarded-For."""
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="*")  # type: ignore[arg-type]
    async with running_apps.running(app).client(asgi=proxied) as test_client:
        yield test_client


async def sign_in_from(
    client: AsyncTestClient[Litestar], email: str, address: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/auth/token",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_a_guesser_elsewhere_cannot_keep_a_member_out_of_a_known_address(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], clock: ManualClock
) -> None:
    school = await schools.create()
    email = school.admin.email
    # The member signed in from the school's address before.
    assert (await sign_in_from(client, email, "192.0.2.10")).status_code == 200
    for _ in range(8):  # two hours: five wrong guesses from elsewhere in every window
        statuses = await guesses_from(client, email, "203.0.113.66", 5)
        assert 401 in statuses
        clock.advance(timedelta(minutes=14))
        signed_in = await sign_in_from(client, email, "192.0.2.10")
        assert signed_in.status_code == 200, signed_in.text
        clock.advance(timedelta(minutes=1))


async def test_the_guesser_is_slowed_down_with_growing_waits(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], clock: ManualClock
) -> None:
    school = await schools.create()
    email = school.admin.email
    assert await guesses_from(client, email, "203.0.113.66", 5) == [401] * 5
    waits = []
    for _ in range(5):
        refused = await sign_in_from(client, email, "203.0.113.66", WRONG)
        assert_problem(refused, 429)
        wait = int(refused.headers["retry-after"])
        assert refused.json()["retry_after_seconds"] == wait
        waits.append(wait)
        clock.advance(timedelta(seconds=wait))
        assert (await sign_in_from(client, email, "203.0.113.66", WRONG)).status_code == 401
    assert waits == [60, 120, 240, 480, 900]
    # Never longer than the window, and forgotten after a quiet window.
    refused = await sign_in_from(client, email, "203.0.113.66", WRONG)
    assert int(refused.headers["retry-after"]) == 900
    clock.advance(timedelta(seconds=900 + 901))
    assert await guesses_from(client, email, "203.0.113.66", 5) == [401] * 5


async def test_a_new_address_is_slowed_down_by_guesses_from_other_addresses(
    schools: SchoolFactory, client: AsyncTestClient[Litestar]
) -> None:
    school = await schools.create()
    email = school.admin.email
    for number in range(5):
        assert (await guesses_from(client, email, f"203.0.113.{number + 1}", 1)) == [401]
    # An address this member never signed in from waits, even with the right password...
    refused = await sign_in_from(client, email, "198.51.100.7")
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) > 0
    # ...while the address the member signed in from (the test client's) does not.
    assert (
        await schools.client.post("/api/auth/token", json={"email": email, "password": PASSWORD})
    ).status_code == 200


async def test_one_address_guessing_many_accounts_is_slowed_down(
    client: AsyncTestClient[Litestar], schools: SchoolFactory
) -> None:
    await schools.create()
    for number in range(30):
        statuses = await guesses_from(client, f"guess{number}@x.kg", "203.0.113.9", 1)
        assert statuses == [401]
    refused = await sign_in_from(client, "guess-new@x.kg", "203.0.113.9", WRONG)
    assert_problem(refused, 429)
    # Another address is not affected.
    assert (await guesses_from(client, "guess-new@x.kg", "203.0.113.10", 1)) == [401]


async def test_addresses_and_accounts_are_stored_only_as_hashes(
    schools: SchoolFactory, client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    school = await schools.create()
    email = school.admin.email
    await sign_in_from(client, email, "192.0.2.44")
    await guesses_from(client, email, "203.0.113.45", 2)
    from exchange.models import KnownSignInAddress, SignInThrottle

    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            known = list(await session.scalars(select(KnownSignInAddress)))
            throttles = list(await session.scalars(select(SignInThrottle)))
    finally:
        await engine.dispose()
    stored = " ".join([k.address_hash for k in known] + [t.key for t in throttles])
    assert {k.member_id for k in known} == {school.admin.member_id}
    assert len(known) == 2  # the test client's address and 192.0.2.44
    assert throttles
    for secret in ("192.0.2.44", "203.0.113.45", email, "testclient"):
        assert secret not in stored
