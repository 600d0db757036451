"""Random lives of a few schools, checked against a small model of the rules.

Hypothesis drives invites, accepts, ends, partnering again after an end, uploads, reuse
requests, decisions (with and without expiry), revocations, forwards, a resource
turning confidential and time passing; after every step the policy's SQL answer to
"who reads what" must equal the model's, as must every request's status, every
grant's and every forward's, and the services must accept or refuse each move as the
model says. SQLite only, through the service layer: it is the policy that is under
test, not the HTTP.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from msgspec import UNSET
from sqlalchemy import select

from exchange.accounts.identity import Identity
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.errors import Conflict, DomainError, InvalidInput, NotFound, RuleRefusal
from exchange.models import (
    Forward,
    Grant,
    Member,
    MemberRole,
    Partnership,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ReuseRequest,
    School,
)
from exchange.policy import readable_by_school, readable_resources
from exchange.resources.schemas import ResourceUpdate
from exchange.resources.services import ResourceService
from exchange.reuse.forwards import ForwardService
from exchange.reuse.grants import GrantService
from exchange.reuse.partnership_end import end_what_rested_on_the_partnership
from exchange.reuse.requests import ReuseRequestService
from exchange.reuse.schemas import DecisionIn, ForwardIn, ReuseRequestCreate
from exchange.unit_of_work import unit_of_work
from tests.clock import ManualClock
from tests.conftest import base_settings

SCHOOLS = 5
SCOPES = ("adapt", "share", "publish")


# --- the model -------------------------------------------------------------------------


@dataclass
class MResource:
    owner: int
    visibility: str
    shared: frozenset[int]
    confidential: bool
    licence_open: bool
    # A student's work, and whether its consent is on file (without, it stays home).
    student_work: bool = False
    consent: bool = False

    @property
    def stays_home_without_consent(self) -> bool:
        return self.student_work and not self.consent


@dataclass
class MGrant:
    school: int
    resource: int
    scope: str
    expires: datetime | None
    created: int  # order of creation
    revoked: bool = False
    id: uuid.UUID | None = None
    revoked_reason: str | None = None

    def valid(self, now: datetime) -> bool:
        return not self.revoked and (self.expires is None or self.expires > now)


@dataclass
class MForward:
    resource: int
    source: int
    target: int
    grant: MGrant | None
    cut: bool = False
    id: uuid.UUID | None = None


@dataclass
class MRequest:
    school: int
    resource: int
    scope: str
    status: str = "pending"
    id: uuid.UUID | None = None


@dataclass
class Model:
    partnerships: dict[frozenset[int], str] = field(default_factory=dict)
    resources: list[MResource] = field(default_factory=list)
    grants: list[MGrant] = field(default_factory=list)
    forwards: list[MForward] = field(default_factory=list)
    requests: list[MRequest] = field(default_factory=list)

    def active(self, a: int, b: int) -> bool:
        return self.partnerships.get(frozenset((a, b))) == "active"

    def direct(self, school: int, r: int) -> bool:
        res = self.resources[r]
        if school == res.owner:
            return True
        if not self.active(res.owner, school):
            return False
        return res.visibility == "partners" or (
            res.visibility == "selected" and school in res.shared
        )

    def stands(self, f: MForward, now: datetime) -> bool:
        res = self.resources[f.resource]
        grant_ok = res.licence_open if f.grant is None else f.grant.valid(now)
        return not f.cut and not res.confidential and grant_ok and self.active(f.source, f.target)

    def readers(self, r: int, now: datetime) -> set[int]:
        readers = {s for s in range(SCHOOLS) if self.direct(s, r)}
        standing = [f for f in self.forwards if f.resource == r and self.stands(f, now)]
        reached: set[int] = set()
        frontier = {f.target for f in standing if self.direct(f.source, r)}
        while frontier - reached:
            reached |= frontier
            frontier = {f.target for f in standing if f.source in reached}
        return readers | reached

    def carries(self, f: MForward, now: datetime) -> bool:
        return self.stands(f, now) and f.source in self.readers(f.resource, now)

    def end(self, pair: frozenset[int], now: datetime) -> tuple[int, int]:
        """What ending the partnership takes away, for good; returns how many grants
        were revoked and forwards cut."""
        a, b = sorted(pair)
        carried = [f for f in self.forwards if self.carries(f, now)]
        for res in self.resources:
            if res.owner in pair:
                res.shared = res.shared - pair
        revoked = [
            g
            for g in self.grants
            if g.valid(now) and {g.school, self.resources[g.resource].owner} == {a, b}
        ]
        self.partnerships[pair] = "ended"
        for g in revoked:
            g.revoked, g.revoked_reason = True, "partnership_ended"
        cut = [f for f in carried if not self.carries(f, now)]
        for f in cut:
            f.cut = True
        for f in cut:
            for g in self.grants:
                if (
                    (g.school, g.resource) == (f.target, f.resource)
                    and g.valid(now)
                    and f.target not in self.readers(f.resource, now)
                ):
                    g.revoked, g.revoked_reason = True, "partnership_ended"
                    revoked.append(g)
        for q in self.requests:
            owner = self.resources[q.resource].owner
            if q.status == "pending" and (
                {q.school, owner} == {a, b} or q.school not in self.readers(q.resource, now)
            ):
                q.status = "closed"
        return len(revoked), len(cut)

    def grant_in_hand(self, school: int, r: int, scope: str, now: datetime) -> MGrant | None:
        held = [
            g
            for g in self.grants
            if (g.school, g.resource, g.scope) == (school, r, scope) and g.valid(now)
        ]
        return max(held, key=lambda g: g.created) if held else None


# How often each move went through or was refused, over the whole run: the test also
# checks that the random lives reached the interesting places, so it cannot pass idly.
OUTCOMES: Counter[str] = Counter()


def count(move: str, error: DomainError | None) -> None:
    OUTCOMES[f"{move}: {'ok' if error is None else type(error).__name__}"] += 1


# --- the machine -----------------------------------------------------------------------


class ConductMachine(RuleBasedStateMachine):
    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="conduct-stateful-"))
        shutil.copy(self.template, self.folder / "exchange.sqlite3")
        self.settings = base_settings(self.folder)
        self.clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
        self.engine = create_engine(self.settings)
        self.sessions = create_session_factory(
            self.engine, self.settings, consequences=build_consequences()
        )
        self.model = Model()
        self.school_ids: list[uuid.UUID] = []
        self.admins: list[Identity] = []
        self.resource_ids: list[uuid.UUID] = []
        self.partnership_ids: dict[frozenset[int], uuid.UUID] = {}
        self.ended_before: set[frozenset[int]] = set()
        self.grant_counter = 0
        self.checks = 0
        self.run(self._make_schools())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _make_schools(self) -> None:
        async with self.sessions() as session:
            for number in range(SCHOOLS):
                school = School(name=f"School {number}")
                session.add(school)
                await session.flush()
                admin = Member(
                    school_id=school.id,
                    email=f"admin{number}@s{number}.kg",
                    full_name=f"Admin {number}",
                    role="admin",
                    password_hash="-",
                )
                session.add(admin)
                await session.flush()
                self.school_ids.append(school.id)
                self.admins.append(
                    Identity(
                        member_id=admin.id,
                        school_id=school.id,
                        role=MemberRole.ADMIN,
                        email=admin.email,
                        full_name=admin.full_name,
                        token_id=uuid.uuid4(),
                    )
                )
            await session.commit()

    async def _call(self, service: type[Any], method: str, *args: Any) -> Any:
        async with self.sessions() as session:
            return await getattr(service(session, self.settings, self.clock), method)(*args)

    def attempt(self, service: type[Any], method: str, *args: Any) -> tuple[Any, Any]:
        try:
            return self.run(self._call(service, method, *args)), None
        except DomainError as error:
            return None, error

    # --- a start where things can happen ---------------------------------------

    @initialize(
        pairs=st.sets(
            st.tuples(st.integers(0, SCHOOLS - 1), st.integers(0, SCHOOLS - 1)).filter(
                lambda pair: pair[0] != pair[1]
            ),
            min_size=2,
            max_size=4,
        )
    )
    def some_partnerships(self, pairs: set[tuple[int, int]]) -> None:
        for a, b in sorted(pairs):
            self.invite(a, b)
        for _ in range(len(self._pairs("invited"))):
            self.accept(0)

    @initialize(owner=st.integers(0, SCHOOLS - 1), licence_open=st.booleans())
    def a_shared_resource(self, owner: int, licence_open: bool) -> None:
        self.upload(owner, "partners", set(), False, licence_open)

    # --- partnerships (rows as the partnership service writes them) ---------------

    @rule(a=st.integers(0, SCHOOLS - 1), b=st.integers(0, SCHOOLS - 1))
    def invite(self, a: int, b: int) -> None:
        pair = frozenset((a, b))
        if a == b or self.model.partnerships.get(pair) in {"invited", "active"}:
            return

        async def insert() -> uuid.UUID:
            async with self.sessions() as session:
                ids = sorted(str(self.school_ids[i]) for i in (a, b))
                partnership = Partnership(
                    inviting_school_id=self.school_ids[a],
                    invited_school_id=self.school_ids[b],
                    status="invited",
                    open_pair=":".join(ids),
                    language="en",
                    inviter_conduct_version=1,
                    invited_at=self.clock.now(),
                )
                session.add(partnership)
                await session.commit()
                return partnership.id

        self.partnership_ids[pair] = self.run(insert())
        self.model.partnerships[pair] = "invited"

    def _pairs(self, status: str) -> list[frozenset[int]]:
        return sorted((p for p, s in self.model.partnerships.items() if s == status), key=sorted)

    @precondition(lambda self: bool(self._pairs("invited")))
    @rule(pick=st.integers(0, 50))
    def accept(self, pick: int) -> None:
        pairs = self._pairs("invited")
        if not pairs:
            return
        self._accept(pairs[pick % len(pairs)])

    def _accept(self, pair: frozenset[int]) -> None:
        async def move() -> None:
            async with self.sessions() as session:
                partnership = await session.get_one(Partnership, self.partnership_ids[pair])
                partnership.status = "active"
                partnership.accepted_at = self.clock.now()
                await session.commit()

        self.run(move())
        count("accept again" if pair in self.ended_before else "accept", None)
        self.model.partnerships[pair] = "active"

    @precondition(lambda self: bool(self._pairs("ended")))
    @rule(pick=st.integers(0, 50), inviter_first=st.booleans())
    def partner_again(self, pick: int, inviter_first: bool) -> None:
        """Two schools whose partnership ended become partners again."""
        pairs = self._pairs("ended")
        if not pairs:
            return
        pair = pairs[pick % len(pairs)]
        a, b = sorted(pair)
        self.invite(*((a, b) if inviter_first else (b, a)))
        self._accept(pair)

    @precondition(lambda self: bool(self._pairs("active")))
    @rule(pick=st.integers(0, 50))
    def end(self, pick: int) -> None:
        pairs = self._pairs("active")
        if not pairs:
            return
        self._end(pairs[pick % len(pairs)])

    @precondition(lambda self: bool(self.granted_pairs()))
    @rule(pick=st.integers(0, 50))
    def end_under_a_grant(self, pick: int) -> None:
        """End a partnership a grant or a forward rests on (random ends rarely meet one)."""
        pairs = self.granted_pairs()
        self._end(pairs[pick % len(pairs)])

    def granted_pairs(self) -> list[frozenset[int]]:
        """Active partnerships a grant in force or a forward carrying access rests on."""
        now = self.clock.now()
        pairs = {
            frozenset((g.school, self.model.resources[g.resource].owner))
            for g in self.model.grants
            if g.valid(now)
        }
        for f in self.model.forwards:
            if self.model.carries(f, now):
                pairs.add(frozenset((f.source, f.target)))
                pairs.add(frozenset((f.source, self.model.resources[f.resource].owner)))
        return sorted((p for p in pairs if len(p) == 2 and self.model.active(*p)), key=sorted)

    def _end(self, pair: frozenset[int]) -> None:
        async def move() -> None:
            # As the partnership service ends it: what rested on it ends in the
            # transaction that ends it.
            async with self.sessions() as session:
                partnership = await session.get_one(Partnership, self.partnership_ids[pair])
                partnership.status = "ended"
                partnership.open_pair = None
                partnership.closed_at = self.clock.now()
                await session.flush()
                await end_what_rested_on_the_partnership(session, self.clock, partnership)
                await unit_of_work(session, self.clock).commit()

        self.run(move())
        self.ended_before.add(pair)
        revoked, cut = self.model.end(pair, self.clock.now())
        count("end", None)
        if revoked:
            count("end revoked a grant", None)
        if cut:
            count("end cut a forward", None)

    # --- resources ----------------------------------------------------------------

    @precondition(lambda self: len(self.resource_ids) < 6)
    @rule(
        owner=st.integers(0, SCHOOLS - 1),
        visibility=st.sampled_from(["school", "partners", "selected"]),
        listed=st.sets(st.integers(0, SCHOOLS - 1), max_size=2),
        confidential=st.booleans(),
        licence_open=st.booleans(),
    )
    def upload(
        self,
        owner: int,
        visibility: str,
        listed: set[int],
        confidential: bool,
        licence_open: bool,
        student_work: bool = False,
    ) -> None:
        if len(self.resource_ids) >= 6:
            return
        licence_open = licence_open and not confidential  # rule 6 refuses both
        shared = frozenset(
            s for s in listed if visibility == "selected" and self.model.active(owner, s)
        )
        if visibility == "selected" and not shared:
            visibility = "partners"
        # A student's work shared beyond its school carries consent, as uploads require.
        consent = student_work and visibility != "school"

        async def insert() -> uuid.UUID:
            async with self.sessions() as session:
                resource = Resource(
                    owner_school_id=self.school_ids[owner],
                    kind="student_work" if student_work else "lesson_plan",
                    student_consent="parents" if consent else None,
                    title=f"Resource {len(self.resource_ids)}",
                    visibility=visibility,
                    confidential=confidential,
                    licence="cc-by" if licence_open else "all_rights_reserved",
                    current_version_number=1,
                )
                resource.authors.append(ResourceAuthor(member_id=self.admins[owner].member_id))
                for s in shared:
                    resource.shares.append(ResourceShare(school_id=self.school_ids[s]))
                session.add(resource)
                await session.commit()
                return resource.id

        self.resource_ids.append(self.run(insert()))
        self.model.resources.append(
            MResource(owner, visibility, shared, confidential, licence_open, student_work, consent)
        )

    async def _update(self, school: int, r: int, change: ResourceUpdate) -> Any:
        async with self.sessions() as session:
            service = ResourceService(session, self.settings, self.clock, None)  # type: ignore[arg-type]
            return await service.update(self.admins[school], self.resource_ids[r], change)

    def withdraw_consent(self, r: int) -> None:
        """Parents change their mind: the work goes back home, its forwards are cut and
        the permissions to share or publish it revoked."""
        res = self.model.resources[r]
        try:
            updated = self.run(self._update(res.owner, r, ResourceUpdate(student_consent=None)))
            error = None
        except DomainError as refusal:
            updated, error = None, refusal
        count("withdraw_consent", error)
        assert error is None, error
        assert updated.visibility == "school"
        res.consent, res.visibility, res.shared = False, "school", frozenset()
        for f in self.model.forwards:
            if f.resource == r:
                f.cut = True
        now = self.clock.now()
        for g in self.model.grants:
            if g.resource == r and g.scope in {"share", "publish"} and g.valid(now):
                g.revoked, g.revoked_reason = True, "student_consent_withdrawn"

    def share_without_consent(self, r: int, visibility: str) -> None:
        owner = self.model.resources[r].owner
        partners = [s for s in range(SCHOOLS) if self.model.active(owner, s)]
        change = ResourceUpdate(
            visibility=visibility,
            shared_with=[self.school_ids[s] for s in partners[:1]]
            if visibility == "selected"
            else UNSET,
        )
        try:
            self.run(self._update(owner, r, change))
            error: DomainError | None = None
        except DomainError as refusal:
            error = refusal
        count("share_without_consent", error)
        assert isinstance(error, InvalidInput), error

    @precondition(lambda self: bool(self.resource_ids))
    @rule(pick=st.integers(0, 50))
    def make_confidential(self, pick: int) -> None:
        candidates = [
            i
            for i, r in enumerate(self.model.resources)
            if not r.confidential and not r.licence_open
        ]
        if not candidates:
            return
        r = candidates[pick % len(candidates)]

        async def change() -> None:
            async with self.sessions() as session:
                resource = await session.get_one(Resource, self.resource_ids[r])
                resource.confidential = True
                await session.commit()

        self.run(change())
        self.model.resources[r].confidential = True

    @rule(days=st.integers(1, 20))
    def time_passes(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    # --- requests, decisions, revocations, forwards ------------------------------

    @precondition(lambda self: bool(self.resource_ids))
    @rule(
        school=st.integers(0, SCHOOLS - 1), pick=st.integers(0, 50), scope=st.sampled_from(SCOPES)
    )
    def request(self, school: int, pick: int, scope: str) -> None:
        if not self.resource_ids:
            return
        r = pick % len(self.resource_ids)
        res, now = self.model.resources[r], self.clock.now()
        if school not in self.model.readers(r, now):
            expected: Any = NotFound
        elif school == res.owner:
            expected = InvalidInput
        elif res.confidential and scope != "adapt":
            expected = RuleRefusal
        elif res.stays_home_without_consent and scope != "adapt":
            expected = InvalidInput
        elif (
            res.licence_open
            or self.model.grant_in_hand(school, r, scope, now)
            or any(
                (q.school, q.resource, q.scope, q.status) == (school, r, scope, "pending")
                for q in self.model.requests
            )
        ):
            expected = Conflict
        else:
            expected = None
        created, error = self.attempt(
            ReuseRequestService,
            "create",
            self.admins[school],
            self.resource_ids[r],
            ReuseRequestCreate(scope=scope, purpose="For our pupils", audience="Grade 6"),  # type: ignore[arg-type]
        )
        count("request", error)
        assert type(error) is expected if expected else error is None, (expected, error)
        if created is not None:
            self.model.requests.append(MRequest(school, r, scope, id=created.id))

    @precondition(lambda self: bool(self.model.requests))
    @rule(pick=st.integers(0, 50), approve=st.booleans(), expiry=st.none() | st.integers(1, 30))
    def decide(self, pick: int, approve: bool, expiry: int | None) -> None:
        if not self.model.requests:
            return
        request = self.model.requests[pick % len(self.model.requests)]
        res = self.model.resources[request.resource]
        expires = self.clock.now() + timedelta(days=expiry) if approve and expiry else None
        if request.status != "pending":
            expected: Any = Conflict
        elif approve and res.confidential and request.scope != "adapt":
            expected = RuleRefusal
        elif approve and res.stays_home_without_consent and request.scope != "adapt":
            expected = InvalidInput
        else:
            expected = None
        decided, error = self.attempt(
            ReuseRequestService,
            "decide",
            self.admins[res.owner],
            request.id,
            DecisionIn(
                decision="approve" if approve else "deny",
                note=None if approve else "Not this term",
                expires_at=expires,
            ),
        )
        count("decide", error)
        assert type(error) is expected if expected else error is None, (expected, error)
        if decided is None:
            return
        request.status = decided.status
        if approve:
            self.grant_counter += 1
            self.model.grants.append(
                MGrant(
                    request.school,
                    request.resource,
                    request.scope,
                    expires,
                    self.grant_counter,
                    id=decided.grant_id,
                )
            )

    @precondition(lambda self: bool(self.model.grants))
    @rule(pick=st.integers(0, 50))
    def revoke(self, pick: int) -> None:
        if not self.model.grants:
            return
        grant = self.model.grants[pick % len(self.model.grants)]
        owner = self.model.resources[grant.resource].owner
        expected = None if grant.valid(self.clock.now()) else Conflict
        _, error = self.attempt(
            GrantService, "revoke", self.admins[owner], self.resource_ids[grant.resource], grant.id
        )
        if expected is None and isinstance(error, NotFound):
            # The owner always reads its own resource, so a revocation never meets a 404.
            raise AssertionError(error)
        count("revoke", error)
        assert type(error) is expected if expected else error is None, (expected, error)
        if error is None:
            grant.revoked, grant.revoked_reason = True, "withdrawn"
            for f in self.model.forwards:
                if f.grant is grant:
                    f.cut = True

    @precondition(lambda self: bool(self.resource_ids))
    @rule(
        school=st.integers(0, SCHOOLS - 1),
        pick=st.integers(0, 50),
        to=st.integers(0, SCHOOLS - 1),
    )
    def forward(self, school: int, pick: int, to: int) -> None:
        if not self.resource_ids:
            return
        r = pick % len(self.resource_ids)
        res, now = self.model.resources[r], self.clock.now()
        grant = self.model.grant_in_hand(school, r, "share", now)
        readers = self.model.readers(r, now)
        if school not in readers:
            expected: Any = NotFound
        elif school == res.owner:
            expected = InvalidInput
        elif res.confidential:
            expected = RuleRefusal
        elif res.stays_home_without_consent:
            expected = InvalidInput
        elif grant is None and not res.licence_open:
            expected = RuleRefusal
        elif to == school:
            expected = InvalidInput
        elif not self.model.active(school, to):
            expected = RuleRefusal
        elif to in readers:
            expected = Conflict
        else:
            expected = None
        forwarded, error = self.attempt(
            ForwardService,
            "forward",
            self.admins[school],
            self.resource_ids[r],
            ForwardIn(school_id=self.school_ids[to]),
        )
        count("forward", error)
        assert type(error) is expected if expected else error is None, (expected, error)
        if error is None:
            self.model.forwards.append(MForward(r, school, to, grant, id=forwarded.id))

    # Random picks rarely land on a school that can act; these moves pick one that can.

    @precondition(lambda self: bool(self.reader_pairs()))
    @rule(pick=st.integers(0, 500), scope=st.sampled_from(SCOPES))
    def request_as_reader(self, pick: int, scope: str) -> None:
        pairs = self.reader_pairs()
        school, r = pairs[pick % len(pairs)]
        self.request(school, r, scope)

    @precondition(lambda self: bool(self.holder_pairs()))
    @rule(pick=st.integers(0, 500), to=st.integers(0, SCHOOLS - 1))
    def forward_as_holder(self, pick: int, to: int) -> None:
        holders = self.holder_pairs()
        school, r = holders[pick % len(holders)]
        partners = [t for t in range(SCHOOLS) if self.model.active(school, t)] or [to]
        self.forward(school, r, partners[to % len(partners)])

    def reader_pairs(self) -> list[tuple[int, int]]:
        """(school, resource): a school that reads another school's resource."""
        now = self.clock.now()
        return [
            (s, r)
            for r, res in enumerate(self.model.resources)
            for s in sorted(self.model.readers(r, now))
            if s != res.owner
        ]

    def askable_pairs(self) -> list[tuple[int, int]]:
        """(school, resource): a reader that may ask to share it and has not yet."""
        now = self.clock.now()
        return [
            (s, r)
            for s, r in self.reader_pairs()
            if not self.model.resources[r].licence_open
            and not self.model.resources[r].confidential
            and not self.model.grant_in_hand(s, r, "share", now)
            and not any(
                (q.school, q.resource, q.scope, q.status) == (s, r, "share", "pending")
                for q in self.model.requests
            )
        ]

    def holder_pairs(self) -> list[tuple[int, int]]:
        """(school, resource): a reader that may pass it on (share grant or open licence)."""
        now = self.clock.now()
        return [
            (s, r)
            for s, r in self.reader_pairs()
            if self.model.resources[r].licence_open or self.model.grant_in_hand(s, r, "share", now)
        ]

    @precondition(lambda self: bool(self.askable_pairs()))
    @rule(pick=st.integers(0, 500), to=st.integers(0, SCHOOLS - 1))
    def share_and_forward(self, pick: int, to: int) -> None:
        """A reader asks to share, the owner approves, the reader passes it on: what an
        end of partnership has to take away."""
        pairs = self.askable_pairs()
        school, r = pairs[pick % len(pairs)]
        asked = len(self.model.requests)
        self.request(school, r, "share")
        if len(self.model.requests) > asked:
            self.decide(asked, True, None)
        readers = self.model.readers(r, self.clock.now())
        partners = [t for t in range(SCHOOLS) if self.model.active(school, t)]
        targets = [t for t in partners if t not in readers] or partners or [to]
        self.forward(school, r, targets[to % len(targets)])

    @precondition(lambda self: bool(self.grants_in_force()))
    @rule(pick=st.integers(0, 50))
    def revoke_in_force(self, pick: int) -> None:
        grants = self.grants_in_force()
        self.revoke(self.model.grants.index(grants[pick % len(grants)]))

    def grants_in_force(self) -> list[MGrant]:
        now = self.clock.now()
        return [g for g in self.model.grants if g.valid(now)]

    @precondition(lambda self: any(q.status == "pending" for q in self.model.requests))
    @rule(pick=st.integers(0, 50), approve=st.booleans(), expiry=st.none() | st.integers(1, 30))
    def decide_pending(self, pick: int, approve: bool, expiry: int | None) -> None:
        pending = [i for i, q in enumerate(self.model.requests) if q.status == "pending"]
        self.decide(pending[pick % len(pending)], approve, expiry)

    # --- what must always hold ----------------------------------------------------

    @invariant()
    def every_read_matches_the_model(self) -> None:
        now = self.clock.now()

        async def pairs() -> set[tuple[uuid.UUID, uuid.UUID]]:
            async with self.sessions() as session:
                rows = await session.execute(
                    select(School.id, Resource.id).where(readable_by_school(School.id, now))
                )
                return {(row[0], row[1]) for row in rows}

        # The form lists and searches use (one known school, uncorrelated sets) is held
        # to the plain rule for one school after each step, each school in turn: building
        # it costs several times the plain rule, and for every school after every step it
        # would be most of the test's time. `test_tuned_reading` compares every variant
        # with the plain rule over generated worlds on both databases.
        school = self.checks % SCHOOLS
        self.checks += 1

        async def of_one_school() -> set[uuid.UUID]:
            admin = self.admins[school]
            async with self.sessions() as session:
                ids = await session.scalars(
                    select(Resource.id).where(readable_resources(admin, now))
                )
                return set(ids)

        actual = self.run(pairs())
        school_id = self.school_ids[school]
        assert self.run(of_one_school()) == {r for s, r in actual if s == school_id}
        wanted = {
            (self.school_ids[s], self.resource_ids[r])
            for r in range(len(self.resource_ids))
            for s in self.model.readers(r, now)
        }
        assert actual == wanted, {"unexpected": actual - wanted, "missing": wanted - actual}

    @invariant()
    def request_statuses_match_the_model(self) -> None:
        async def statuses() -> dict[uuid.UUID, str]:
            async with self.sessions() as session:
                rows = await session.execute(select(ReuseRequest.id, ReuseRequest.status))
                return {row[0]: row[1] for row in rows}

        actual = self.run(statuses())
        assert actual == {q.id: q.status for q in self.model.requests}

    @invariant()
    def grants_and_forwards_match_the_model(self) -> None:
        async def rows() -> tuple[dict[uuid.UUID, str | None], dict[uuid.UUID, bool]]:
            async with self.sessions() as session:
                grants = await session.execute(select(Grant.id, Grant.revoked_reason))
                forwards = await session.execute(select(Forward.id, Forward.cut_at))
                return (
                    {row[0]: row[1] for row in grants},
                    {row[0]: row[1] is not None for row in forwards},
                )

        grants, forwards = self.run(rows())
        assert grants == {g.id: g.revoked_reason for g in self.model.grants}
        assert forwards == {f.id: f.cut for f in self.model.forwards}


