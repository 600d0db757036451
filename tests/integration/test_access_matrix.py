"""The authorization matrix: the oracle for who may do what.

`TABLE` says, for every operation of the OpenAPI document, the expected status for each
role (anonymous, teacher, author, admin) of a school in each relation to the resource's
owner school, for an ordinary and a confidential resource. One test per operation runs
every cell against the real app and reports every mismatch; another fails as soon as a
route exists that the table does not cover.

The world: owner school A (a teacher, an author of the resource, an admin); P, an active
partner listed in `shared_with` that holds a `share` grant and forwarded the resource to
its own partner F; U, an active partner not listed; I, invited but not accepted; E, a
partner that ended; F, forwarded-to; S, a stranger; R, a partner again: it was listed
like P, held a `share` grant and forwarded the resource to its partner D, then A ended
the partnership and R and A partnered again, which gives back nothing the end took
away (R and D are told 404 like any school the resource is not shared with). The
resource has visibility `selected` (shared with P). The confidential twin was
"forwarded" in the database, as a confidential resource cannot be: the forward must
carry nothing.
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from sqlalchemy import select, update

from exchange.models import (
    Activity,
    Forward,
    Grant,
    PartnerQuestion,
    Partnership,
    ResourceShare,
    ResourceVersion,
    ReuseRequest,
)
from exchange.notifications.service import notify_members
from tests.actors import PASSWORD, Actor
from tests.background import run_previews
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, QuickSchool, ground, upload
from tests.pages import Visitor, csrf_token_in

# On SQLite and PostgreSQL: the rules of the code of conduct are SQL (policy filters and checks).
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

ROLES = ("anonymous", "teacher", "author", "admin")
RELATIONS = (
    "own",
    "listed_partner",
    "unlisted_partner",
    "invited",
    "ended_partner",
    "forwarded_to",
    "stranger",
    "partner_again",
    "forwarded_before_the_end",
)

# An expectation: a status for every cell; or per relation; a (ordinary, confidential)
# pair where confidentiality changes the answer; a {role: ...} dict where the role does.
Outcome = int | tuple[int, int]
ByRole = Outcome | dict[str, Outcome]
Row = ByRole | dict[str, ByRole]

NOT_FOUND_ELSEWHERE = {
    "unlisted_partner": 404,
    "invited": 404,
    "ended_partner": 404,
    "stranger": 404,
    "partner_again": 404,
    "forwarded_before_the_end": 404,
}
# Read anything about the resource: its school and whoever it is shared with; the
# forwarded-to school while the forward stands (never for a confidential one).
READ: Row = {"own": 200, "listed_partner": 200, "forwarded_to": (200, 404), **NOT_FOUND_ELSEWHERE}
# Change it: an author or an admin of the owner school; other readers see it (403).
EDIT = {"teacher": 403, "author": 200, "admin": 200}
OWNER_EDITS = {
    "own": EDIT,
    "listed_partner": 403,
    "forwarded_to": (403, 404),
    **NOT_FOUND_ELSEWHERE,
}
THIRD_SCHOOLS = {r: 404 for r in RELATIONS if r not in {"own", "listed_partner"}}
NOT_INVITED = {r: 404 for r in RELATIONS if r not in {"own", "invited"}}
DECIDER_SEES = {"teacher": 404, "author": 200, "admin": 200}
ADMINS_ONLY = {"teacher": 403, "author": 403}

TABLE: dict[str, Row] = {
    # --- health and accounts: the resource does not matter -------------------------
    "healthLive": 200,
    "healthReady": 200,
    "signIn": 200,
    "signOut": 204,
    "getMe": 200,
    "listMembers": 200,
    "addMember": {**ADMINS_ONLY, "admin": 201},
    # The target member belongs to the owner school.
    "getMember": {"own": 200, "listed_partner": 404, "forwarded_to": 404, **NOT_FOUND_ELSEWHERE},
    "disableMember": {
        "own": {**ADMINS_ONLY, "admin": 200},
        **{r: {**ADMINS_ONLY, "admin": 404} for r in RELATIONS if r != "own"},
    },
    "enableMember": {
        "own": {**ADMINS_ONLY, "admin": 200},
        **{r: {**ADMINS_ONLY, "admin": 404} for r in RELATIONS if r != "own"},
    },
    "updateMe": 200,
    # One's own password (a member of the caller's school with the caller's role).
    "changeMyPassword": 204,
    # A link is its own authority: whoever holds it sets the password.
    "setPasswordWithLink": 204,
    "resetMemberPassword": {
        "own": {**ADMINS_ONLY, "admin": 201},
        **{r: {**ADMINS_ONLY, "admin": 404} for r in RELATIONS if r != "own"},
    },
    "updateMember": {
        "own": {**ADMINS_ONLY, "admin": 200},
        **{r: {**ADMINS_ONLY, "admin": 404} for r in RELATIONS if r != "own"},
    },
    # --- schools and partnerships: the resource does not matter; the partnership
    # acted on is one of the owner school A's -----------------------------------------
    "listSchools": 200,
    "getSchool": 200,  # the directory: any school's published profile
    "getOwnSchool": 200,
    "getSelfAssessmentQuestions": 200,
    "suggestPartners": 200,
    "updateOwnSchoolProfile": {"teacher": 403, "author": 403, "admin": 200},
    "listPartnerships": 200,
    # A–P: both sides read it and its letter; their admins change it; third schools 404.
    "getPartnership": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "downloadInvitationLetter": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "updatePartnership": {
        "own": {**ADMINS_ONLY, "admin": 200},
        "listed_partner": {**ADMINS_ONLY, "admin": 200},
        **THIRD_SCHOOLS,
    },
    # A fresh invitation from A to I: the invited side accepts or declines, the inviting
    # side withdraws.
    "acceptPartnership": {"own": 403, "invited": {**ADMINS_ONLY, "admin": 200}, **NOT_INVITED},
    "declinePartnership": {"own": 403, "invited": {**ADMINS_ONLY, "admin": 200}, **NOT_INVITED},
    "withdrawPartnership": {"own": {**ADMINS_ONLY, "admin": 200}, "invited": 403, **NOT_INVITED},
    # The same, 31 days unanswered: the inviting side's admin reminds the invited school.
    "remindPartnership": {"own": {**ADMINS_ONLY, "admin": 200}, "invited": 403, **NOT_INVITED},
    # A fresh active A–U partnership: either side's admin ends it.
    "endPartnership": {
        "own": {**ADMINS_ONLY, "admin": 200},
        "unlisted_partner": {**ADMINS_ONLY, "admin": 200},
        **{r: 404 for r in RELATIONS if r not in {"own", "unlisted_partner"}},
    },
    # The caller's school invites A: not itself, not while a partnership is open.
    "invitePartner": {
        "own": {**ADMINS_ONLY, "admin": 422},
        "listed_partner": {**ADMINS_ONLY, "admin": 409},
        "unlisted_partner": {**ADMINS_ONLY, "admin": 409},
        "invited": {**ADMINS_ONLY, "admin": 409},
        "ended_partner": {**ADMINS_ONLY, "admin": 201},
        "forwarded_to": {**ADMINS_ONLY, "admin": 201},
        "stranger": {**ADMINS_ONLY, "admin": 201},
        "partner_again": {**ADMINS_ONLY, "admin": 409},
        "forwarded_before_the_end": {**ADMINS_ONLY, "admin": 201},
    },
    "getCodeOfConduct": 200,
    "getCodeOfConductVersion": 200,
    # --- partnership life: an activity of A–P that names A's author responsible ---------
    # Both schools read; their admins and its responsible members plan, change, close and
    # evaluate it; a teacher not responsible for it is refused (403); third schools 404.
    "listActivities": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "getActivity": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "planActivity": {
        "own": {**ADMINS_ONLY, "admin": 201},
        "listed_partner": {**ADMINS_ONLY, "admin": 201},
        **THIRD_SCHOOLS,
    },
    "updateActivity": {
        "own": {"teacher": 403, "author": 200, "admin": 200},
        "listed_partner": {**ADMINS_ONLY, "admin": 200},
        **THIRD_SCHOOLS,
    },
    "markActivityDone": {
        "own": {"teacher": 403, "author": 200, "admin": 200},
        "listed_partner": {**ADMINS_ONLY, "admin": 200},
        **THIRD_SCHOOLS,
    },
    "cancelActivity": {
        "own": {"teacher": 403, "author": 200, "admin": 200},
        "listed_partner": {**ADMINS_ONLY, "admin": 200},
        **THIRD_SCHOOLS,
    },
    "evaluateActivity": {
        "own": {"teacher": 403, "author": 201, "admin": 201},
        "listed_partner": {**ADMINS_ONLY, "admin": 201},
        **THIRD_SCHOOLS,
    },
    # The plan and its school-year summary (JSON and documents): both schools read them.
    "getPartnershipPlan": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "getPlanSummary": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "downloadPlanSummaryDocx": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "downloadPlanSummaryText": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    # --- the inbox: one's own only ------------------------------------------------------
    "listNotifications": 200,
    "markAllNotificationsRead": 200,
    # A notification in A's admin's inbox.
    "markNotificationRead": {
        "own": {"teacher": 404, "author": 404, "admin": 200},
        **{r: 404 for r in RELATIONS if r != "own"},
    },
    # --- the resource itself --------------------------------------------------------
    "getResource": READ,
    # Search answers 200 to everyone; the cell records whether the resource is among
    # the results (200) or not (404), so search is held to the same rule as a read.
    "searchResources": READ,
    "listResourceVersions": READ,
    "downloadResource": READ,
    "downloadResourceVersion": READ,
    "describeResourceContent": READ,
    "describeResourceVersionContent": READ,
    # The preview of a file: under the file's read rule (its preview is made first).
    "getResourcePreview": READ,
    "getResourceVersionPreview": READ,
    "updateResource": OWNER_EDITS,
    "deleteResource": {**OWNER_EDITS, "own": {"teacher": 403, "author": 204, "admin": 204}},
    "uploadResourceVersion": {**OWNER_EDITS, "own": {"teacher": 403, "author": 201, "admin": 201}},
    # --- resumable uploads: a new version as the form's; the upload its creator's alone ---
    "describeUploads": 204,
    "createUpload": {**OWNER_EDITS, "own": {"teacher": 403, "author": 201, "admin": 201}},
    # An upload the author began: only the author sees or continues it.
    "describeUploadOffset": {
        "own": {"teacher": 404, "author": 200, "admin": 404},
        **{r: 404 for r in RELATIONS if r != "own"},
    },
    "getUpload": {
        "own": {"teacher": 404, "author": 200, "admin": 404},
        **{r: 404 for r in RELATIONS if r != "own"},
    },
    "appendToUpload": {
        "own": {"teacher": 404, "author": 204, "admin": 404},
        **{r: 404 for r in RELATIONS if r != "own"},
    },
    "abandonUpload": {
        "own": {"teacher": 404, "author": 204, "admin": 404},
        **{r: 404 for r in RELATIONS if r != "own"},
    },
    # Upload adapting the resource (visibility `school`): rule 7 without an adapt grant.
    "uploadResource": {
        "own": 201,
        "listed_partner": 403,
        "forwarded_to": (403, 404),
        **NOT_FOUND_ELSEWHERE,
    },
    # --- reuse: requests, grants, forwards ------------------------------------------
    # Scope `publish`: the owner needs none (422); confidential refuses it (rule 6).
    "createReuseRequest": {
        "own": 422,
        "listed_partner": (201, 403),
        "forwarded_to": (201, 404),
        **NOT_FOUND_ELSEWHERE,
    },
    "listGrants": READ,
    # P's own grant: P sees it but only the owner side revokes.
    "revokeGrant": {
        "own": EDIT,
        "listed_partner": 403,
        "forwarded_to": 404,
        **NOT_FOUND_ELSEWHERE,
    },
    # P holds a share grant and forwards to its partner G; F holds none (rule 7).
    "forwardResource": {
        "own": 422,
        "listed_partner": (201, 403),
        "forwarded_to": (403, 404),
        **NOT_FOUND_ELSEWHERE,
    },
    "listForwards": READ,
    "getDownloadReport": OWNER_EDITS,
    "listReuseRequests": 200,
    # A request (adapt) by P's teacher: seen by the deciders and the requesting side.
    "getReuseRequest": {
        "own": DECIDER_SEES,
        "listed_partner": 200,
        "forwarded_to": 404,
        **NOT_FOUND_ELSEWHERE,
    },
    "decideReuseRequest": {
        "own": DECIDER_SEES,
        "listed_partner": 403,
        "forwarded_to": 404,
        **NOT_FOUND_ELSEWHERE,
    },
    "withdrawReuseRequest": {
        "own": {"teacher": 404, "author": 403, "admin": 403},
        "listed_partner": 200,
        "forwarded_to": 404,
        **NOT_FOUND_ELSEWHERE,
    },
    # --- audit and dashboard --------------------------------------------------------
    "listAuditEvents": {
        "own": {**ADMINS_ONLY, "admin": 200},
        "listed_partner": 404,
        "forwarded_to": 404,
        **NOT_FOUND_ELSEWHERE,
    },
    "getDashboard": 200,
    "markDashboardSeen": 200,
    # --- questions between partners: the partnership A–P, any member of either school;
    # P's question to A (A answers); every other school 404 -------------------------------
    "askPartnerQuestion": {"own": 201, "listed_partner": 201, **THIRD_SCHOOLS},
    "listPartnerQuestions": 200,
    "getPartnerQuestion": {"own": 200, "listed_partner": 200, **THIRD_SCHOOLS},
    "answerPartnerQuestion": {"own": 201, "listed_partner": 403, **THIRD_SCHOOLS},
    # --- the calendar feed: every member turns their own on and off; the address of A's
    # admin's feed is its own key, read by whoever holds it (a calendar app sends nothing)
    "turnOnCalendarFeed": 201,
    "revokeCalendarFeed": 204,
    "readCalendarFeed": 200,
    # --- schools not on the exchange yet: the handbook's entries are every member's to
    # read; admins invite by e-mail; a registration link is its own authority; a claim
    # link goes only to the entry's own address, and this exchange sends no mail, so a
    # claim is refused plainly (409) to anyone, a visitor too -----------------------------
    "listDirectoryEntries": 200,
    "getDirectoryEntry": 200,
    "inviteSchoolByEmail": {**ADMINS_ONLY, "admin": 201},
    "listEmailInvitations": {**ADMINS_ONLY, "admin": 200},
    "claimDirectoryEntry": 409,
    # An admin asks to make an entry the school's: the same refusal without mail.
    "claimDirectoryEntryForMySchool": {**ADMINS_ONLY, "admin": 409},
    "confirmDirectoryEntryClaim": 200,
    "readRegistrationLink": 200,
    "registerSchool": 201,
}

# Without a token everything is 401 except these.
ANONYMOUS = {
    "healthLive": 200,
    "healthReady": 200,
    "signIn": 200,
    "setPasswordWithLink": 204,
    "getCodeOfConduct": 200,
    "getCodeOfConductVersion": 200,
    "describeUploads": 204,
    "readCalendarFeed": 200,
    "claimDirectoryEntry": 409,
    "confirmDirectoryEntryClaim": 200,
    "readRegistrationLink": 200,
    "registerSchool": 201,
}


def expected(operation: str, role: str, relation: str, confidential: bool) -> int:
    if role == "anonymous":
        return ANONYMOUS.get(operation, 401)
    row: Any = TABLE[operation]
    if isinstance(row, dict) and set(row) <= set(RELATIONS):
        row = row[relation]
    if isinstance(row, dict):
        row = row[role]
    if isinstance(row, tuple):
        row = row[1] if confidential else row[0]
    assert isinstance(row, int)
    return row


# --- the world ---------------------------------------------------------------------------


class Anonymous(Actor):
    @property
    def headers(self) -> dict[str, str]:
        return {}


@dataclass
class World:
    ground: Ground
    schools: dict[str, QuickSchool]
    actors: dict[tuple[str, str], Actor]
    anonymous: Anonymous
    g: QuickSchool  # a partner of P that cannot read the resource: P forwards to it
    a_p: UUID  # the partnership A–P
    a_admin_notification: UUID  # one notification in A's admin's inbox
    resources: dict[bool, UUID] = field(default_factory=dict)
    requests: dict[bool, UUID] = field(default_factory=dict)

    @property
    def a(self) -> QuickSchool:
        return self.schools["own"]

    @property
    def p(self) -> QuickSchool:
        return self.schools["listed_partner"]

    def actor(self, relation: str, role: str) -> Actor:
        if role == "anonymous":
            return self.anonymous
        return self.actors[(relation, role)]


async def build_world(ground: Ground) -> World:
    schools = {
        relation: await ground.school(f"{relation} school".replace("_", " ").capitalize())
        for relation in RELATIONS
    }
    a, p = schools["own"], schools["listed_partner"]
    a_p = await ground.partnership(a, p)
    await ground.partnership(schools["unlisted_partner"], a)
    await ground.partnership(a, schools["invited"], status="invited")
    await ground.partnership(schools["ended_partner"], a, status="ended")
    await ground.partnership(p, schools["forwarded_to"])
    g = await ground.school("G school")
    await ground.partnership(p, g)
    actors: dict[tuple[str, str], Actor] = {}
    for relation, school in schools.items():
        actors[(relation, "admin")] = school.admin
        actors[(relation, "teacher")] = await school.teacher()
        # Authors are members of the owner school; elsewhere "author" is a teacher.
        actors[(relation, "author")] = (
            await school.teacher("Aida Author")
            if relation == "own"
            else actors[(relation, "teacher")]
        )
    anonymous = Anonymous(ground.client, a.id, a.admin.member_id, "", "anonymous", "")
    async with ground.session() as session:
        (notice,) = await notify_members(
            session,
            ground.clock,
            member_ids=[a.admin.member_id],
            kind="test.notice",
            subject_type="school",
            subject_id=a.id,
            payload={"message": "Welcome to the exchange."},
        )
        await session.commit()
        notification_id = notice.id
    world = World(ground, schools, actors, anonymous, g, a_p, notification_id)
    r, d = schools["partner_again"], schools["forwarded_before_the_end"]
    a_r = await ground.partnership(a, r)
    await ground.partnership(r, d)
    for confidential in (False, True):
        world.resources[confidential] = await new_resource(world, confidential)
        world.requests[confidential] = await new_request(world, world.resources[confidential])
        await rest_on_the_partnership(world, world.resources[confidential], r, d)
    await ground.end_partnership(a_r)
    await ground.partnership(r, a)
    return world


@dataclass
class KeptWorld:
    """A world as built, with the moment it was built at and a copy of its stored files."""

    world: World
    built_at: datetime
    files: Path

    def on(self, ground: Ground) -> World:
        """The world for a test of its own: its actors speak through that test's client."""

        def rebound(actor: Actor) -> Actor:
            return replace(actor, client=ground.client)

        world = self.world
        return replace(
            world,
            ground=ground,
            schools={
                relation: replace(school, ground=ground, admin=rebound(school.admin))
                for relation, school in world.schools.items()
            },
            actors={key: rebound(actor) for key, actor in world.actors.items()},
            anonymous=rebound(world.anonymous),
            g=replace(world.g, ground=ground, admin=rebound(world.g.admin)),
            resources=dict(world.resources),
            requests=dict(world.requests),
        )


