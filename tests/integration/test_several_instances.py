"""The exchange on several machines: two `exchange serve` instances and two `exchange jobs
run` workers, each a process of its own with a data folder of its own, on one PostgreSQL
database and one S3 endpoint (a moto server over HTTP), act as one exchange.

The clients send their traffic to both instances, as a proxy in front of them would:

- concurrent uploads of one school through both never take it past its quota;
- sign-in throttling counts the failures seen by every instance;
- a resource uploaded through one instance is found (by its title at once, by the
  words of its file once a worker has read them) and downloaded through the other, a
  resumable upload begun on one is finished on the other, and a page's form from one
  instance is accepted by the other;
- every job runs once, whichever worker claims it (each worker's log names the jobs it
  ran), and an overdue request is escalated to its owner school's admins once, though
  both workers and an escalation like `exchange requests escalate`'s look for it at once;
- instances stopped mid-traffic, one with `kill -9` and the other with SIGTERM, lose no
  write a client was told succeeded: every 201 is there afterwards, with its bytes.

One test, so that the processes start once: each phase is a function of its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import secrets
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.clock import SystemClock
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.escalation import escalate_overdue
from exchange.models import Job, Member, Notification, ReuseRequest, School
from exchange.models.resource import Resource, ResourceVersion
from tests.actors import PASSWORD
from tests.blobstore_fixtures import MotoEndpoint, new_bucket
from tests.live_server import (
    LiveServer,
    child_env,
    create_school,
    exchange_command,
    live_server,
)
from tests.pages import csrf_token_in
from tests.resource_fixtures import S3_PREFIX, StoreUnderTest, make_partners
from tests.sample_files import pdf_of_size
from tests.settings import settings_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize(
        "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
]

# Quota uploads: PDFs of about 10 KB against a quota that holds six of them.
QUOTA_FILE_BYTES = 10_000
QUOTA_BYTES = 6 * QUOTA_FILE_BYTES + QUOTA_FILE_BYTES // 2
QUOTA_UPLOADS_PER_INSTANCE = 7
WRONG = "not the right password"
PATIENCE = 60.0


@dataclass
class Cluster:
    """The processes of one exchange, and what they share."""

    settings: Settings
    store: StoreUnderTest
    root: Path
    stack: AsyncExitStack
    session: async_sessionmaker[AsyncSession]
    instances: list[LiveServer] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker_logs: list[Path] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def env(self, name: str) -> dict[str, str]:
        """The settings every process shares, and a data folder of its own (another
        machine's disk)."""
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            **settings_env(self.settings),
            **self.store.env(),
            "EXCHANGE_DATA_DIR": str(data_dir),
        }

    def start_instance(self) -> LiveServer:
        name = f"app-{next(self._names)}"
        server = self.stack.enter_context(live_server(self.root / name, self.env(name)))
        self.instances.append(server)
        return server

    def start_worker(self) -> subprocess.Popen[bytes]:
        name = f"worker-{next(self._names)}"
        env = {**self.env(name), "EXCHANGE_LOG_LEVEL": "INFO", "EXCHANGE_LOG_FORMAT": "json"}
        log_path = self.root / name / "jobs.log"
        self.worker_logs.append(log_path)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                exchange_command("jobs", "run"),
                cwd=self.root / name,
                env=child_env(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.stack.callback(_stop, process)
        self.workers.append(process)
        return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def cluster_on(settings: Settings, moto: MotoEndpoint, root: Path) -> AsyncIterator[Cluster]:
    bucket = new_bucket(moto.url)
    store = StoreUnderTest("s3", f"s3://{bucket}/{S3_PREFIX}", moto=moto, bucket=bucket)
    shared = replace(
        store.apply(settings),
        school_quota_bytes=QUOTA_BYTES,
        # As docker-compose.yml runs them: the migrator has migrated, the workers run jobs.
        auto_migrate=False,
        run_jobs=False,
        # The clients' addresses, as the proxy in front names them.
        forwarded_allow_ips="*",
        # The one value every instance behind one address is given (README).
        secret_key=secrets.token_urlsafe(32),
    )
    async with AsyncExitStack() as stack:
        # One engine for the test's own looks into the database.
        engine = create_engine(shared)
        stack.push_async_callback(engine.dispose)
        yield Cluster(
            settings=shared,
            store=store,
            root=root,
            stack=stack,
            session=create_session_factory(engine, shared, consequences=build_consequences()),
        )


# --- clients ------------------------------------------------------------------------------


async def sign_in(base_url: str, email: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post("/api/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    *,
    filename: str,
    title: str,
    **fields: str,
) -> httpx.Response:
    return await http.post(
        "/api/resources",
        headers=headers,
        data={"title": title, "kind": "lesson_plan", **fields},
        files={"file": (filename, content, "application/octet-stream")},
    )


async def download(base_url: str, headers: dict[str, str], resource_id: str) -> bytes:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.get(f"/api/resources/{resource_id}/content", headers=headers)
    assert response.status_code == 200, response.text
    return response.content


async def wait_until(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.25)


# --- the phases ---------------------------------------------------------------------------


async def concurrent_uploads_stay_within_the_quota(cluster: Cluster) -> None:
    email = "director@quota.kg"
    school_id = UUID(await create_school(cluster.settings, "Quota school", email))
    a, b = cluster.instances
    headers = await sign_in(a.base_url, email)
    files = {
        number: pdf_of_size(QUOTA_FILE_BYTES + number)
        for number in range(2 * QUOTA_UPLOADS_PER_INSTANCE)
    }
    start = asyncio.Event()

    async def send(number: int) -> tuple[int, int]:
        server = (a, b)[number % 2]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            await start.wait()
            response = await upload(
                http, headers, files[number], filename=f"plan-{number}.pdf", title=f"Plan {number}"
            )
        return response.status_code, len(files[number])

    tasks = [asyncio.create_task(send(number)) for number in files]
    await asyncio.sleep(0.2)
    start.set()
    answers = await asyncio.gather(*tasks)

    assert {status for status, _size in answers} == {201, 507}, answers
    accepted = [size for status, size in answers if status == 201]
    refused = [size for status, size in answers if status == 507]
    async with cluster.session() as session:
        used = await session.scalar(select(School.storage_used_bytes).where(School.id == school_id))
        stored = list(
            await session.scalars(
                select(ResourceVersion.size)
                .join(Resource, Resource.id == ResourceVersion.resource_id)
                .where(Resource.owner_school_id == school_id)
            )
        )
    assert sorted(stored) == sorted(accepted)
    assert used == sum(accepted) <= QUOTA_BYTES
    # Every refusal was needed: the last refused file would not have fitted either.
    assert used + min(refused) > QUOTA_BYTES
    # The refused files left nothing in the store.
    assert len(cluster.store.stored_keys()) == len(accepted)


async def sign_in_failures_count_across_instances(cluster: Cluster) -> None:
    email = "director@throttle.kg"
    await create_school(cluster.settings, "Throttled school", email)
    a, b = cluster.instances
    limit = cluster.settings.sign_in_max_failures_per_account
    statuses = []
    for number in range(limit + 2):
        server = (a, b)[number % 2]
        response = httpx.post(
            f"{server.base_url}/api/auth/token", json={"email": email, "password": WRONG}
        )
        statuses.append(response.status_code)
    # Each instance saw only half the failures, yet the limit holds for both.
    assert statuses == [401] * limit + [429, 429]

    # A burst from many addresses, through both instances at once.
    email = "director@burst-two.kg"
    await create_school(cluster.settings, "Burst school", email)
    start = asyncio.Event()

    async def guess(number: int) -> int:
        server = (a, b)[number % 2]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            await start.wait()
            response = await http.post(
                "/api/auth/token",
                json={"email": email, "password": WRONG},
                headers={"X-Forwarded-For": f"10.9.0.{number + 1}"},
            )
        return response.status_code

    tasks = [asyncio.create_task(guess(number)) for number in range(4 * limit)]
    await asyncio.sleep(0.2)
    start.set()
    burst = await asyncio.gather(*tasks)
    assert set(burst) == {401, 429}
    assert burst.count(401) <= limit


@dataclass
class Shared:
    owner_headers: dict[str, str]
    partner_headers: dict[str, str]
    resource_id: str
    request_id: str
    owner_admin_id: UUID


WORD_IN_THE_FILE = "zymurgical"


async def one_instance_stores_and_the_other_serves(cluster: Cluster) -> Shared:
    a, b = cluster.instances
    owner = await create_school(cluster.settings, "Osh School 5", "director@osh5.kg")
    partner = await create_school(cluster.settings, "Naryn School 2", "director@naryn2.kg")
    await make_partners(cluster.settings, UUID(owner), UUID(partner))
    # Signed in through one instance, the token works on the other.
    owner_headers = await sign_in(a.base_url, "director@osh5.kg")
    partner_headers = await sign_in(b.base_url, "director@naryn2.kg")
    content = f"Lesson notes on fermentation: {WORD_IN_THE_FILE} experiments.\n".encode()
    async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as http:
        created = await upload(
            http, owner_headers, content, filename="notes.txt", title="Bread and yeast"
        )
    assert created.status_code == 201, created.text
    resource_id = created.json()["id"]

    async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
        for headers in (owner_headers, partner_headers):
            found = await http.get("/api/resources", params={"q": "yeast"}, headers=headers)
            assert found.status_code == 200, found.text
            assert [item["id"] for item in found.json()["items"]] == [resource_id]
            assert await download(b.base_url, headers, resource_id) == content
        asked = await http.post(
            f"/api/resources/{resource_id}/reuse-requests",
            headers=partner_headers,
            json={"scope": "adapt", "purpose": "Grade 7 biology", "audience": "Our pupils"},
        )
    assert asked.status_code == 201, asked.text

    # A page's form, from one instance, is accepted by the other.
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
    ):
        form = await on_a.get("/sign-in")
        on_b.cookies = on_a.cookies
        signed_in = await on_b.post(
            "/sign-in",
            data={
                "_csrf_token": csrf_token_in(form.text),
                "email": "director@osh5.kg",
                "password": PASSWORD,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        on_a.cookies = on_b.cookies
        assert (await on_a.get("/")).status_code == 200

    async with cluster.session() as session:
        owner_admin_id = await session.scalar(
            select(Member.id).where(Member.school_id == UUID(owner))
        )
    assert owner_admin_id is not None
    return Shared(owner_headers, partner_headers, resource_id, asked.json()["id"], owner_admin_id)


async def an_upload_begun_on_one_instance_is_finished_on_the_other(
    cluster: Cluster, shared: Shared
) -> None:
    """A resumable (tus) upload whose connection dropped comes back through the proxy to
    whichever instance: that one takes it on where the first left it."""
    a, b = cluster.instances
    content = pdf_of_size(30_000)
    half = len(content) // 2
    fields = {"filename": "resumed.pdf", "title": "Resumed plan", "kind": "lesson_plan"}
    metadata = ",".join(
        f"{name} {base64.b64encode(value.encode()).decode()}" for name, value in fields.items()
    )
    tus = {**shared.owner_headers, "Tus-Resumable": "1.0.0"}
    piece = {**tus, "Content-Type": "application/offset+octet-stream"}
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
    ):
        created = await on_a.post(
            "/api/uploads",
            headers={**tus, "Upload-Length": str(len(content)), "Upload-Metadata": metadata},
        )
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        first = await on_a.patch(
            location, headers={**piece, "Upload-Offset": "0"}, content=content[:half]
        )
        assert first.status_code == 204, first.text
        stands = await on_b.head(location, headers=tus)
        assert stands.headers["Upload-Offset"] == str(half)
        last = await on_b.patch(
            location, headers={**piece, "Upload-Offset": str(half)}, content=content[half:]
        )
        assert last.status_code == 204, last.text
    assert await download(
        a.base_url, shared.owner_headers, last.headers["Exchange-Resource-Id"]
    ) == (content)


async def make_overdue(cluster: Cluster, request_id: str) -> None:
    async with cluster.session() as session:
        await session.execute(
            update(ReuseRequest)
            .where(ReuseRequest.id == UUID(request_id))
            .values(respond_by=datetime.now(UTC) - timedelta(days=1))
        )
        await session.commit()


async def jobs_waiting(cluster: Cluster) -> int:
    async with cluster.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.status.in_(["queued", "running"]), Job.run_after <= func.now())
            )
            or 0
        )