class StudentWorkMachine(ConductMachine):
    """The same lives with a student's work shared with consent from the start, whose
    consent is withdrawn and recorded again along the way."""

    @initialize(owner=st.integers(0, SCHOOLS - 1))
    def a_shared_students_work(self, owner: int) -> None:
        self.upload(owner, "partners", set(), False, False, student_work=True)

    @precondition(lambda self: any(r.student_work for r in self.model.resources))
    @rule(pick=st.integers(0, 50), visibility=st.sampled_from(["partners", "selected"]))
    def students_consent(self, pick: int, visibility: str) -> None:
        """A student's work with consent has it withdrawn; one without is shared: refused
        ('selected'), or with the consent recorded again ('partners')."""
        works = [i for i, r in enumerate(self.model.resources) if r.student_work]
        if not works:
            return
        r = works[pick % len(works)]
        if self.model.resources[r].consent:
            self.withdraw_consent(r)
        elif visibility == "selected":
            self.share_without_consent(r, visibility)
        else:
            self.share_with_consent(r)

    def share_with_consent(self, r: int) -> None:
        """Consent recorded again: shared with partners; what was forwarded stays cut."""
        res = self.model.resources[r]
        change = ResourceUpdate(student_consent="parents", visibility="partners")
        try:
            self.run(self._update(res.owner, r, change))
            error: DomainError | None = None
        except DomainError as refusal:
            error = refusal
        count("share_with_consent", error)
        assert error is None, error
        res.consent, res.visibility = True, "partners"