# The world each test process built, by database: building it takes nine schools, their
# members, partnerships, two uploads and their grants and forwards; bringing its rows and
# files back takes a few milliseconds.
_KEPT_WORLDS: dict[str, KeptWorld] = {}


@pytest.fixture
async def world(
    ground: Ground, backend: str, request: pytest.FixtureRequest, tmp_path_factory: Any
) -> World:
    """The world, as `build_world` leaves it, for every test: built in the first test on
    its database, then brought back (its rows, its files and the clock's moment) before
    each of the others, so no cell sees what another test's cells did."""
    database = request.getfixturevalue(f"{backend}_database")
    files = ground.settings.data_dir / "files"
    kept = _KEPT_WORLDS.get(database.url)
    if kept is None:
        built_at = ground.clock.now()
        world = await build_world(ground)
        database.keep("world")
        copy = tmp_path_factory.mktemp("matrix-files") / "files"
        shutil.copytree(files, copy)
        _KEPT_WORLDS[database.url] = KeptWorld(world, built_at, copy)
        # A copy, as every later test gets: a test that points the world at another
        # resource must not change what the kept world names.
        return _KEPT_WORLDS[database.url].on(ground)
    database.bring_back("world")
    shutil.rmtree(files, ignore_errors=True)
    shutil.copytree(kept.files, files)
    assert isinstance(ground.clock, ManualClock)
    ground.clock.set(kept.built_at)
    return kept.on(ground)


