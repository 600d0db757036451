"""People acting in tests: schools with their admins and teachers, signed in over HTTP."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from litestar import Litestar
from litestar.testing import AsyncTestClient

from exchange.accounts.services import AccountService
from exchange.clock import SystemClock
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory

PASSWORD = "a long enough password"
_numbers = itertools.count(1)


@dataclass
class Actor:
    """A signed-in member: `headers` authenticate their requests."""

    client: AsyncTestClient[Litestar]
    school_id: UUID
    member_id: UUID
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)


@dataclass
class SchoolHandle:
    """A school in a test, with its first admin and any members added later."""

    factory: SchoolFactory
    id: UUID
    name: str
    admin: Actor
    members: list[Actor] = field(default_factory=list)

    async def add_member(
        self, role: str = "teacher", *, full_name: str | None = None, position: str | None = None
    ) -> Actor:
        number = next(_numbers)
        email = f"{role}{number}@{self.admin.email.split('@')[1]}"
        response = await self.admin.post(
            "/api/members",
            json={
                "email": email,
                "password": PASSWORD,
                "full_name": full_name or f"{role.title()} {number}",
                "role": role,
                **({"position": position} if position else {}),
            },
        )
        assert response.status_code == 201, response.text
        actor = await self.factory.sign_in(email)
        self.members.append(actor)
        return actor

    async def teacher(self) -> Actor:
        return await self.add_member("teacher")


class SchoolFactory:
    def __init__(self, client: AsyncTestClient[Litestar], settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def create(self, name: str | None = None, *, region: str | None = "Chui") -> SchoolHandle:
        number = next(_numbers)
        name = name or f"School {number}"
        email = f"admin{number}@school{number}.kg"
        engine = create_engine(self.settings)
        try:
            async with create_session_factory(
                engine, consequences=build_consequences()
            )() as session:
                school, _admin = await AccountService(
                    session, self.settings, SystemClock()
                ).create_school(
                    name=name,
                    admin_email=email,
                    admin_password=PASSWORD,
                    admin_name=f"Director of {name}",
                    region=region,
                )
                school_id = school.id
        finally:
            await engine.dispose()
        admin = await self.sign_in(email)
        return SchoolHandle(factory=self, id=school_id, name=name, admin=admin)

    async def sign_in(self, email: str, password: str = PASSWORD) -> Actor:
        response = await self.client.post(
            "/api/auth/token", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        me = await self.client.get(
            "/api/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        assert me.status_code == 200, me.text
        body = me.json()
        return Actor(
            client=self.client,
            school_id=UUID(body["school_id"]),
            member_id=UUID(body["id"]),
            email=body["email"],
            role=body["role"],
            token=response.json()["access_token"],
        )