SEED = 1
# How deep the random lives go. CI runs a fixed set of lives, bounded in number and
# length, and reports a failing life as it was found: shrinking a 30-step life to its
# shortest form took more than five minutes on a loaded machine. To shrink a failure CI
# reported, run the same lives again with EXCHANGE_CONDUCT_SHRINK=1; to look deeper,
# EXCHANGE_CONDUCT_MAX_EXAMPLES=200 (other lives, also from the fixed seed).
MAX_EXAMPLES = os.environ.get("EXCHANGE_CONDUCT_MAX_EXAMPLES", "").strip()
SHRINK = os.environ.get("EXCHANGE_CONDUCT_SHRINK", "").strip().lower() in {"1", "true", "yes"}
STEPS = 30


def _random_lives(machine: type[ConductMachine], template: Path, examples: int, seed: int) -> None:
    machine.template = template
    # A fixed seed: the same lives on every run, and after any edit of the machine's code
    # (with `derandomize` alone the lives follow a digest of that code).
    machine._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    OUTCOMES.clear()
    phases = [Phase.explicit, Phase.generate]
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=int(MAX_EXAMPLES) if MAX_EXAMPLES else examples,
            stateful_step_count=STEPS,
            deadline=None,
            # The same lives on every run, so that the coverage check below is stable.
            derandomize=True,
            phases=[*phases, Phase.shrink, Phase.explain] if SHRINK else phases,
            # The first failing life is reported at once; another kind of failure is
            # for the next run.
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.slow
def test_reads_and_moves_follow_the_rules_in_random_lives(sqlite_template: Path) -> None:
    _random_lives(ConductMachine, sqlite_template, 20, seed=SEED)
    for move in ("request: ok", "decide: ok", "revoke: ok", "forward: ok", "forward: RuleRefusal"):
        assert OUTCOMES[move] > 0, f"no '{move}' in {dict(OUTCOMES)}"


@pytest.mark.slow
def test_a_students_work_follows_its_consent_in_random_lives(sqlite_template: Path) -> None:
    _random_lives(StudentWorkMachine, sqlite_template, 20, seed=SEED)
    for move in (
        "request: ok",
        "withdraw_consent: ok",
        "share_without_consent: InvalidInput",
        "share_with_consent: ok",
        "accept again: ok",
        "end revoked a grant: ok",
        "end cut a forward: ok",
    ):
        assert OUTCOMES[move] > 0, f"no '{move}' in {dict(OUTCOMES)}"
