"""HTTP routes of the schools not on the exchange yet: thin, they parse and call the
service."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from exchange.accounts.identity import Identity
from exchange.directory.handbook import SCHOOL
from exchange.directory.schemas import (
    ClaimConfirmed,
    ClaimRequest,
    ClaimSent,
    EmailInvitation,
    EmailInvitationList,
    EmailInvitationOut,
    EntryKind,
    EntryOut,
    EntryPageOut,
    Registered,
    Registration,
    RegistrationLookup,
    RegistrationOut,
    SisterCityOut,
)
from exchange.directory.services import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    DirectoryService,
    EntryPage,
    entry_addresses,
)
from exchange.i18n import current_language
from exchange.kernel import paging
from exchange.models import DirectoryEntry, RegistrationLink
from exchange.openapi import problems


def _in(texts: dict[str, Any], field: str, language: str) -> str | None:
    names = texts.get(field) or {}
    return names.get(language) or names.get("ky")


def entry_out(entry: DirectoryEntry, page: EntryPage, language: str | None = None) -> EntryOut:
    """The entry with its towns and countries named in the reader's language."""
    language = language or current_language()
    texts = entry.texts or {}
    name = entry.name
    if entry.kind != SCHOOL:
        name = f"{_in(texts, 'name', language)}, {_in(texts, 'country', language)}"
    own_email, domain = entry_addresses(entry)
    return EntryOut(
        id=entry.id,
        kind="school" if entry.kind == SCHOOL else "sister_city",
        name=name,
        town=_in(texts, "town", language) or "",
        on_exchange=entry.claimed_school_id is not None,
        region=entry.region,
        school_kind=entry.school_kind,
        director=entry.director,
        address=entry.address,
        contact_email=entry.contact_email,
        contact_phone=entry.contact_phone,
        website=entry.website,
        country=_in(texts, "country", language) if entry.kind != SCHOOL else None,
        sister_cities=[
            SisterCityOut(
                id=city.id,
                city=_in(city.texts, "name", language) or city.name,
                country=_in(city.texts, "country", language) or "",
            )
            for city in page.sister_cities.get(entry.town_key, [])
        ]
        if entry.kind == SCHOOL
        else [],
        claimable=entry.kind == SCHOOL
        and entry.claimed_school_id is None
        and bool(own_email or domain),
        school_id=entry.claimed_school_id,
    )


def invitation_out(
    link: RegistrationLink,
    now: Any,
    *,
    url: str | None = None,
    emailed: bool | None = None,
    letter: str | None = None,
) -> EmailInvitationOut:
    status: Any = (
        "registered"
        if link.used_at is not None
        else "expired"
        if link.expires_at <= now
        else "waiting"
    )
    return EmailInvitationOut(
        id=link.id,
        email=link.email,
        school_name=link.school_name,
        entry_id=link.entry_id,
        status=status,
        expires_at=link.expires_at,
        created_at=link.created_at,
        school_id=link.school_id,
        emailed=emailed,
        registration_url=url,
        invitation_letter=letter,
    )