async def two_workers_and_a_command_escalate_once(cluster: Cluster, shared: Shared) -> None:
    await make_overdue(cluster, shared.request_id)
    # Two workers start (each queues the periodic escalation: the queue keeps one) while
    # this process escalates at once, as `exchange requests escalate` does.
    cluster.start_worker()
    cluster.start_worker()
    async with cluster.session() as session:
        await escalate_overdue(session, SystemClock())

    async def escalated() -> bool:
        async with cluster.session() as session:
            return (
                await session.scalar(
                    select(ReuseRequest.escalated_at).where(
                        ReuseRequest.id == UUID(shared.request_id)
                    )
                )
            ) is not None

    await wait_until(escalated, "the overdue request escalated")

    async def idle() -> bool:
        return await jobs_waiting(cluster) == 0

    await wait_until(idle, "the workers idle")
    async with cluster.session() as session:
        notices = list(
            await session.scalars(
                select(Notification.recipient_member_id).where(
                    Notification.kind == "reuse_request.overdue",
                    Notification.subject_id == UUID(shared.request_id),
                )
            )
        )
    assert notices == [shared.owner_admin_id]

    # The worker read the file that one instance stored; the other finds its words.
    async with httpx.AsyncClient(base_url=cluster.instances[1].base_url, timeout=30) as http:
        found = await http.get(
            "/api/resources", params={"q": WORD_IN_THE_FILE}, headers=shared.partner_headers
        )
    assert [item["id"] for item in found.json()["items"]] == [shared.resource_id]


