"""Resources under test: the store they live in (a folder, or S3 on a real moto server),
uploads sent the way clients send them, and looks straight into the store and the
database to prove that nothing was left behind."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.blobstore import BlobStore, open_blob_store
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import (
    AuditEvent,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ResourceVersion,
    School,
)
from tests.actors import Actor
from tests.blobstore_fixtures import (
    MotoEndpoint,
    empty_bucket,
    new_bucket,
    s3_client_for,
    use_test_credentials,
)
from tests.live_server import invoke_exchange
from tests.sample_files import pdf
from tests.settings import settings_env

S3_PREFIX = "exchange/files"


@dataclass
class StoreUnderTest:
    """The store an app under test writes to, seen from outside the app."""

    kind: str  # "file" or "s3"
    url: str
    moto: MotoEndpoint | None = None
    bucket: str | None = None

    @property
    def endpoint_url(self) -> str | None:
        return self.moto.url if self.moto else None

    def apply(self, settings: Settings) -> Settings:
        return replace(settings, storage_url=self.url, s3_endpoint_url=self.endpoint_url)

    def env(self) -> dict[str, str]:
        """What a child process needs to reach this store."""
        if self.kind == "file":
            return {"EXCHANGE_STORAGE_URL": self.url}
        assert self.endpoint_url
        return {
            "EXCHANGE_STORAGE_URL": self.url,
            "EXCHANGE_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    def open(self) -> BlobStore:
        return open_blob_store(self.url, s3_endpoint_url=self.endpoint_url)

    def contents(self) -> list[str]:
        """Everything the store holds: files, temporary files included; or objects and
        unfinished multipart uploads."""
        if self.kind == "file":
            root = Path(self.url.removeprefix("file://"))
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        assert self.moto and self.bucket
        client = s3_client_for(self.moto.url)
        objects = client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        uploads = client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return sorted(
            [o["Key"].removeprefix(f"{S3_PREFIX}/") for o in objects]
            + [f"unfinished:{u['Key']}" for u in uploads]
        )

    def stored_keys(self) -> list[str]:
        """The finished blobs only."""
        return [
            key
            for key in self.contents()
            if not key.startswith("unfinished:") and not key.rsplit("/", 1)[-1].startswith(".")
        ]


@pytest.fixture(scope="session")
def file_store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("file-store")


@pytest.fixture(scope="session")
def s3_store_bucket(moto_endpoint: MotoEndpoint) -> str:
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_test_credentials(monkeypatch)
        return new_bucket(moto_endpoint.url)


@pytest.fixture(params=["file", "s3"], ids=["file-store", "s3-store"])
def store(request: pytest.FixtureRequest) -> StoreUnderTest:
    """The resource tests run on the folder store and on S3 over HTTP (moto): one folder
    and one bucket for the session (so the app for them keeps running), empty at the
    start of each test."""
    if request.param == "file":
        root: Path = request.getfixturevalue("file_store_root")
        for entry in root.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        return StoreUnderTest("file", root.as_uri())
    request.getfixturevalue("aws_test_credentials")
    moto: MotoEndpoint = request.getfixturevalue("moto_endpoint")
    bucket: str = request.getfixturevalue("s3_store_bucket")
    empty_bucket(moto.url, bucket)
    return StoreUnderTest("s3", f"s3://{bucket}/{S3_PREFIX}", moto=moto, bucket=bucket)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """S3 runs with SQLite only: what the database does is the same whatever the store,
    and each S3 test costs more. Tests about both at once carry `s3_on_every_database`."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (
            params.get("store") == "s3"
            and params.get("backend") == "postgresql"
            and item.get_closest_marker("s3_on_every_database") is None
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --- sending uploads ----------------------------------------------------------------------

# Form fields each refused with a 422 naming a field (None: the field left out).
FIELD_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"title": "   "}, "title"),
    ({"title": "x" * 301}, "title"),
    ({"title": None}, "title"),
    ({"kind": "poem"}, "kind"),
    ({"kind": None}, "kind"),
    ({"grades": "0"}, "grades"),
    ({"grades": ["5", "12"]}, "grades"),
    ({"grades": "five"}, "grades"),
    ({"language": "xx"}, "language"),
    ({"language": "kyr"}, "language"),
    ({"language": "english"}, "language"),
    ({"visibility": "public"}, "visibility"),
    ({"licence": "gpl"}, "licence"),
    ({"confidential": "maybe"}, "confidential"),
    ({"shared_with": "not-an-id", "visibility": "selected"}, "shared_with"),
    ({"derived_from": "nope"}, "derived_from"),
    ({"subject": "s" * 101}, "subject"),
    ({"price": "100"}, "price"),
]


async def upload(
    actor: Actor,
    content: bytes | None = None,
    *,
    filename: str = "plan.pdf",
    media_type: str = "application/pdf",
    **fields: Any,
) -> Any:
    """POST a form like a browser does: the fields, then the part 'file'. A field given
    as None is left out."""
    data: dict[str, Any] = {"title": "Fractions, grade 5", "kind": "lesson_plan"}
    data.update(fields)
    return await actor.post(
        "/api/resources",
        data={k: v for k, v in data.items() if v is not None},
        files={"file": (filename, pdf() if content is None else content, media_type)},
    )


