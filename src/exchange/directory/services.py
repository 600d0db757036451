"""Schools that are not on the exchange yet.

- The directory's unclaimed entries (the handbook's lists) are read by every member.
- An admin invites a school by e-mail, from an entry or by name: a one-time link to
  register is e-mailed (when the exchange sends mail) and shown once to the admin.
- Someone at a school on the handbook's list asks for a link to claim its entry; the
  link goes only to an address of the entry's own (the e-mail address the handbook
  gives, or one at its web site's domain), so nobody claims another school's entry.
- The link's holder registers the school: its first admin chooses a password, the
  school is made (an entry becomes the school and keeps what the handbook says), and an
  invitation waits for its answer under the code of conduct.

A link's token carries 256 random bits and only its SHA-256 is stored; it works once,
until it expires. Links to one address are paced (`LINK_PACE`) so that nobody can use the
exchange to flood a school's mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from exchange import policy
from exchange.accounts.identity import Identity, new_token, token_digest
from exchange.accounts.passwords import check_password_rules, hash_password
from exchange.accounts.services import check_full_name, normalise_email
from exchange.directory.handbook import SCHOOL, SISTER_CITY
from exchange.directory.mail import claim_mail, invitation_mail
from exchange.display_text import clean_line
from exchange.domain_service import DomainService
from exchange.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from exchange.events import EntryClaimed, SchoolInvitedByEmail, SchoolRegistered
from exchange.i18n import _
from exchange.kernel import paging
from exchange.kernel.text import LIKE_ESCAPE, contains_pattern, fold
from exchange.mail.outbox import queue_mail
from exchange.models import (
    DirectoryEntry,
    Member,
    MemberRole,
    Partnership,
    RegistrationLink,
    School,
    SchoolKind,
)
from exchange.partnerships.letter import invitation_letter
from exchange.partnerships.schemas import PartnershipInvite
from exchange.partnerships.services import PartnershipService
from exchange.partnerships.terms import clean_characteristics, clean_goals
from exchange.unit_of_work import unit_of_work

INVITATION = "invitation"
CLAIM = "claim"
# A claim asked by an admin of a school already on the exchange: the entry becomes that
# school's (`school_id`) once the link, sent to the entry's own address, is opened.
ATTACH = "attach"
# An invitation waits as long as rule 9 gives an invitation to be answered.
INVITATION_LINK_DAYS = 30


@dataclass(frozen=True)
class LinkPace:
    """At most `per_day` links to one address in 24 hours, `gap` apart; at most
    `claims_per_entry` claim links for one entry in 24 hours."""

    per_day: int = 3
    gap: timedelta = timedelta(minutes=10)
    claims_per_entry: int = 5


LINK_PACE = LinkPace()
ENTRY_ORDER = (
    paging.SortKey(DirectoryEntry.kind, str),
    paging.SortKey(DirectoryEntry.name, str),
    paging.SortKey(DirectoryEntry.id, UUID),
)
INVITATION_ORDER = (
    paging.SortKey(RegistrationLink.created_at, datetime, descending=True),
    paging.SortKey(RegistrationLink.id, UUID, descending=True),
)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class EntryPage:
    entries: list[DirectoryEntry]
    next_cursor: str | None
    total: int
    # The sister cities of each Kyrgyz town the page names (appendix 4), by town key.
    sister_cities: dict[str, list[DirectoryEntry]]
    # The schools that claimed an entry, by id (for "now on the exchange as ...").
    schools: dict[UUID, School]


@dataclass(frozen=True)
class IssuedRegistration:
    link: RegistrationLink
    url: str
    mailed: bool
    # The handbook's invitation letter (appendix 6) as the e-mail carries it.
    letter: str


@dataclass(frozen=True)
class LinkHolder:
    """What a registration link is for, as its page shows it before it is used."""

    link: RegistrationLink
    entry: DirectoryEntry | None
    inviting_school_name: str | None


@dataclass(frozen=True)
class Registered:
    school: School
    member: Member
    partnership: Partnership | None


def registration_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/register?token={quote(token, safe='')}"


def entry_addresses(entry: DirectoryEntry) -> tuple[str | None, str | None]:
    """The entry's own e-mail address and its web site's domain, as the handbook gives
    them (either may be missing)."""
    email = normalise_email(entry.contact_email) if entry.contact_email else None
    domain = None
    if entry.website:
        site = entry.website if "//" in entry.website else f"//{entry.website}"
        host = (urlsplit(site).hostname or "").lower()
        domain = host.removeprefix("www.") or None
    return email, domain


def address_of_entry(entry: DirectoryEntry, email: str) -> bool:
    """Whether `email` is the entry's own: the handbook's address, or any address at the
    domain of the web site the handbook gives."""
    own_email, domain = entry_addresses(entry)
    address = normalise_email(email)
    if own_email and address == own_email:
        return True
    at = address.rpartition("@")[2]
    return bool(domain) and (at == domain or at.endswith(f".{domain}"))


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


class DirectoryService(DomainService):
    # --- reading -----------------------------------------------------------------------

    async def entries(
        self,
        identity: Identity | None,
        *,
        q: str | None = None,
        kind: str | None = None,
        claimed: bool = False,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> EntryPage:
        """A page of the handbook's entries that match, unclaimed ones only unless
        `claimed`. They are the handbook's public lists: every member reads them, and a
        visitor (no identity) reads the unclaimed ones to claim a school's own."""
        if identity is None:
            claimed = False
        conditions: list[ColumnElement[bool]] = [
            DirectoryEntry.search_text.like(contains_pattern(word), escape=LIKE_ESCAPE)
            for word in fold(q).split()
        ]
        if kind is not None:
            if kind not in (SCHOOL, SISTER_CITY):
                raise InvalidInput(_("'kind' is school or sister_city."))
            conditions.append(DirectoryEntry.kind == kind)
        if not claimed:
            conditions.append(DirectoryEntry.claimed_school_id.is_(None))
        total = await self.session.scalar(
            select(func.count()).select_from(DirectoryEntry).where(*conditions)
        )
        page = await paging.fetch(
            self.session,
            select(DirectoryEntry).where(*conditions),
            ENTRY_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("directory_entries", q, kind, claimed),
        )
        return EntryPage(
            entries=page.rows,
            next_cursor=page.next_cursor,
            total=int(total or 0),
            sister_cities=await self._sister_cities({e.town_key for e in page.rows}),
            schools=await self._claimers(page.rows),
        )

    async def entry(self, identity: Identity | None, entry_id: UUID) -> EntryPage:
        """One entry, as a page of one (with its town's sister cities)."""
        entry = await self.session.get(DirectoryEntry, entry_id)
        if entry is None:
            raise NotFound(_("The directory has no such entry. Look for the school in it."))
        return EntryPage(
            entries=[entry],
            next_cursor=None,
            total=1,
            sister_cities=await self._sister_cities({entry.town_key}),
            schools=await self._claimers([entry]),
        )

    async def _sister_cities(self, town_keys: set[str]) -> dict[str, list[DirectoryEntry]]:
        if not town_keys:
            return {}
        found: dict[str, list[DirectoryEntry]] = {}
        for city in await self.session.scalars(
            select(DirectoryEntry)
            .where(DirectoryEntry.kind == SISTER_CITY, DirectoryEntry.town_key.in_(town_keys))
            .order_by(DirectoryEntry.key)
        ):
            found.setdefault(city.town_key, []).append(city)
        return found

    async def _claimers(self, entries: list[DirectoryEntry]) -> dict[UUID, School]:
        ids = {e.claimed_school_id for e in entries if e.claimed_school_id}
        if not ids:
            return {}
        return {
            s.id: s for s in await self.session.scalars(select(School).where(School.id.in_(ids)))
        }

    async def invitations_sent(
        self, identity: Identity, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> tuple[list[RegistrationLink], str | None]:
        """A page of the school's invitations by e-mail, newest first (its admins only),
        and the cursor after it."""
        policy.require(identity, policy.Action.INVITE)
        page = await paging.fetch(
            self.session,
            select(RegistrationLink).where(
                RegistrationLink.inviting_school_id == identity.school_id,
                RegistrationLink.purpose == INVITATION,
            ),
            INVITATION_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("email_invitations"),
        )
        return page.rows, page.next_cursor

    # --- inviting by e-mail ------------------------------------------------------------

    async def invite_by_email(
        self,
        identity: Identity,
        *,
        email: str,
        goals: list[str],
        language: str,
        characteristics: list[str],
        entry_id: UUID | None = None,
        school_name: str | None = None,
    ) -> IssuedRegistration:
        """Invite a school that is not on the exchange: a handbook entry (`entry_id`) or
        any school by name, at `email`."""
        policy.require(identity, policy.Action.INVITE)
        address = normalise_email(email)
        entry = None
        if entry_id is not None:
            entry = await self._unclaimed_school_entry(entry_id)
            name = entry.name
        else:
            name = clean_line(school_name or "")
            if not name:
                raise InvalidInput(
                    _("Write the name of the school you invite, or choose it in the directory."),
                    errors=[{"field": "school_name", "message": "empty"}],
                )
        terms: dict[str, Any] = {
            "goals": list(clean_goals(goals)),
            "characteristics": clean_characteristics(characteristics),
            "language": language,
        }
        await self._refuse_member_address(address)
        now = self.clock.now()
        await self._pace(address, now)
        own = await self.session.get(School, identity.school_id)
        sender = await self.session.get(Member, identity.member_id)
        if own is None or sender is None:  # pragma: no cover - the token resolved them
            raise NotFound(_("Your school is not in the exchange any more."))
        # The letter names the school as the handbook (or the admin) does; it is not
        # stored as a school until it registers.
        invited = School(name=name)
        if entry is not None:
            _copy_entry(entry, invited)
        letter = invitation_letter(
            language,
            inviting=own,
            invited=invited,
            sender=sender,
            sent_at=now,
            goals=terms["goals"],
            characteristics=terms["characteristics"],
        )
        token = new_token()
        link = RegistrationLink(
            token_hash=token_digest(token),
            purpose=INVITATION,
            email=address,
            school_name=name,
            entry_id=entry.id if entry else None,
            inviting_school_id=identity.school_id,
            invited_by_id=identity.member_id,
            terms=terms,
            language=language,
            expires_at=now + timedelta(days=INVITATION_LINK_DAYS),
        )
        self.session.add(link)
        await self.session.flush()
        url = registration_url(self.settings.public_url, token)
        uow = unit_of_work(self.session, self.clock)
        mail = invitation_mail(
            self.settings,
            to=address,
            school_name=name,
            inviting_school=own.name,
            letter=letter,
            url=url,
            expires_at=link.expires_at,
            language=language,
        )
        mailed = queue_mail(uow, [mail]) > 0
        uow.record(SchoolInvitedByEmail(identity, link, mailed))
        await uow.commit()
        return IssuedRegistration(link=link, url=url, mailed=mailed, letter=letter)

    async def _unclaimed_school_entry(self, entry_id: UUID) -> DirectoryEntry:
        entry = await self.session.get(DirectoryEntry, entry_id)
        if entry is None:
            raise NotFound(_("The directory has no such entry. Look for the school in it."))
        if entry.kind != SCHOOL:
            raise InvalidInput(
                _(
                    "A sister city is a town, not a school: invite a school there by its name "
                    "and e-mail address."
                ),
                errors=[{"field": "entry_id", "message": "a sister city"}],
            )
        if entry.claimed_school_id is not None:
            raise Conflict(
                _(
                    "{school} is on the exchange already: its entry was claimed. Find it in "
                    "the directory of schools.",
                    school=entry.name,
                ),
                entry_status="claimed",
            )
        return entry

    async def _refuse_member_address(self, address: str) -> None:
        taken = await self.session.scalar(select(Member.id).where(Member.email == address))
        if taken is not None:
            raise Conflict(
                _(
                    "{email} already has an account in the exchange, so its school is on the "
                    "exchange: find it in the directory of schools.",
                    email=address,
                ),
                errors=[{"field": "email", "message": "has an account"}],
            )

    async def _pace(self, address: str, now: datetime, entry_id: UUID | None = None) -> None:
        """Refuse (429) a link to an address that had its share of links lately."""
        since = now - timedelta(days=1)
        sent = list(
            await self.session.scalars(
                select(RegistrationLink.created_at)
                .where(RegistrationLink.email == address, RegistrationLink.created_at > since)
                .order_by(RegistrationLink.created_at.desc())
            )
        )
        wait = None
        if sent and now - sent[0] < LINK_PACE.gap:
            wait = sent[0] + LINK_PACE.gap - now
        elif len(sent) >= LINK_PACE.per_day:
            wait = sent[LINK_PACE.per_day - 1] + timedelta(days=1) - now
        if entry_id is not None and wait is None:
            claims = list(
                await self.session.scalars(
                    select(RegistrationLink.created_at)
                    .where(
                        RegistrationLink.entry_id == entry_id,
                        RegistrationLink.purpose == CLAIM,
                        RegistrationLink.created_at > since,
                    )
                    .order_by(RegistrationLink.created_at.desc())
                )
            )
            if len(claims) >= LINK_PACE.claims_per_entry:
                wait = claims[LINK_PACE.claims_per_entry - 1] + timedelta(days=1) - now
        if wait is not None:
            minutes = max(1, round(wait.total_seconds() / 60))
            raise TooManyAttempts(
                _(
                    "Links to this address were sent a short while ago. Look for them in the "
                    "mailbox (and its spam folder), or ask again in about {minutes} min.",
                    minutes=minutes,
                ),
                retry_after_seconds=max(1, int(wait.total_seconds())),
            )

    # --- claiming an entry -------------------------------------------------------------

    async def request_claim(
        self, entry_id: UUID, email: str, language: str, identity: Identity | None = None
    ) -> RegistrationLink:
        """Send a link to claim the entry to `email`, which must be the entry's own: to
        register the school (no `identity`), or, asked by an admin of a school already
        on the exchange, to make the entry that school's."""
        if identity is not None:
            policy.require(identity, policy.Action.EDIT_PROFILE)
        entry = await self.session.get(DirectoryEntry, entry_id)
        if entry is None or entry.kind != SCHOOL:
            raise NotFound(_("The directory has no such school. Look for the school in it."))
        if entry.claimed_school_id is not None:
            raise Conflict(
                _(
                    "{school} was claimed already: it is on the exchange. An entry is claimed "
                    "once; if that was not your school's doing, write to the exchange's operator.",
                    school=entry.name,
                ),
                entry_status="claimed",
            )
        address = normalise_email(email)
        own_email, domain = entry_addresses(entry)
        if own_email is None and domain is None:
            raise InvalidInput(
                _(
                    "The handbook gives no e-mail address or web site for {school}, so the "
                    "exchange cannot check that an address is the school's own. Ask a school "
                    "on the exchange to invite yours by e-mail.",
                    school=entry.name,
                ),
                errors=[{"field": "email", "message": "the entry has no address"}],
            )
        if not address_of_entry(entry, address):
            raise InvalidInput(
                _(
                    "A claim link goes only to an address of the school's own: the e-mail "
                    "address the handbook gives for {school}, or an address at its web site's "
                    "domain. Use that address, or ask a school on the exchange to invite yours.",
                    school=entry.name,
                ),
                errors=[{"field": "email", "message": "not the entry's address"}],
            )
        if not self.settings.smtp_url:
            raise Conflict(
                _(
                    "This exchange sends no e-mail, so a claim link cannot reach you. Ask a "
                    "school on the exchange to invite yours, or write to its operator."
                )
            )
        if identity is None:
            await self._refuse_member_address(address)
        else:
            await self._refuse_other_schools_address(address, identity.school_id)
        now = self.clock.now()
        await self._pace(address, now, entry.id)
        token = new_token()
        link = RegistrationLink(
            token_hash=token_digest(token),
            purpose=CLAIM if identity is None else ATTACH,
            email=address,
            school_name=entry.name,
            school_id=identity.school_id if identity is not None else None,
            entry_id=entry.id,
            terms={},
            language=language,
            expires_at=now + timedelta(hours=self.settings.password_link_ttl_hours),
        )
        self.session.add(link)
        await self.session.flush()
        uow = unit_of_work(self.session, self.clock)
        url = registration_url(self.settings.public_url, token)
        queue_mail(
            uow,
            [
                claim_mail(
                    self.settings,
                    to=address,
                    school_name=entry.name,
                    claiming_school=await self._school_name(identity),
                    url=url,
                    expires_at=link.expires_at,
                    language=language,
                )
            ],
        )
        await uow.commit()
        return link

    async def _school_name(self, identity: Identity | None) -> str | None:
        if identity is None:
            return None
        school = await self.session.get(School, identity.school_id)
        return school.name if school else None

    async def _refuse_other_schools_address(self, address: str, school_id: UUID) -> None:
        other = await self.session.scalar(
            select(Member.id).where(Member.email == address, Member.school_id != school_id)
        )
        if other is not None:
            raise Conflict(
                _(
                    "{email} is the address of another school's member, so it cannot confirm "
                    "that the entry is your school's.",
                    email=address,
                ),
                errors=[{"field": "email", "message": "another school's member"}],
            )

    # --- registering through a link ----------------------------------------------------

    async def holder(self, token: str) -> LinkHolder:
        """What the link is for, refused plainly when it no longer works."""
        link = await self._link(token)
        self._refuse_unusable(link, self.clock.now())
        entry = await self.session.get(DirectoryEntry, link.entry_id) if link.entry_id else None
        if entry is not None and entry.claimed_school_id is not None:
            raise _claimed_already(entry)
        inviting = (
            await self.session.get(School, link.inviting_school_id)
            if link.inviting_school_id
            else None
        )
        return LinkHolder(link, entry, inviting.name if inviting else None)

    async def _link(self, token: str) -> RegistrationLink:
        link = await self.session.scalar(
            select(RegistrationLink).where(RegistrationLink.token_hash == token_digest(token))
        )
        if link is None:
            raise NotFound(
                _(
                    "This link is not one the exchange made. Check that you copied the whole "
                    "link from the e-mail, or ask for a new one."
                )
            )
        return link

    def _refuse_unusable(self, link: RegistrationLink, now: datetime) -> None:
        if link.used_at is not None:
            raise Conflict(
                _(
                    "This link was already used: {school} is registered. Sign in with the "
                    "e-mail address and password chosen then.",
                    school=link.school_name,
                ),
                link_status="used",
            )
        if link.expires_at <= now:
            ask = (
                _("Ask the school that invited you to invite you again.")
                if link.purpose == INVITATION
                else _("Ask for a new claim link.")
            )
            raise Conflict(
                _("This link expired on {day}.", day=link.expires_at) + " " + ask,
                link_status="expired",
            )

    async def register(
        self, token: str, *, full_name: str, password: str, school_name: str | None = None
    ) -> Registered:
        """Make the school and its first admin with the link's address; an entry becomes
        the school, and an invitation waits for its answer. Once per link and per entry."""
        holder = await self.holder(token)
        link, entry = holder.link, holder.entry
        if link.purpose == ATTACH:
            raise InvalidInput(
                _(
                    "This link makes the handbook's entry your school's; it registers no new "
                    "school. Open it to confirm."
                )
            )
        name = clean_line(school_name or "") or link.school_name
        admin_name = check_full_name(full_name)
        check_password_rules(password)
        await self._refuse_member_address(link.email)
        now = self.clock.now()
        link_id, entry_id = link.id, link.entry_id
        # The reads end before the slow hash (nothing is written yet).
        await unit_of_work(self.session, self.clock).commit()
        password_hash = await hash_password(password)
        claimed = await self.session.execute(
            update(RegistrationLink)
            .where(
                RegistrationLink.id == link_id,
                RegistrationLink.used_at.is_(None),
                RegistrationLink.expires_at > now,
            )
            .values(used_at=now)
        )
        if _rowcount(claimed) != 1:
            await self.session.rollback()
            link = await self._link(token)
            self._refuse_unusable(link, now)
        link = await self.session.get_one(RegistrationLink, link_id)
        school = School(name=name, languages=[])
        if entry_id is not None:
            entry = await self.session.get_one(DirectoryEntry, entry_id)
            _copy_entry(entry, school)
        self.session.add(school)
        await self.session.flush()
        if entry_id is not None:
            took = await self.session.execute(
                update(DirectoryEntry)
                .where(DirectoryEntry.id == entry_id, DirectoryEntry.claimed_school_id.is_(None))
                .values(claimed_school_id=school.id, claimed_at=now)
            )
            if _rowcount(took) != 1:
                await self.session.rollback()
                raise _claimed_already(await self.session.get_one(DirectoryEntry, entry_id))
            await self.session.refresh(entry)
        member = Member(
            school_id=school.id,
            email=link.email,
            full_name=admin_name,
            role=MemberRole.ADMIN,
            language=link.language if link.purpose == INVITATION else None,
            password_hash=password_hash,
        )
        self.session.add(member)
        link.school_id = school.id
        address = link.email
        try:
            await self.session.flush()
        except IntegrityError as exc:
            # Another link to the same address was used at the same moment.
            await self.session.rollback()
            raise Conflict(
                _("{email} already has an account in the exchange.", email=address)
            ) from exc
        partnership = await self._open_invitation(link, school)
        uow = unit_of_work(self.session, self.clock)
        uow.record(
            SchoolRegistered(
                school=school,
                member=member,
                link=link,
                entry=entry,
                partnership=partnership,
                inviting_school_name=holder.inviting_school_name,
            )
        )
        await uow.commit()
        return Registered(school=school, member=member, partnership=partnership)

    async def attach(self, token: str) -> School:
        """Make the link's entry the school's that asked for it: the entry is claimed, and
        what the handbook says fills the profile's empty fields. Once per link and entry."""
        holder = await self.holder(token)
        link, entry = holder.link, holder.entry
        if link.purpose != ATTACH or entry is None or link.school_id is None:
            raise InvalidInput(
                _("This link registers a school: open it to choose its first admin's password.")
            )
        school = await self.session.get(School, link.school_id)
        if school is None:
            raise NotFound(_("Your school is not in the exchange any more."))
        now = self.clock.now()
        used = await self.session.execute(
            update(RegistrationLink)
            .where(
                RegistrationLink.id == link.id,
                RegistrationLink.used_at.is_(None),
                RegistrationLink.expires_at > now,
            )
            .values(used_at=now)
        )
        took = await self.session.execute(
            update(DirectoryEntry)
            .where(DirectoryEntry.id == entry.id, DirectoryEntry.claimed_school_id.is_(None))
            .values(claimed_school_id=school.id, claimed_at=now)
        )
        if _rowcount(used) != 1 or _rowcount(took) != 1:
            entry_id = entry.id
            await self.session.rollback()
            link = await self._link(token)
            self._refuse_unusable(link, now)
            raise _claimed_already(await self.session.get_one(DirectoryEntry, entry_id))
        await self.session.refresh(entry)
        await self.session.refresh(link)
        _fill_blanks(entry, school)
        uow = unit_of_work(self.session, self.clock)
        uow.record(EntryClaimed(school=school, entry=entry, link=link))
        await uow.commit()
        return school

    async def _open_invitation(self, link: RegistrationLink, school: School) -> Partnership | None:
        """The invitation the inviting admin made, now that the school exists: made in
        that admin's name, under the code of conduct in force, in this transaction. None
        when the admin can no longer invite (left the school, or is no longer an admin)."""
        if link.purpose != INVITATION or link.invited_by_id is None:
            return None
        inviter = await self.session.get(Member, link.invited_by_id)
        if inviter is None or not inviter.is_active or inviter.role is not MemberRole.ADMIN:
            return None
        identity = Identity(
            member_id=inviter.id,
            school_id=inviter.school_id,
            role=inviter.role,
            email=inviter.email,
            full_name=inviter.full_name,
            token_id=link.id,
            language=inviter.language,
        )
        terms: dict[str, Any] = link.terms or {}
        return await PartnershipService(self.session, self.settings, self.clock).open_invitation(
            identity,
            PartnershipInvite(
                partner_school_id=school.id,
                goals=list(terms.get("goals", [])),
                language=terms.get("language", link.language),
                characteristics=list(terms.get("characteristics", [])),
            ),
        )


def _copy_entry(entry: DirectoryEntry, school: School) -> None:
    """What the handbook says of the school becomes its profile."""
    school.region = entry.region
    school.kind = SchoolKind(entry.school_kind) if entry.school_kind else None
    school.address = entry.address
    school.contact_email = entry.contact_email
    school.contact_phone = entry.contact_phone
    school.website = entry.website


def _fill_blanks(entry: DirectoryEntry, school: School) -> None:
    """What the handbook says, where the school's own profile says nothing."""
    given = School()
    _copy_entry(entry, given)
    for name in ("region", "kind", "address", "contact_email", "contact_phone", "website"):
        if getattr(school, name) in (None, "") and getattr(given, name) is not None:
            setattr(school, name, getattr(given, name))


def _claimed_already(entry: DirectoryEntry) -> Conflict:
    return Conflict(
        _(
            "{school} was claimed already: it is on the exchange, and an entry is claimed "
            "once. Sign in with the account made then, or ask its admin to add you.",
            school=entry.name,
        ),
        entry_status="claimed",
    )