@dataclass
class Traffic:
    """Uploads sent by a few clients to every instance in turn, as a proxy spreads them,
    while instances stop."""

    headers: dict[str, str]
    targets: list[str]
    acknowledged: dict[str, bytes] = field(default_factory=dict)
    running: bool = True

    async def client(self, number: int) -> None:
        turn = itertools.count(number)
        async with httpx.AsyncClient(timeout=60) as http:
            while self.running:
                base_url = self.targets[next(turn) % len(self.targets)]
                content = f"Notes {uuid.uuid4()}: the water cycle.\n".encode() * 40
                try:
                    response = await http.post(
                        f"{base_url}/api/resources",
                        headers=self.headers,
                        data={"title": "Water cycle", "kind": "lesson_plan"},
                        files={"file": ("notes.txt", content, "text/plain")},
                    )
                except httpx.TransportError:  # the instance is gone: not acknowledged
                    await asyncio.sleep(0.1)
                    continue
                if response.status_code == 201:
                    self.acknowledged[response.json()["id"]] = content
                else:  # refused while shutting down: not acknowledged either
                    assert response.status_code >= 500, response.text

    async def until(self, count: int) -> None:
        wanted = len(self.acknowledged) + count

        async def enough() -> bool:
            return len(self.acknowledged) >= wanted

        await wait_until(enough, f"{count} more uploads acknowledged")