async def rest_on_the_partnership(
    world: World, resource_id: UUID, r: QuickSchool, d: QuickSchool
) -> None:
    """R named in `shared_with`, holding a `share` grant and having forwarded it to D."""
    async with world.ground.session() as session:
        session.add(ResourceShare(resource_id=resource_id, school_id=r.id))
        grant = Grant(resource_id=resource_id, school_id=r.id, scope="share", source="request")
        session.add(grant)
        await session.flush()
        session.add(
            Forward(
                resource_id=resource_id,
                from_school_id=r.id,
                to_school_id=d.id,
                grant_id=grant.id,
                forwarded_by_id=r.admin.member_id,
            )
        )
        await session.commit()


async def new_resource(world: World, confidential: bool) -> UUID:
    """A resource of A shared with P, with P's share grant and P's forward to F."""
    ground, p = world.ground, world.p
    author = world.actor("own", "author")
    response = await upload(
        author,
        title="Assessment policy" if confidential else "Fractions lesson",
        kind="policy" if confidential else "lesson_plan",
        visibility="selected",
        shared_with=[p],
        confidential=confidential,
    )
    assert response.status_code == 201, response.text
    resource_id = UUID(response.json()["id"])
    async with ground.session() as session:
        grant = Grant(resource_id=resource_id, school_id=p.id, scope="share", source="request")
        session.add(grant)
        await session.flush()
        session.add(
            Forward(
                resource_id=resource_id,
                from_school_id=p.id,
                to_school_id=world.schools["forwarded_to"].id,
                grant_id=grant.id,
                forwarded_by_id=p.admin.member_id,
            )
        )
        await session.commit()
    return resource_id


async def new_request(world: World, resource_id: UUID) -> UUID:
    """A fresh pending `adapt` request by P's teacher (any earlier pending one withdrawn)."""
    ground = world.ground
    requester = world.actor("listed_partner", "teacher")
    key = f"{resource_id}:{requester.school_id}:adapt"
    async with ground.session() as session:
        await session.execute(
            update(ReuseRequest)
            .where(ReuseRequest.pending_key == key)
            .values(status="withdrawn", pending_key=None)
        )
        request = ReuseRequest(
            resource_id=resource_id,
            requesting_school_id=requester.school_id,
            requested_by_id=requester.member_id,
            scope="adapt",
            purpose="Our grade 5",
            audience="Our pupils",
            status="pending",
            pending_key=key,
            respond_by=ground.clock.now(),
        )
        session.add(request)
        await session.commit()
        return request.id


async def new_grant(world: World, resource_id: UUID) -> UUID:
    async with world.ground.session() as session:
        grant = Grant(resource_id=resource_id, school_id=world.p.id, scope="publish")
        session.add(grant)
        await session.commit()
        return grant.id


async def new_member(world: World) -> UUID:
    return (await world.ground.member(world.a, "teacher")).member_id