async def upload_version(
    actor: Actor,
    resource_id: str,
    content: bytes,
    *,
    filename: str = "plan-v2.pdf",
    media_type: str = "application/pdf",
    **fields: str,
) -> Any:
    return await actor.post(
        f"/api/resources/{resource_id}/versions",
        data=fields or None,
        files={"file": (filename, content, media_type)},
    )


def multipart_body(
    parts: Iterable[tuple[str, str | None, bytes]], *, boundary: str = "exchange-boundary-1"
) -> tuple[bytes, str]:
    """A multipart body written by hand (name, filename or None, content), for headers no
    client library would send. `filename` goes into the header exactly as given."""
    body = bytearray()
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


async def post_raw(
    actor: Actor, body: bytes | Any, content_type: str, url: str = "/api/resources"
) -> Any:
    return await actor.post(url, content=body, headers={"Content-Type": content_type})


# --- looking into the database ------------------------------------------------------------


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            yield session
    finally:
        await engine.dispose()


async def row_counts(settings: Settings) -> dict[str, int]:
    async with database(settings) as session:
        counts = {}
        for model in (Resource, ResourceVersion, ResourceAuthor, ResourceShare):
            counts[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
        return counts


NOTHING_STORED = {
    "resources": 0,
    "resource_versions": 0,
    "resource_authors": 0,
    "resource_shares": 0,
}


async def storage_used(settings: Settings, school_id: UUID) -> int:
    async with database(settings) as session:
        return int(
            await session.scalar(select(School.storage_used_bytes).where(School.id == school_id))
            or 0
        )


async def audit_actions(settings: Settings, resource_id: UUID | str) -> list[AuditEvent]:
    async with database(settings) as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.resource_id == UUID(str(resource_id)))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
        return list(rows)


async def make_partners(
    settings: Settings, school_a: UUID, school_b: UUID, *, status: str = "active"
) -> UUID:
    """An active partnership put straight into the database (the partnership endpoints
    are another part of the exchange)."""
    now = datetime.now(UTC)
    low, high = sorted([str(school_a), str(school_b)])
    async with database(settings) as session:
        partnership = Partnership(
            inviting_school_id=school_a,
            invited_school_id=school_b,
            status=status,
            open_pair=f"{low}:{high}" if status in {"invited", "active"} else None,
            language="en",
            inviter_conduct_version=1,
            invited_at=now,
            accepted_at=now if status == PartnershipStatus.ACTIVE.value else None,
        )
        session.add(partnership)
        await session.commit()
        return partnership.id


async def end_partnership(settings: Settings, partnership_id: UUID) -> None:
    async with database(settings) as session:
        await session.execute(
            update(Partnership)
            .where(Partnership.id == partnership_id)
            .values(status=PartnershipStatus.ENDED.value, open_pair=None)
        )
        await session.commit()


def random_id() -> str:
    return str(uuid.uuid4())


StreamingClient = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def streaming_client(settings: Settings, clock: Any, client: Any) -> StreamingClient:
    """Opens a client that sends a request body as it is produced, chunk by chunk, as a
    network would. Litestar's test client reads a streamed body whole before the app
    sees any of it, and runs the app on a loop of its own; this one runs a second app
    on the same database and store, on the test's own loop and task (asyncpg
    connections belong to the loop that opened them, and the app's lifespan to the
    task that entered it). Use it as `async with streaming_client() as http:`."""

    @asynccontextmanager
    async def open_client() -> AsyncIterator[httpx.AsyncClient]:
        from exchange.app import create_app

        app = create_app(settings, clock=clock)
        async with (
            app.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
            ) as http,
        ):
            yield http

    return open_client


# --- the exchange as a command and as a server --------------------------------------------


def run_store_command(
    settings: Settings, store: StoreUnderTest, cwd: Path, *args: str
) -> tuple[int, str]:
    """`exchange store ...` on the test's database and store, as an operator runs it beside
    the service (in this process: `invoke_exchange`)."""
    result = invoke_exchange("store", *args, cwd=cwd, env=server_env(settings, store))
    return result.returncode, result.stdout + result.stderr


def server_env(settings: Settings, store: StoreUnderTest) -> dict[str, str]:
    return {**settings_env(settings), **store.env()}


def create_school_for(settings: Settings, store: StoreUnderTest, cwd: Path) -> tuple[str, str]:
    """A school made with `exchange school create` (in this process: `invoke_exchange`);
    returns its admin's e-mail and password."""
    email = f"director-{uuid.uuid4().hex[:8]}@school.kg"
    password = "a long enough password"
    result = invoke_exchange(
        "school",
        "create",
        "--name",
        "Live school",
        "--admin-email",
        email,
        "--admin-password",
        password,
        cwd=cwd,
        env=server_env(settings, store),
    )
    assert result.returncode == 0, result.stderr
    return email, password


def bearer_headers(base_url: str, email: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{base_url}/api/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