async def stopped_instances_lose_no_acknowledged_write(cluster: Cluster) -> None:
    email = "director@steady.kg"
    school_id = UUID(await create_school(cluster.settings, "Steady school", email))
    a, b = cluster.instances
    traffic = Traffic(await sign_in(a.base_url, email), [a.base_url, b.base_url])
    clients = [asyncio.create_task(traffic.client(number)) for number in range(3)]
    try:
        await traffic.until(3)
        await asyncio.to_thread(a.kill)  # a power cut, uploads under way
        await traffic.until(3)  # the other instance carries on
        await asyncio.to_thread(b.terminate)  # it finishes what it has under way first
    finally:
        traffic.running = False
        await asyncio.gather(*clients)

    assert len(traffic.acknowledged) >= 6
    async with cluster.session() as session:
        rows = {
            resource_id: (blob_key, sha256)
            for resource_id, blob_key, sha256 in await session.execute(
                select(Resource.id, ResourceVersion.blob_key, ResourceVersion.sha256)
                .join(ResourceVersion, ResourceVersion.resource_id == Resource.id)
                .where(Resource.owner_school_id == school_id)
            )
        }
        used = await session.scalar(select(School.storage_used_bytes).where(School.id == school_id))
        sizes = await session.scalar(
            select(func.sum(ResourceVersion.size))
            .join(Resource, Resource.id == ResourceVersion.resource_id)
            .where(Resource.owner_school_id == school_id)
        )
    store = cluster.store.open()
    try:
        for resource_id, content in traffic.acknowledged.items():
            blob_key, sha256 = rows[UUID(resource_id)]
            assert sha256 == hashlib.sha256(content).hexdigest()
            async with await store.open_range(blob_key) as stream:
                assert b"".join([chunk async for chunk in stream]) == content
    finally:
        await store.close()
    # What a killed request had half done was rolled back whole, its bytes' count with it.
    assert used == sizes