class DirectoryController(Controller):
    path = "/api/directory"
    tags = ["directory"]
    dependencies = {"directory": Provide(DirectoryService, sync_to_thread=False)}

    @get(
        "/entries",
        operation_id="listDirectoryEntries",
        summary="Schools and sister cities of the handbook that are not on the exchange yet",
        description=(
            "The handbook's appendix 5 (private and international schools in Kyrgyzstan) and "
            "appendix 4 (sister cities of Bishkek, Osh, Karakol and Kant), as loaded by "
            "`exchange directory load-handbook`. Unclaimed entries only, unless "
            "`claimed=true`. An entry cannot be signed into; invite it by e-mail "
            "(`POST /api/directory/invitations`) or let it claim itself."
        ),
    )
    async def entries(
        self,
        directory: NamedDependency[DirectoryService],
        identity: NamedDependency[Identity],
        q: FromQuery[str | None] = None,
        kind: FromQuery[EntryKind | None] = None,
        claimed: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        cursor: paging.Cursor = None,
    ) -> EntryPageOut:
        page = await directory.entries(
            identity, q=q, kind=kind, claimed=claimed, limit=limit, cursor=cursor
        )
        return EntryPageOut(
            items=[entry_out(entry, page) for entry in page.entries],
            next_cursor=page.next_cursor,
            total=page.total,
        )

    @get(
        "/entries/{entry_id:uuid}",
        operation_id="getDirectoryEntry",
        summary="One entry of the handbook's lists",
        responses=problems(404),
    )
    async def entry(
        self,
        directory: NamedDependency[DirectoryService],
        identity: NamedDependency[Identity],
        entry_id: FromPath[UUID],
    ) -> EntryOut:
        page = await directory.entry(identity, entry_id)
        return entry_out(page.entries[0], page)

    @post(
        "/invitations",
        operation_id="inviteSchoolByEmail",
        summary="Invite a school that is not on the exchange by e-mail (admins)",
        description=(
            "Either `entry_id` (an unclaimed school of the handbook's list) or `school_name`, "
            "and the address the link goes to. The school registers through the one-time "
            "link (30 days) and finds the invitation waiting for its answer. The link is "
            "e-mailed when the exchange sends mail and answered here once, as "
            "`registration_url`, to pass on. Links to one address are paced: 429 with "
            "`Retry-After`."
        ),
        responses=problems(403, 404, 409, 422, 429),
        status_code=HTTP_201_CREATED,
    )
    async def invite(
        self,
        directory: NamedDependency[DirectoryService],
        identity: NamedDependency[Identity],
        data: JSONBody[EmailInvitation],
    ) -> EmailInvitationOut:
        issued = await directory.invite_by_email(
            identity,
            email=data.email,
            goals=list(data.goals),
            language=data.language,
            characteristics=list(data.characteristics),
            entry_id=data.entry_id,
            school_name=data.school_name,
        )
        return invitation_out(
            issued.link,
            directory.clock.now(),
            url=issued.url,
            emailed=issued.mailed,
            letter=issued.letter,
        )

    @get(
        "/invitations",
        operation_id="listEmailInvitations",
        summary="Your school's invitations by e-mail and whether they were taken up (admins)",
        responses=problems(403),
    )
    async def invitations(
        self,
        directory: NamedDependency[DirectoryService],
        identity: NamedDependency[Identity],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        cursor: paging.Cursor = None,
    ) -> EmailInvitationList:
        now = directory.clock.now()
        links, next_cursor = await directory.invitations_sent(identity, limit=limit, cursor=cursor)
        return EmailInvitationList(
            items=[invitation_out(link, now) for link in links], next_cursor=next_cursor
        )

    @post(
        "/entries/{entry_id:uuid}/claim",
        operation_id="claimDirectoryEntry",
        summary="Ask for a link to claim a school's entry, sent to the school's own address",
        description=(
            "No sign-in: the school is not on the exchange yet. The link goes only to an "
            "address of the entry's own (the e-mail address the handbook gives, or one at "
            "its web site's domain), else 422; a claimed entry is 409 (`entry_status`); "
            "links to one address are paced (429). The link is never answered here."
        ),
        responses=problems(404, 409, 422, 429),
        status_code=HTTP_202_ACCEPTED,
        exclude_from_auth=True,
        security=[],
    )
    async def claim(
        self,
        directory: NamedDependency[DirectoryService],
        entry_id: FromPath[UUID],
        data: JSONBody[ClaimRequest],
    ) -> ClaimSent:
        link = await directory.request_claim(entry_id, data.email, current_language())
        return ClaimSent(sent_to=link.email, expires_at=link.expires_at)

    @post(
        "/entries/{entry_id:uuid}/claims",
        operation_id="claimDirectoryEntryForMySchool",
        summary="Ask to make a handbook entry your school's, already on the exchange (admins)",
        description=(
            "For a school registered some other way whose entry still shows as not on the "
            "exchange. The link goes only to an address of the entry's own (422 otherwise; "
            "an address of another school's member is 409); opening it and confirming "
            "(`POST /api/directory/claims/confirm`) makes the entry the school's and fills "
            "the profile's empty fields with what the handbook says. Once per entry (409)."
        ),
        responses=problems(403, 404, 409, 422, 429),
        status_code=HTTP_202_ACCEPTED,
    )
    async def claim_for_my_school(
        self,
        directory: NamedDependency[DirectoryService],
        identity: NamedDependency[Identity],
        entry_id: FromPath[UUID],
        data: JSONBody[ClaimRequest],
    ) -> ClaimSent:
        link = await directory.request_claim(entry_id, data.email, current_language(), identity)
        return ClaimSent(sent_to=link.email, expires_at=link.expires_at)

    @post(
        "/claims/confirm",
        operation_id="confirmDirectoryEntryClaim",
        summary="Confirm, with the link sent to the entry's address, that it is your school's",
        description=(
            "No sign-in: the link is the authority. A used or expired link is 409 with "
            "`link_status`; an entry claimed meanwhile, 409 with `entry_status`."
        ),
        responses=problems(404, 409, 422),
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[],
    )
    async def confirm_claim(
        self, directory: NamedDependency[DirectoryService], data: JSONBody[RegistrationLookup]
    ) -> ClaimConfirmed:
        school = await directory.attach(data.token)
        return ClaimConfirmed(school_id=school.id)

    @post(
        "/registration",
        operation_id="readRegistrationLink",
        summary="What a registration link's token is for, before it is used",
        description=(
            "A used or expired link is 409 with `link_status` (`used`, `expired`); an entry "
            "claimed meanwhile is 409 with `entry_status: claimed`."
        ),
        responses=problems(404, 409),
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[],
    )
    async def lookup(
        self, directory: NamedDependency[DirectoryService], data: JSONBody[RegistrationLookup]
    ) -> RegistrationOut:
        holder = await directory.holder(data.token)
        link = holder.link
        return RegistrationOut(
            purpose=link.purpose,  # type: ignore[arg-type]
            email=link.email,
            school_name=link.school_name,
            expires_at=link.expires_at,
            entry_id=link.entry_id,
            inviting_school=holder.inviting_school_name,
        )

    @post(
        "/registrations",
        operation_id="registerSchool",
        summary="Register a school through its one-time link: its first admin and password",
        description=(
            "The school is made with the link's address as its first admin's e-mail; a "
            "handbook entry becomes the school and keeps what the handbook says; an "
            "invitation waits for the new school's answer in `GET /api/partnerships`. "
            "Once per link (409 `link_status`) and once per entry (409 `entry_status`)."
        ),
        responses=problems(404, 409, 422),
        status_code=HTTP_201_CREATED,
        exclude_from_auth=True,
        security=[],
    )
    async def register(
        self, directory: NamedDependency[DirectoryService], data: JSONBody[Registration]
    ) -> Registered:
        done = await directory.register(
            data.token,
            full_name=data.full_name,
            password=data.password,
            school_name=data.school_name,
        )
        return Registered(
            school_id=done.school.id,
            admin_id=done.member.id,
            partnership_id=done.partnership.id if done.partnership else None,
        )