async def fresh_token(world: World, actor: Actor) -> Actor:
    """The same member signed in again: signing out must not end the test's session."""
    from datetime import timedelta

    from exchange.accounts.identity import new_token, token_digest
    from exchange.models import AccessToken

    if isinstance(actor, Anonymous):
        return actor
    token = new_token()
    async with world.ground.session() as session:
        session.add(
            AccessToken(
                member_id=actor.member_id,
                token_hash=token_digest(token),
                expires_at=world.ground.clock.now() + timedelta(days=1),
            )
        )
        await session.commit()
    return Actor(actor.client, actor.school_id, actor.member_id, actor.email, actor.role, token)


# --- one action per operation ----------------------------------------------------------

Action = Callable[[World, Actor, bool], Awaitable[Any]]


def _r(world: World, confidential: bool) -> UUID:
    return world.resources[confidential]


async def _sign_in(world: World, actor: Actor, confidential: bool) -> Any:
    who = world.actor("own", "teacher") if isinstance(actor, Anonymous) else actor
    return await world.ground.client.post(
        "/api/auth/token", json={"email": who.email, "password": PASSWORD}
    )


async def _upload_derived(world: World, actor: Actor, confidential: bool) -> Any:
    return await upload(
        actor, title="Adapted", visibility="school", derived_from=_r(world, confidential)
    )


async def _delete(world: World, actor: Actor, confidential: bool) -> Any:
    doomed = await new_resource(world, confidential)
    return await actor.delete(f"/api/resources/{doomed}")


async def _request(world: World, actor: Actor, confidential: bool) -> Any:
    response = await actor.post(
        f"/api/resources/{_r(world, confidential)}/reuse-requests",
        json={"scope": "publish", "purpose": "A print run", "audience": "The district"},
    )
    if response.status_code == 201:  # the next cell of the same school asks afresh
        await actor.post(f"/api/reuse-requests/{response.json()['id']}/withdraw")
    return response


async def _decide(world: World, actor: Actor, confidential: bool) -> Any:
    request_id = await new_request(world, _r(world, confidential))
    return await actor.post(
        f"/api/reuse-requests/{request_id}/decision", json={"decision": "approve"}
    )


async def _withdraw(world: World, actor: Actor, confidential: bool) -> Any:
    request_id = await new_request(world, _r(world, confidential))
    return await actor.post(f"/api/reuse-requests/{request_id}/withdraw")


async def _revoke(world: World, actor: Actor, confidential: bool) -> Any:
    resource_id = _r(world, confidential)
    grant_id = await new_grant(world, resource_id)
    return await actor.post(f"/api/resources/{resource_id}/grants/{grant_id}/revoke")


async def _forward(world: World, actor: Actor, confidential: bool) -> Any:
    resource_id = _r(world, confidential)
    response = await actor.post(
        f"/api/resources/{resource_id}/forward", json={"school_id": str(world.g.id)}
    )
    if response.status_code == 201:  # undo, so that the next cell may forward too
        async with world.ground.session() as session:
            await session.execute(
                update(Forward)
                .where(Forward.id == UUID(response.json()["id"]))
                .values(cut_at=world.ground.clock.now())
            )
            await session.commit()
    return response


@dataclass
class Seen:
    """What a list showed, in the shape of an answer: 200 found, 404 not among them."""

    status_code: int
    text: str


async def _search(world: World, actor: Actor, confidential: bool) -> Any:
    response = await actor.get("/api/resources", params={"school_id": str(world.a.id)})
    if response.status_code != 200:
        return response
    found = {item["id"] for item in response.json()["items"]}
    listed = str(_r(world, confidential)) in found
    return Seen(200 if listed else 404, f"results: {sorted(found)}")


async def _sign_out(world: World, actor: Actor, confidential: bool) -> Any:
    return await (await fresh_token(world, actor)).delete("/api/auth/token")


async def _add_member(world: World, actor: Actor, confidential: bool) -> Any:
    import uuid as _uuid

    return await actor.post(
        "/api/members",
        json={
            "email": f"new-{_uuid.uuid4().hex[:10]}@school.kg",
            "password": PASSWORD,
            "full_name": "New Teacher",
            "role": "teacher",
        },
    )