def jobs_run_by_the_workers(cluster: Cluster) -> Counter[str]:
    """How often each job was run, from the workers' logs (one JSON object a line)."""
    runs: Counter[str] = Counter()
    for path in cluster.worker_logs:
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") in {"job done", "job failed"}:
                runs[entry["job_id"]] += 1
    return runs


async def every_job_ran_once(cluster: Cluster) -> None:
    async def idle() -> bool:
        return await jobs_waiting(cluster) == 0

    await wait_until(idle, "the workers idle")
    async with cluster.session() as session:
        finished = list(
            await session.execute(
                select(Job.id, Job.kind, Job.status, Job.attempts).where(
                    Job.status.in_(["done", "failed"])
                )
            )
        )
    runs = jobs_run_by_the_workers(cluster)
    assert len(finished) >= 10
    assert {status for _id, _kind, status, _attempts in finished} == {"done"}
    assert {attempts for _id, _kind, _status, attempts in finished} == {1}
    assert set(runs.values()) == {1}
    assert {str(job_id) for job_id, *_ in finished} == set(runs)


async def workers_stop_when_told(cluster: Cluster) -> None:
    """SIGTERM, as a deploy sends it: each worker hands back what it has under way and
    ends at once, without an error."""
    for process in cluster.workers:
        process.terminate()
    for process in cluster.workers:
        assert await asyncio.to_thread(process.wait, 15) == 0


# --- the test -----------------------------------------------------------------------------


async def test_two_instances_and_two_workers_on_one_database_and_store_act_as_one(
    settings: Settings, moto_endpoint: MotoEndpoint, aws_test_credentials: None, tmp_path: Path
) -> None:
    async with cluster_on(settings, moto_endpoint, tmp_path) as cluster:
        await asyncio.gather(
            asyncio.to_thread(cluster.start_instance), asyncio.to_thread(cluster.start_instance)
        )
        await concurrent_uploads_stay_within_the_quota(cluster)
        await sign_in_failures_count_across_instances(cluster)
        shared = await one_instance_stores_and_the_other_serves(cluster)
        await an_upload_begun_on_one_instance_is_finished_on_the_other(cluster, shared)
        await two_workers_and_a_command_escalate_once(cluster, shared)
        await stopped_instances_lose_no_acknowledged_write(cluster)
        await every_job_ran_once(cluster)
        await workers_stop_when_told(cluster)