async def _disable(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(f"/api/members/{await new_member(world)}/disable")


async def _enable(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(f"/api/members/{await new_member(world)}/enable")


async def _update_member(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.patch(
        f"/api/members/{await new_member(world)}", json={"full_name": "Renamed Teacher"}
    )


async def _reset_password(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(f"/api/members/{await new_member(world)}/password-reset")


async def _change_my_password(world: World, actor: Actor, confidential: bool) -> Any:
    """The change ends the member's other sign-ins, so a member like the caller changes it."""
    if isinstance(actor, Anonymous):
        member = actor
    else:
        role = "admin" if actor.role == "admin" else "teacher"
        member = await world.ground.member(actor.school_id, role)
    return await member.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )


async def _set_password_with_link(world: World, actor: Actor, confidential: bool) -> Any:
    from datetime import timedelta

    from exchange.accounts.identity import new_token, token_digest
    from exchange.models import PasswordLink

    member = await new_member(world)
    token = new_token()
    async with world.ground.session() as session:
        session.add(
            PasswordLink(
                member_id=member,
                token_hash=token_digest(token),
                purpose="reset",
                expires_at=world.ground.clock.now() + timedelta(days=1),
            )
        )
        await session.commit()
    return await actor.post(
        "/api/auth/set-password", json={"token": token, "new_password": "a brand new passphrase"}
    )


TUS = {"Tus-Resumable": "1.0.0"}


def _tus_metadata(**fields: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in fields.items()
    )


def _on_upload(method: str, **kwargs: Any) -> Action:
    """`method` on a fresh upload of a new version the resource's author began."""

    async def action(world: World, actor: Actor, confidential: bool) -> Any:
        author = world.actor("own", "author")
        created = await author.post(
            "/api/uploads",
            headers={
                **TUS,
                "Upload-Length": "100",
                "Upload-Metadata": _tus_metadata(
                    filename="plan-v2.txt", resource_id=str(_r(world, confidential))
                ),
            },
        )
        assert created.status_code == 201, created.text
        headers = {**TUS, **kwargs.get("headers", {})}
        extra = {k: v for k, v in kwargs.items() if k != "headers"}
        return await actor.request(method, created.headers["location"], headers=headers, **extra)

    return action


def _get(path: str, method: str = "GET") -> Action:
    async def action(world: World, actor: Actor, confidential: bool) -> Any:
        return await actor.request(
            method,
            path.format(
                r=_r(world, confidential),
                req=world.requests[confidential],
                member=world.actor("own", "teacher").member_id,
                school=world.a.id,
                a_p=world.a_p,
            ),
        )

    return action


async def new_question(world: World) -> UUID:
    """A fresh question of P's admin to A on the partnership A–P."""
    async with world.ground.session() as session:
        question = PartnerQuestion(
            partnership_id=world.a_p,
            asking_school_id=world.p.id,
            answering_school_id=world.a.id,
            asked_by_id=world.p.admin.member_id,
            question="How do you help students who fall behind in maths?",
            respond_by=world.ground.clock.now(),
        )
        session.add(question)
        await session.commit()
        return question.id


async def _ask(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(
        f"/api/partnerships/{world.a_p}/questions", json={"question": "Do you teach in Kyrgyz?"}
    )


async def _get_question(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.get(f"/api/questions/{await new_question(world)}")


async def _answer(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(
        f"/api/questions/{await new_question(world)}/answers",
        json={"answer": "We run catch-up groups.", "resource_ids": []},
    )


GOALS = ["Improve assessment of students' achievement in Kyrgyz language lessons"]


async def fresh_partnership(world: World, other: str, status: str) -> UUID:
    """A new partnership between A (inviting) and `other`, after closing any open one."""
    other_id = world.schools[other].id
    pair = ":".join(sorted([str(world.a.id), str(other_id)]))
    async with world.ground.session() as session:
        await session.execute(
            update(Partnership)
            .where(Partnership.open_pair == pair)
            .values(status="ended", open_pair=None)
        )
        await session.commit()
    return await world.ground.partnership(world.a, other_id, status=status)


def _move(move: str, other: str, status: str) -> Action:
    async def action(world: World, actor: Actor, confidential: bool) -> Any:
        partnership_id = await fresh_partnership(world, other, status)
        return await actor.post(f"/api/partnerships/{partnership_id}/{move}")

    return action


async def _remind(world: World, actor: Actor, confidential: bool) -> Any:
    partnership_id = await fresh_partnership(world, "invited", "invited")
    async with world.ground.session() as session:
        await session.execute(
            update(Partnership)
            .where(Partnership.id == partnership_id)
            .values(invited_at=world.ground.clock.now() - timedelta(days=31))
        )
        await session.commit()
    return await actor.post(f"/api/partnerships/{partnership_id}/remind")


async def _invite(world: World, actor: Actor, confidential: bool) -> Any:
    response = await actor.post(
        "/api/partnerships",
        json={"partner_school_id": str(world.a.id), "goals": GOALS, "language": "ky"},
    )
    if response.status_code == 201:  # withdraw it, so that the next cell may invite again
        await actor.post(f"/api/partnerships/{response.json()['id']}/withdraw")
    return response


async def _update_partnership(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.patch(f"/api/partnerships/{world.a_p}", json={"goals": GOALS})


async def _update_profile(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.put(
        "/api/schools/me/profile",
        json={"region": "Osh", "locality": "rural", "offers": "Strong maths teachers"},
    )


def _preview(path: str) -> Action:
    """A GET of a preview, once the preview jobs of the world's uploads have run."""
    read = _get(path)

    async def action(world: World, actor: Actor, confidential: bool) -> Any:
        async with world.ground.session() as session:
            state = await session.scalar(
                select(ResourceVersion.preview_state).where(
                    ResourceVersion.resource_id == _r(world, confidential)
                )
            )
        if state == "pending":
            assert await run_previews(world.ground.client.app) > 0
        return await read(world, actor, confidential)

    return action


async def fresh_activity(world: World, status: str = "planned") -> UUID:
    """A new activity of A–P (with no goals) naming A's author responsible."""
    async with world.ground.session() as session:
        activity = Activity(
            partnership_id=world.a_p,
            kind="meeting",
            title="First meeting",
            description="",
            starts_on=date(2027, 2, 10),
            ends_on=date(2027, 2, 10),
            host_school_id=world.a.id,
            goals=[],
            responsible_member_ids=[str(world.actor("own", "author").member_id)],
            cover_arrangements="",
            resource_ids=[],
            tasks=[],
            status=status,
        )
        session.add(activity)
        await session.commit()
        return activity.id


def _on_activity(method: str, suffix: str = "", status: str = "planned", **body: Any) -> Action:
    async def action(world: World, actor: Actor, confidential: bool) -> Any:
        activity = await fresh_activity(world, status)
        kwargs = {"json": body} if body else {}
        return await actor.request(method, f"/api/activities/{activity}{suffix}", **kwargs)

    return action


async def _list_activities(world: World, actor: Actor, confidential: bool) -> Any:
    await fresh_activity(world)
    return await actor.get(f"/api/partnerships/{world.a_p}/activities")


async def _plan_activity(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(
        f"/api/partnerships/{world.a_p}/activities",
        json={"kind": "open_day", "title": "Open day", "starts_on": "2027-04-01"},
    )


async def _read_calendar_feed(world: World, actor: Actor, confidential: bool) -> Any:
    turned_on = await world.actor("own", "admin").post("/api/me/calendar-feed")
    assert turned_on.status_code == 201, turned_on.text
    return await actor.get(urlsplit(turned_on.json()["url"]).path)


async def fresh_entry(world: World) -> UUID:
    """An unclaimed school of the handbook's list, with an address of its own."""
    from exchange.models import DirectoryEntry

    key = uuid4().hex
    async with world.ground.session() as session:
        entry = DirectoryEntry(
            key=key,
            kind="school",
            name=f"Handbook school {key[:6]}",
            texts={"town": {"ky": "Бишкек", "ru": "Бишкек", "en": "Bishkek"}},
            town_key="bishkek",
            contact_email=f"office@{key}.kg",
            search_text="",
        )
        session.add(entry)
        await session.commit()
        return entry.id


async def fresh_registration_link(world: World) -> str:
    """A link inviting a school by name, as A's admin sends one; its token."""
    from datetime import timedelta

    from exchange.accounts.identity import new_token, token_digest
    from exchange.models import RegistrationLink

    token = new_token()
    async with world.ground.session() as session:
        session.add(
            RegistrationLink(
                token_hash=token_digest(token),
                purpose="invitation",
                email=f"director@{uuid4().hex}.kg",
                school_name="A school invited by e-mail",
                inviting_school_id=world.a.id,
                invited_by_id=world.actor("own", "admin").member_id,
                terms={"goals": GOALS, "characteristics": ["local"], "language": "ky"},
                language="ky",
                expires_at=world.ground.clock.now() + timedelta(days=1),
            )
        )
        await session.commit()
    return token


async def _get_entry(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.get(f"/api/directory/entries/{await fresh_entry(world)}")


async def _invite_by_email(world: World, actor: Actor, confidential: bool) -> Any:
    return await actor.post(
        "/api/directory/invitations",
        json={
            "entry_id": str(await fresh_entry(world)),
            "email": f"director@{uuid4().hex}.kg",
            "goals": GOALS,
            "language": "ru",
        },
    )


async def _claim_entry(world: World, actor: Actor, confidential: bool) -> Any:
    entry_id = await fresh_entry(world)
    async with world.ground.session() as session:
        from exchange.models import DirectoryEntry

        email = (await session.get_one(DirectoryEntry, entry_id)).contact_email
    return await actor.post(f"/api/directory/entries/{entry_id}/claim", json={"email": email})


async def _claim_for_my_school(world: World, actor: Actor, confidential: bool) -> Any:
    from exchange.models import DirectoryEntry

    entry_id = await fresh_entry(world)
    async with world.ground.session() as session:
        email = (await session.get_one(DirectoryEntry, entry_id)).contact_email
    return await actor.post(f"/api/directory/entries/{entry_id}/claims", json={"email": email})


async def _confirm_claim(world: World, actor: Actor, confidential: bool) -> Any:
    """A link A's admin asked for, to make a fresh entry A's, opened by whoever holds it."""
    from datetime import timedelta

    from exchange.accounts.identity import new_token, token_digest
    from exchange.models import RegistrationLink

    entry_id = await fresh_entry(world)
    token = new_token()
    async with world.ground.session() as session:
        session.add(
            RegistrationLink(
                token_hash=token_digest(token),
                purpose="attach",
                email="office@example.kg",
                school_name="Handbook school",
                entry_id=entry_id,
                school_id=world.a.id,
                terms={},
                language="ky",
                expires_at=world.ground.clock.now() + timedelta(days=1),
            )
        )
        await session.commit()
    return await actor.post("/api/directory/claims/confirm", json={"token": token})


async def _read_registration_link(world: World, actor: Actor, confidential: bool) -> Any:
    token = await fresh_registration_link(world)
    return await actor.post("/api/directory/registration", json={"token": token})


async def _register_school(world: World, actor: Actor, confidential: bool) -> Any:
    token = await fresh_registration_link(world)
    return await actor.post(
        "/api/directory/registrations",
        json={"token": token, "full_name": "Айгүл Асанова", "password": "a long passphrase"},
    )


ACTIONS: dict[str, Action] = {
    "listDirectoryEntries": _get("/api/directory/entries?q=school"),
    "getDirectoryEntry": _get_entry,
    "inviteSchoolByEmail": _invite_by_email,
    "listEmailInvitations": _get("/api/directory/invitations"),
    "claimDirectoryEntry": _claim_entry,
    "claimDirectoryEntryForMySchool": _claim_for_my_school,
    "confirmDirectoryEntryClaim": _confirm_claim,
    "readRegistrationLink": _read_registration_link,
    "registerSchool": _register_school,
    "healthLive": _get("/health/live"),
    "healthReady": _get("/health/ready"),
    "signIn": _sign_in,
    "signOut": _sign_out,
    "getMe": _get("/api/me"),
    "listMembers": _get("/api/members"),
    "addMember": _add_member,
    "getMember": _get("/api/members/{member}"),
    "disableMember": _disable,
    "enableMember": _enable,
    "updateMe": lambda w, a, c: a.patch("/api/me", json={"position": "Class teacher"}),
    "updateMember": _update_member,
    "changeMyPassword": _change_my_password,
    "setPasswordWithLink": _set_password_with_link,
    "resetMemberPassword": _reset_password,
    "getResource": _get("/api/resources/{r}"),
    "searchResources": _search,
    "listResourceVersions": _get("/api/resources/{r}/versions"),
    "downloadResource": _get("/api/resources/{r}/content"),
    "downloadResourceVersion": _get("/api/resources/{r}/versions/1/content"),
    "describeResourceContent": _get("/api/resources/{r}/content", "HEAD"),
    "describeResourceVersionContent": _get("/api/resources/{r}/versions/1/content", "HEAD"),
    "getResourcePreview": _preview("/api/resources/{r}/preview"),
    "getResourceVersionPreview": _preview("/api/resources/{r}/versions/1/preview"),
    "updateResource": lambda w, a, c: a.patch(
        f"/api/resources/{_r(w, c)}", json={"title": "A better title"}
    ),
    "deleteResource": _delete,
    "uploadResourceVersion": lambda w, a, c: a.post(
        f"/api/resources/{_r(w, c)}/versions",
        files={"file": ("plan.txt", b"A second version.\n", "text/plain")},
    ),
    "uploadResource": _upload_derived,
    "describeUploads": lambda w, a, c: a.request("OPTIONS", "/api/uploads"),
    "createUpload": lambda w, a, c: a.post(
        "/api/uploads",
        headers={
            **TUS,
            "Upload-Length": "100",
            "Upload-Metadata": _tus_metadata(filename="plan-v2.txt", resource_id=str(_r(w, c))),
        },
    ),
    "describeUploadOffset": _on_upload("HEAD"),
    "getUpload": _on_upload("GET"),
    "appendToUpload": _on_upload(
        "PATCH",
        content=b"A second ",
        headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
    ),
    "abandonUpload": _on_upload("DELETE"),
    "createReuseRequest": _request,
    "listGrants": _get("/api/resources/{r}/grants"),
    "revokeGrant": _revoke,
    "forwardResource": _forward,
    "listForwards": _get("/api/resources/{r}/forwards"),
    "getDownloadReport": _get("/api/resources/{r}/downloads"),
    "listReuseRequests": _get("/api/reuse-requests?direction=incoming"),
    "getReuseRequest": _get("/api/reuse-requests/{req}"),
    "decideReuseRequest": _decide,
    "withdrawReuseRequest": _withdraw,
    "listAuditEvents": _get("/api/audit?resource_id={r}"),
    "getDashboard": _get("/api/dashboard"),
    "markDashboardSeen": lambda w, a, c: a.post(
        "/api/dashboard/seen", json={"seen_until": "2026-03-01T09:00:00Z"}
    ),
    "askPartnerQuestion": _ask,
    "listPartnerQuestions": _get("/api/questions?direction=incoming"),
    "getPartnerQuestion": _get_question,
    "answerPartnerQuestion": _answer,
    "listSchools": _get("/api/schools?q=school"),
    "getSchool": _get("/api/schools/{school}"),
    "getOwnSchool": _get("/api/schools/me"),
    "getSelfAssessmentQuestions": _get("/api/schools/self-assessment"),
    "suggestPartners": _get("/api/schools/suggestions"),
    "updateOwnSchoolProfile": _update_profile,
    "listPartnerships": _get("/api/partnerships"),
    "getPartnership": _get("/api/partnerships/{a_p}"),
    "downloadInvitationLetter": _get("/api/partnerships/{a_p}/letter"),
    "updatePartnership": _update_partnership,
    "acceptPartnership": _move("accept", "invited", "invited"),
    "declinePartnership": _move("decline", "invited", "invited"),
    "withdrawPartnership": _move("withdraw", "invited", "invited"),
    "remindPartnership": _remind,
    "endPartnership": _move("end", "unlisted_partner", "active"),
    "invitePartner": _invite,
    "listActivities": _list_activities,
    "planActivity": _plan_activity,
    "getActivity": _on_activity("GET"),
    "updateActivity": _on_activity("PATCH", title="Staff meeting"),
    "markActivityDone": _on_activity("POST", "/done"),
    "cancelActivity": _on_activity("POST", "/cancel"),
    "evaluateActivity": _on_activity(
        "POST",
        "/evaluations",
        status="done",
        went_well="The classes met.",
        to_change="Start earlier.",
        goal_progress={},
        **{"continue": True},
    ),
    "getPartnershipPlan": _get("/api/partnerships/{a_p}/plan"),
    "getPlanSummary": _get("/api/partnerships/{a_p}/plan/summary"),
    "downloadPlanSummaryDocx": _get("/api/partnerships/{a_p}/plan/summary.docx"),
    "downloadPlanSummaryText": _get("/api/partnerships/{a_p}/plan/summary.txt"),
    "turnOnCalendarFeed": lambda w, a, c: a.post("/api/me/calendar-feed"),
    "revokeCalendarFeed": lambda w, a, c: a.delete("/api/me/calendar-feed"),
    "readCalendarFeed": _read_calendar_feed,
    "getCodeOfConduct": _get("/api/code-of-conduct"),
    "getCodeOfConductVersion": _get("/api/code-of-conduct/1"),
    "listNotifications": _get("/api/notifications"),
    "markAllNotificationsRead": lambda w, a, c: a.post("/api/notifications/read-all"),
    "markNotificationRead": lambda w, a, c: a.post(
        f"/api/notifications/{w.a_admin_notification}/read"
    ),
}


def cells() -> list[tuple[str, str, bool]]:
    return [
        (role, relation, confidential)
        for confidential in (False, True)
        for relation in RELATIONS
        for role in ROLES
        if role != "author" or relation == "own"
    ]


def openapi_operations(app: Litestar) -> dict[str, str]:
    found: dict[str, str] = {}
    for path, item in (app.openapi_schema.paths or {}).items():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            operation = getattr(item, method, None)
            if operation is not None:
                assert operation.operation_id, f"{method.upper()} {path} has no operation_id"
                found[operation.operation_id] = f"{method.upper()} {path}"
    return found


# --- the tests ---------------------------------------------------------------------------


def test_every_route_in_the_openapi_document_is_in_the_table(app: Litestar) -> None:
    operations = openapi_operations(app)
    missing = {op: route for op, route in operations.items() if op not in TABLE}
    assert not missing, f"Routes without a row in the authorization matrix: {missing}"
    stale = set(TABLE) - set(operations)
    assert not stale, f"Rows for routes that no longer exist: {stale}"
    assert set(ACTIONS) == set(TABLE)


def test_the_table_gives_an_outcome_for_every_cell() -> None:
    for operation in TABLE:
        for role, relation, confidential in cells():
            assert expected(operation, role, relation, confidential) in {
                200,
                201,
                204,
                401,
                403,
                404,
                409,
                422,
            }


@pytest.mark.parametrize("operation", sorted(TABLE))
async def test_the_matrix(operation: str, world: World) -> None:
    mismatches = []
    for role, relation, confidential in cells():
        response = await ACTIONS[operation](world, world.actor(relation, role), confidential)
        want = expected(operation, role, relation, confidential)
        if response.status_code != want:
            mismatches.append(
                f"{role:9} {relation:16} {'confidential' if confidential else 'ordinary':12} "
                f"expected {want}, got {response.status_code}: {response.text[:160]}"
            )
    assert not mismatches, f"{operation}:\n" + "\n".join(mismatches)


# --- a student's work: the same rules while consent is on file, its school alone after ------

STUDENT_WORK_OPERATIONS = (
    "getResource",
    "searchResources",
    "listResourceVersions",
    "downloadResource",
    "describeResourceContent",
    "listGrants",
    "listForwards",
    "updateResource",
    "createReuseRequest",
    "forwardResource",
)


async def new_student_work(world: World) -> UUID:
    """A student's work of A with consent on file, shared like the ordinary resource: with
    P (which holds a share grant and forwarded it to F)."""
    author = world.actor("own", "author")
    response = await author.post(
        "/api/resources",
        data={
            "title": "Aibek's essay",
            "kind": "student_work",
            "visibility": "selected",
            "shared_with": str(world.p.id),
            "student_consent": "parents",
        },
        files={"file": ("essay.txt", b"My summer, by Aibek.\n", "text/plain")},
    )
    assert response.status_code == 201, response.text
    resource_id = UUID(response.json()["id"])
    async with world.ground.session() as session:
        grant = Grant(resource_id=resource_id, school_id=world.p.id, scope="share")
        session.add(grant)
        await session.flush()
        session.add(
            Forward(
                resource_id=resource_id,
                from_school_id=world.p.id,
                to_school_id=world.schools["forwarded_to"].id,
                grant_id=grant.id,
                forwarded_by_id=world.p.admin.member_id,
            )
        )
        await session.commit()
    return resource_id


async def _mismatches(world: World, consent: bool) -> list[str]:
    found = []
    for operation in STUDENT_WORK_OPERATIONS:
        for role, relation, confidential in cells():
            if confidential:
                continue
            want = expected(operation, role, relation, False)
            if not consent and relation != "own" and role != "anonymous":
                want = 404  # without consent, no other school learns it exists
            response = await ACTIONS[operation](world, world.actor(relation, role), False)
            if response.status_code != want:
                found.append(
                    f"{operation} {role:9} {relation:16} consent={consent} expected {want}, "
                    f"got {response.status_code}: {response.text[:160]}"
                )
    return found


async def test_a_students_work_follows_the_matrix_and_stays_home_without_consent(
    world: World,
) -> None:
    work = await new_student_work(world)
    world.resources[False] = work

    with_consent = await _mismatches(world, consent=True)
    withdrawn = await world.actor("own", "author").patch(
        f"/api/resources/{work}", json={"student_consent": None}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["visibility"] == "school"
    without_consent = await _mismatches(world, consent=False)

    assert not with_consent + without_consent, "\n".join(with_consent + without_consent)


# --- the pages ---------------------------------------------------------------------------
# Every page route goes through the same policy: a visitor without a session is sent to
# sign in, and a member of another school asking for A's resource, request, grant,
# member, partnership, activity or question gets the plain 404 page, as in the API.
# `PAGES` names, for each route, the objects of A its address carries (none for a
# route about the reader's own school); `OPEN_PAGES` are the routes for visitors.

PageObjects = (
    Callable[[World], Awaitable[dict[str, UUID]]]
    | Callable[[World], Awaitable[dict[str, UUID | str]]]
)


async def _nothing(world: World) -> dict[str, UUID]:
    return {}


async def _a_resource(world: World) -> dict[str, UUID]:
    return {"resource_id": world.resources[False]}


async def _a_version(world: World) -> dict[str, Any]:  # the version's number, too
    return {"resource_id": world.resources[False], "number": 1}


async def _a_grant(world: World) -> dict[str, UUID]:
    resource_id = world.resources[False]
    return {"resource_id": resource_id, "grant_id": await new_grant(world, resource_id)}


async def _a_request(world: World) -> dict[str, UUID]:
    return {"request_id": await new_request(world, world.resources[False])}


async def _a_member(world: World) -> dict[str, UUID]:
    return {"member_id": world.actor("own", "teacher").member_id}


async def _the_partnership(world: World) -> dict[str, UUID]:
    return {"partnership_id": world.a_p}


async def _an_activity(world: World) -> dict[str, UUID]:
    return {"partnership_id": world.a_p, "activity_id": await fresh_activity(world)}


async def _a_question(world: World) -> dict[str, UUID]:
    return {"partnership_id": world.a_p, "question_id": await new_question(world)}


async def _a_school(world: World) -> dict[str, UUID]:
    return {"school_id": world.a.id}


async def _the_invitation(world: World) -> dict[str, UUID]:
    """A's open invitation to another school."""
    return {"partnership_id": await fresh_partnership(world, "invited", "invited")}


async def _an_answer_to_the_invitation(world: World) -> dict[str, UUID | str]:
    return {**await _the_invitation(world), "move": "decline"}


async def _an_upload(world: World) -> dict[str, UUID]:
    """An upload A's author began (a new version of the resource)."""
    created = await world.actor("own", "author").post(
        "/api/uploads",
        headers={
            **TUS,
            "Upload-Length": "100",
            "Upload-Metadata": _tus_metadata(
                filename="plan-v2.txt", resource_id=str(world.resources[False])
            ),
        },
    )
    assert created.status_code == 201, created.text
    return {"upload_id": UUID(created.headers["location"].rsplit("/", 1)[1])}


async def _an_entry(world: World) -> dict[str, UUID]:
    return {"entry_id": await fresh_entry(world)}


PAGES: dict[str, PageObjects] = {
    "GET /": _nothing,
    "GET /sign-in": _nothing,
    "POST /sign-in": _nothing,
    "POST /sign-out": _nothing,
    "POST /setup": _nothing,
    "GET /set-password": _nothing,
    "POST /set-password": _nothing,
    "GET /account": _nothing,
    "POST /account": _nothing,
    "POST /account/password": _nothing,
    "GET /inbox": _nothing,
    "POST /inbox/read": _nothing,
    "POST /dashboard/seen": _nothing,
    "GET /search": _nothing,
    "GET /requests": _nothing,
    "POST /requests/{request_id}/decision": _a_request,
    "POST /requests/{request_id}/withdraw": _a_request,
    "GET /resources/new": _nothing,
    "POST /resources/new": _nothing,
    "GET /resources/{resource_id}": _a_resource,
    "GET /resources/{resource_id}/content": _a_resource,
    "GET /resources/{resource_id}/versions/{number}/content": _a_version,
    "GET /resources/{resource_id}/preview": _a_resource,
    "GET /resources/{resource_id}/versions/{number}/preview": _a_version,
    "POST /resources/{resource_id}/ask": _a_resource,
    "POST /resources/{resource_id}/forward": _a_resource,
    "POST /resources/{resource_id}/delete": _a_resource,
    "GET /resources/{resource_id}/edit": _a_resource,
    "POST /resources/{resource_id}/edit": _a_resource,
    "GET /resources/{resource_id}/versions/new": _a_resource,
    "POST /resources/{resource_id}/versions/new": _a_resource,
    "POST /resources/{resource_id}/grants/{grant_id}/revoke": _a_grant,
    "GET /members": _nothing,
    "POST /members": _nothing,
    "GET /members/{member_id}/edit": _a_member,
    "POST /members/{member_id}/edit": _a_member,
    "POST /members/{member_id}/disable": _a_member,
    "POST /members/{member_id}/enable": _a_member,
    "POST /members/{member_id}/password-link": _a_member,
    "GET /audit": _nothing,
    "POST /resources/uploads": _nothing,
    "HEAD /resources/uploads/{upload_id}": _an_upload,
    "PATCH /resources/uploads/{upload_id}": _an_upload,
    "DELETE /resources/uploads/{upload_id}": _an_upload,
    "GET /partnerships": _nothing,
    "POST /partnerships/calendar-feed": _nothing,
    "POST /partnerships/calendar-feed/revoke": _nothing,
    "GET /partnerships/{partnership_id}": _the_partnership,
    "GET /partnerships/{partnership_id}/summary": _the_partnership,
    "GET /partnerships/{partnership_id}/summary.docx": _the_partnership,
    "GET /partnerships/{partnership_id}/summary.txt": _the_partnership,
    "POST /partnerships/{partnership_id}/questions": _the_partnership,
    "GET /partnerships/{partnership_id}/activities/new": _the_partnership,
    "POST /partnerships/{partnership_id}/activities": _the_partnership,
    "GET /partnerships/{partnership_id}/activities/{activity_id}": _an_activity,
    "POST /partnerships/{partnership_id}/activities/{activity_id}": _an_activity,
    "GET /partnerships/{partnership_id}/activities/{activity_id}/edit": _an_activity,
    "POST /partnerships/{partnership_id}/activities/{activity_id}/done": _an_activity,
    "POST /partnerships/{partnership_id}/activities/{activity_id}/cancel": _an_activity,
    "POST /partnerships/{partnership_id}/activities/{activity_id}/evaluations": _an_activity,
    "POST /partnerships/{partnership_id}/questions/{question_id}/answers": _a_question,
    "GET /partners": _nothing,
    "GET /partners/profile": _nothing,
    "POST /partners/profile": _nothing,
    "GET /partners/schools/{school_id}": _a_school,
    "GET /partners/schools/{school_id}/invite": _a_school,
    "POST /partners/schools/{school_id}/invite": _a_school,
    "GET /partners/invitations/{partnership_id}": _the_invitation,
    "GET /partners/invitations/{partnership_id}/letter.txt": _the_invitation,
    "GET /partners/invitations/{partnership_id}/letter.docx": _the_invitation,
    "GET /partners/invitations/{partnership_id}/letter.odt": _the_invitation,
    # accept, decline, withdraw, end and remind: one route, the move last in the path.
    "POST /partners/invitations/{partnership_id}/{move}": _an_answer_to_the_invitation,
    "GET /partners/not-on-exchange": _nothing,
    "GET /partners/not-on-exchange/{entry_id}": _an_entry,
    "POST /partners/not-on-exchange/{entry_id}/invite": _an_entry,
    "POST /partners/not-on-exchange/{entry_id}/claim": _an_entry,
    "POST /register/confirm": _nothing,
    "GET /partners/invite-by-email": _nothing,
    "POST /partners/invite-by-email": _nothing,
    "GET /claim": _nothing,
    "POST /claim": _nothing,
    "GET /register": _nothing,
    "POST /register": _nothing,
}
# The directory is every member's: another school's profile is read by any member (its
# self-assessment only as the policy says), and only an admin is offered to invite it.
# A visitor is still sent to sign in; a teacher elsewhere is refused the invitation
# form for their role; an admin elsewhere gets the page (a preview sends nothing).
DIRECTORY_PAGES = {
    "GET /partners/schools/{school_id}": {"admin": 200, "teacher": 200},
    "GET /partners/schools/{school_id}/invite": {"admin": 200, "teacher": 403},
    "POST /partners/schools/{school_id}/invite": {"admin": 200, "teacher": 403},
    # The handbook's entries are every member's to read; only an admin invites one (the
    # form's e-mail address is refused, so the page answers 422 with the form again).
    "GET /partners/not-on-exchange/{entry_id}": {"admin": 200, "teacher": 200},
    "POST /partners/not-on-exchange/{entry_id}/invite": {"admin": 422, "teacher": 403},
    "POST /partners/not-on-exchange/{entry_id}/claim": {"admin": 422, "teacher": 403},
}
# Open to a visitor: signing in and out, the first run (while no school exists), and
# setting a password with a link.
OPEN_PAGES = {
    "GET /sign-in",
    "POST /sign-in",
    "POST /sign-out",
    "POST /setup",
    "GET /set-password",
    "POST /set-password",
    "GET /claim",
    "POST /claim",
    "GET /register",
    "POST /register",
    "POST /register/confirm",
}
# An admin's action on a member: a teacher of any school is refused for their role
# before any member is looked for (403 whatever the id, so it tells nothing), as the API
# refuses it.
ADMINS_FIRST = {
    "POST /members/{member_id}/edit",
    "POST /members/{member_id}/disable",
    "POST /members/{member_id}/enable",
    "POST /members/{member_id}/password-link",
}
# The upload page's tus routes speak the protocol: their refusals are problem documents
# (and a HEAD answer has no body), not pages.
PROTOCOL_ROUTES = {
    "HEAD /resources/uploads/{upload_id}",
    "PATCH /resources/uploads/{upload_id}",
    "DELETE /resources/uploads/{upload_id}",
}
_NOT_PAGES = ("/api", "/schema", "/health", "/static")


def page_routes(app: Litestar) -> set[str]:
    """Every page route of the app as "METHOD /path", path parameters without types."""
    found = set()
    for route in app.routes:
        if route.path.startswith(_NOT_PAGES):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        methods = set(getattr(route, "methods", ())) - {"OPTIONS"}
        if "GET" in methods:
            methods.discard("HEAD")  # answered as its GET is
        found.update(f"{method} {path}" for method in methods)
    return found


def test_every_page_route_is_in_the_page_table(app: Litestar) -> None:
    routes = page_routes(app)
    missing = routes - set(PAGES)
    assert not missing, f"Page routes without a row in the page matrix: {sorted(missing)}"
    stale = set(PAGES) - routes
    assert not stale, f"Rows for page routes that no longer exist: {sorted(stale)}"


async def test_the_page_matrix(world: World) -> None:
    ground = world.ground
    stranger, strange_teacher = (
        Visitor(ground.client),
        Visitor(ground.client),
    )
    await stranger.sign_in(world.actor("stranger", "admin").email)
    await strange_teacher.sign_in(world.actor("stranger", "teacher").email)
    mismatches = []
    for route, objects in sorted(PAGES.items()):
        method, template = route.split(" ", 1)
        names = await objects(world)
        path = template.format(**{name: str(value) for name, value in names.items()})
        if route not in OPEN_PAGES:
            visitor = Visitor(ground.client)
            answer = await _page_request(visitor, method, path)
            if answer.status_code != 303 or not answer.headers.get("location", "").startswith(
                "/sign-in"
            ):
                mismatches.append(f"{route}: a visitor got {answer.status_code}, not sign-in")
        if not names:
            continue
        for who, member in (("admin", stranger), ("teacher", strange_teacher)):
            want = 403 if who == "teacher" and route in ADMINS_FIRST else 404
            want = DIRECTORY_PAGES.get(route, {}).get(who, want)
            names = await objects(world)
            path = template.format(**{name: str(value) for name, value in names.items()})
            answer = await _page_request(member, method, path)
            shown_as_page = route in PROTOCOL_ROUTES or "text/html" in answer.headers.get(
                "content-type", ""
            )
            if answer.status_code != want or not shown_as_page:
                mismatches.append(
                    f"{route}: another school's {who} got {answer.status_code}: {answer.text[:120]}"
                )
    assert not mismatches, "\n".join(mismatches)


async def _page_request(visitor: Visitor, method: str, path: str) -> Any:
    if method in {"GET", "HEAD"}:
        return await visitor.http.request(method, path, headers=TUS)
    # A form as the browser sends it, with the token of a page the visitor may open (in
    # the field and in the header the upload page's script sends it in).
    form = await visitor.get("/sign-in")
    if form.status_code != 200:  # signed in already: any page of theirs has a form
        form = await visitor.get("/account")
    token = csrf_token_in(form.text)
    if method == "PATCH":  # a tus piece
        return await visitor.http.request(
            method,
            path,
            content=b"0123456789",
            headers={
                **TUS,
                "X-CSRFToken": token,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
    return await visitor.http.request(
        method,
        path,
        data={"_csrf_token": token, **_A_FILLED_FORM},
        headers={**TUS, "X-CSRFToken": token},
    )


# What a form filled in with care sends, so that each route reaches its service: the
# answer then comes from the policy, not from a missing field.
_A_FILLED_FORM = {
    "full_name": "Айгүл Асанова",
    "decision": "approve",
    "scope": "adapt",
    "purpose": "Our grade 6",
    "audience": "Two classes",
    "question": "How do you teach fractions?",
    "answer": "With paper strips.",
    "goals": "Exchange lesson plans for grade 7 mathematics",
    "language": "en",
    "agree": "true",
    "note": "Not this school year.",
}
