"""Accounts: creating schools with their first admin, members, signing in and out,
and setting or changing passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from msgspec import UNSET
from sqlalchemy import CursorResult, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts import password_links, throttle
from exchange.accounts.identity import Identity, new_token, token_digest
from exchange.accounts.password_links import IssuedLink
from exchange.accounts.passwords import check_password_rules, hash_password, verify_password
from exchange.accounts.schemas import MemberCreate, MemberUpdate, MeOut, SchoolSummary
from exchange.database import PreparedRead
from exchange.display_text import clean_line
from exchange.domain_service import DomainService
from exchange.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from exchange.events import MemberRenamed, PasswordChanged, PasswordLinkIssued, PasswordSet
from exchange.i18n import _, resolve_language
from exchange.kernel import paging
from exchange.models import AccessToken, Member, MemberRole, PasswordLink, School
from exchange.policy import require_admin
from exchange.unit_of_work import unit_of_work

_ME = PreparedRead(
    select(
        Member.id,
        Member.email,
        Member.full_name,
        Member.position,
        Member.role,
        Member.school_id,
        Member.language,
        School.name,
        School.region,
        School.locality,
        School.kind,
    )
    .join(School, School.id == Member.school_id)
    .where(Member.id == bindparam("member_id", type_=Member.__table__.c.id.type))
)

MEMBER_ORDER = (paging.SortKey(Member.full_name, str), paging.SortKey(Member.email, str))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_full_name(full_name: str) -> str:
    """The name as shown and searched: composed (NFC), spaces collapsed, not empty."""
    name = clean_line(full_name)
    if not name:
        raise InvalidInput(
            _('`full_name` must be a person\'s name, e.g. "Айгүл Асанова".'),
            errors=[{"field": "full_name", "message": "empty or not printable"}],
        )
    return name


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


async def read_me(connection: ASGIConnection[Any, Any, Any, Any], identity: Identity) -> MeOut:
    """The caller's account and school, to show: one row of columns, read as the sign-in
    lookup is (`database.PreparedRead`), on SQLite without a session for the request;
    change it through `AccountService.get_me`."""
    row = await _ME.first_in_request(connection.scope, {"member_id": identity.member_id})
    if row is None:  # pragma: no cover - the token resolved it a moment ago
        raise NotAuthenticated()
    (member_id, email, full_name, position, role, school_id, language, *school) = row
    name, region, locality, kind = school
    return MeOut(
        id=member_id,
        email=email,
        full_name=full_name,
        position=position,
        role=role,
        school_id=school_id,
        school=SchoolSummary(id=school_id, name=name, region=region, locality=locality, kind=kind),
        language=language,
    )


class AccountService(DomainService):
    # --- schools and members ---------------------------------------------------------

    async def create_school(
        self,
        *,
        name: str,
        admin_email: str,
        admin_password: str,
        admin_name: str | None = None,
        region: str | None = None,
    ) -> tuple[School, Member]:
        name = clean_line(name)
        if not name:
            raise InvalidInput(
                _("The school needs a name in visible letters."),
                errors=[
                    {"field": "name", "message": "empty once invisible characters are removed"}
                ],
            )
        check_password_rules(admin_password)
        school = School(name=name, region=clean_line(region or "") or None)
        self.session.add(school)
        await self.session.flush()
        admin = await self._insert_member(
            school.id,
            email=admin_email,
            password=admin_password,
            full_name=check_full_name(admin_name)
            if admin_name and clean_line(admin_name)
            else admin_email.split("@")[0],
            role=MemberRole.ADMIN,
            position=None,
        )
        await unit_of_work(self.session, self.clock).commit()
        return school, admin

    async def add_member(
        self, identity: Identity, data: MemberCreate
    ) -> tuple[Member, IssuedLink | None]:
        """Add a member; without a password, with a link to set theirs."""
        require_admin(
            identity,
            _("Only an admin of your school can add members. Ask your school's admin."),
        )
        password = data.password if isinstance(data.password, str) else None
        if password is not None:
            check_password_rules(password)
        member = await self._insert_member(
            identity.school_id,
            email=data.email,
            password=password,
            full_name=check_full_name(data.full_name),
            role=MemberRole(data.role),
            position=data.position,
        )
        link = None
        if password is None:
            link = await self._issue_link(identity, member, password_links.JOIN)
        await unit_of_work(self.session, self.clock).commit()
        return member, link

    async def issue_password_reset(self, identity: Identity, member_id: UUID) -> IssuedLink:
        """A new link for a member of the admin's school to set a new password with;
        the member's earlier links stop working."""
        require_admin(
            identity,
            _("Only an admin of your school can issue password links. Ask your school's admin."),
        )
        member = await self.get_member(identity, member_id)
        if not member.is_active:
            raise Conflict(
                _("This member's account is disabled. Enable it first, then make a new link.")
            )
        link = await self._issue_link(identity, member, password_links.RESET)
        await unit_of_work(self.session, self.clock).commit()
        return link

    async def _issue_link(self, identity: Identity, member: Member, purpose: str) -> IssuedLink:
        now = self.clock.now()
        school = (
            await self.session.execute(
                select(School.name, School.languages).where(School.id == member.school_id)
            )
        ).first()
        school_name, school_languages = school if school else ("", [])
        link = await password_links.issue_link(
            self.session,
            self.settings,
            member,
            school_name=school_name or "",
            # The e-mail is written in the member's language (their school's, until
            # they choose).
            language=resolve_language(
                member_choice=member.language, school_languages=school_languages or ()
            ),
            purpose=purpose,
            issued_by=identity.member_id,
            now=now,
        )
        unit_of_work(self.session, self.clock).record(
            PasswordLinkIssued(identity, member, purpose, link.mailed)
        )
        return link

    async def _insert_member(
        self,
        school_id: UUID,
        *,
        email: str,
        password: str | None,
        full_name: str,
        role: MemberRole,
        position: str | None,
    ) -> Member:
        email = normalise_email(email)
        taken = await self.session.scalar(select(Member.id).where(Member.email == email))
        if taken is not None:
            raise Conflict(
                _(
                    "{email} already has an account in the exchange. Each person signs in with "
                    "their own e-mail address.",
                    email=email,
                )
            )
        member = Member(
            school_id=school_id,
            email=email,
            full_name=full_name,
            role=role,
            position=(position or "").strip() or None,
            # No password yet (it is set with a link): nothing can match an empty hash.
            password_hash=await hash_password(password) if password is not None else "",
        )
        self.session.add(member)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                _("{email} already has an account in the exchange.", email=email)
            ) from exc
        return member

    async def list_members(
        self, identity: Identity, *, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
    ) -> paging.Window[Member]:
        """The school's members by name (then e-mail, which is unique)."""
        return await paging.fetch(
            self.session,
            select(Member).where(Member.school_id == identity.school_id),
            MEMBER_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("members"),
        )

    async def get_member(self, identity: Identity, member_id: UUID) -> Member:
        member = await self.session.scalar(
            select(Member).where(Member.id == member_id, Member.school_id == identity.school_id)
        )
        if member is None:
            raise NotFound(_("There is no such member in your school."))
        return member

    async def set_member_active(self, identity: Identity, member_id: UUID, active: bool) -> Member:
        require_admin(
            identity,
            _(
                "Only an admin of your school can disable or enable members. Ask your school's "
                "admin."
            ),
        )
        member = await self.get_member(identity, member_id)
        if not active and member.id == identity.member_id:
            raise Conflict(
                _("You cannot disable your own account. Ask another admin of your school.")
            )
        if not active and member.role == MemberRole.ADMIN and member.is_active:
            admins = await self.session.scalar(
                select(func.count())
                .select_from(Member)
                .where(
                    Member.school_id == identity.school_id,
                    Member.role == MemberRole.ADMIN,
                    Member.is_active.is_(True),
                )
            )
            if (admins or 0) <= 1:
                raise Conflict(
                    _("This is your school's last active admin; add another admin first.")
                )
        member.is_active = active
        member.disabled_at = None if active else self.clock.now()
        if not active:
            await self.session.execute(
                update(AccessToken)
                .where(AccessToken.member_id == member.id, AccessToken.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
        await unit_of_work(self.session, self.clock).commit()
        return member

    async def update_member(
        self, identity: Identity, member_id: UUID, data: MemberUpdate
    ) -> Member:
        require_admin(
            identity,
            _(
                "Only an admin of your school can change another member's details. Ask your "
                "school's admin."
            ),
        )
        return await self._update(await self.get_member(identity, member_id), data)

    async def update_me(self, identity: Identity, data: MemberUpdate) -> Member:
        return await self._update(await self.get_me(identity), data)

    async def _update(self, member: Member, data: MemberUpdate) -> Member:
        if data.position is not UNSET:
            member.position = (data.position or "").strip() or None
        if data.language is not UNSET:
            member.language = data.language
        if data.full_name is not UNSET:
            name = check_full_name(data.full_name)
            if name != member.full_name:
                member.full_name = name
                unit_of_work(self.session, self.clock).record(MemberRenamed(member=member))
        await unit_of_work(self.session, self.clock).commit()
        return member

    async def get_me(self, identity: Identity) -> Member:
        member = await self.session.get(Member, identity.member_id)
        if member is None:  # pragma: no cover - the token resolved it a moment ago
            raise NotAuthenticated()
        return member

    # --- signing in and out ----------------------------------------------------------

    async def sign_in(self, email: str, password: str, address: str | None) -> IssuedToken:
        """Check the password, throttled as `exchange.accounts.throttle` describes."""
        email = normalise_email(email)
        now = self.clock.now()
        member = await self.session.scalar(select(Member).where(Member.email == email))
        known = (
            member is not None
            and address is not None
            and await throttle.is_known_address(
                self.session, self.settings, member.id, address, now
            )
        )
        # The reads end here: the counting transaction below starts with its first write,
        # so on SQLite it waits its turn instead of failing on a stale snapshot.
        await unit_of_work(self.session, self.clock).commit()
        counters = throttle.counters_for(self.settings, email, address, known_address=known)
        await throttle.count_attempt(self.session, self.settings, counters, now)
        valid = await verify_password(member.password_hash if member else None, password)
        if member is None or not valid or not member.is_active:
            raise NotAuthenticated(
                _(
                    "The e-mail address or the password is not right (or the account is "
                    "disabled). Check them and try again; your school's admin can reset it."
                )
            )
        await throttle.forget_attempt(self.session, self.settings, counters, now)
        if address is not None:
            await throttle.remember_address(self.session, self.settings, member.id, address, now)
        token = new_token()
        expires_at = now + timedelta(hours=self.settings.token_ttl_hours)
        self.session.add(
            AccessToken(member_id=member.id, token_hash=token_digest(token), expires_at=expires_at)
        )
        await unit_of_work(self.session, self.clock).commit()
        return IssuedToken(token=token, expires_at=expires_at)

    async def sign_out(self, identity: Identity) -> None:
        await self.session.execute(
            update(AccessToken)
            .where(AccessToken.id == identity.token_id)
            .values(revoked_at=self.clock.now())
        )
        await unit_of_work(self.session, self.clock).commit()

    # --- passwords ----------------------------------------------------------------------

    async def set_password_with_link(self, token: str, new_password: str) -> None:
        """Set a member's password with a link's token: once, before it expires, and only
        the newest link. Every sign-in of the member ends."""
        now = self.clock.now()
        link = await self.session.scalar(
            select(PasswordLink).where(PasswordLink.token_hash == token_digest(token))
        )
        if link is None:
            raise NotFound(
                _(
                    "This link is not one the exchange made. Check that you copied the whole "
                    "link, or ask your school's admin for a new one."
                )
            )
        refuse_unusable_link(link, now)
        check_password_rules(new_password)
        member = await self.session.get(Member, link.member_id)
        if member is None or not member.is_active:
            raise Conflict(
                _(
                    "This account is disabled, so its password cannot be set. Ask your school's "
                    "admin."
                )
            )
        # The reads end before the slow hash (nothing is recorded yet).
        await unit_of_work(self.session, self.clock).commit()
        password_hash = await hash_password(new_password)
        # Claimed in one statement: of two uses at once, one sets the password.
        claimed = await self.session.execute(
            update(PasswordLink)
            .where(
                PasswordLink.id == link.id,
                PasswordLink.used_at.is_(None),
                PasswordLink.replaced_at.is_(None),
                PasswordLink.expires_at > now,
            )
            .values(used_at=now)
        )
        if _rowcount(claimed) != 1:
            await self.session.rollback()
            await self.session.refresh(link)
            refuse_unusable_link(link, now)
        await self.session.execute(
            update(Member).where(Member.id == member.id).values(password_hash=password_hash)
        )
        await password_links.void_links(self.session, member.id, now)
        ended = await end_sign_ins(self.session, member.id, now)
        uow = unit_of_work(self.session, self.clock)
        uow.record(PasswordSet(member, link.purpose, ended))
        await uow.commit()

    async def change_password(
        self, identity: Identity, current_password: str, new_password: str, address: str | None
    ) -> None:
        """Change one's own password, the current one required (and throttled as
        sign-ins are). The member's other sign-ins end; this one stays."""
        check_password_rules(new_password)
        member = await self.get_me(identity)
        now = self.clock.now()
        await unit_of_work(self.session, self.clock).commit()
        counters = throttle.counters_for(self.settings, member.email, address, known_address=True)
        await throttle.count_attempt(self.session, self.settings, counters, now)
        if not await verify_password(member.password_hash, current_password):
            raise InvalidInput(
                _(
                    "Your current password is not right. Type it again; if you forgot it, ask "
                    "your school's admin for a link to set a new one."
                ),
                errors=[{"field": "current_password", "message": "not right"}],
            )
        password_hash = await hash_password(new_password)
        await throttle.forget_attempt(self.session, self.settings, counters, now)
        await self.session.execute(
            update(Member).where(Member.id == member.id).values(password_hash=password_hash)
        )
        await password_links.void_links(self.session, member.id, now)
        ended = await end_sign_ins(self.session, member.id, now, keep_token_id=identity.token_id)
        uow = unit_of_work(self.session, self.clock)
        uow.record(PasswordChanged(identity, member, ended))
        await uow.commit()


def refuse_unusable_link(link: PasswordLink, now: datetime) -> None:
    """Say plainly why a link no longer works."""
    if link.used_at is not None:
        raise Conflict(
            _(
                "This link was already used to set a password. Sign in with that password, or ask "
                "your school's admin for a new link."
            ),
            link_status="used",
        )
    if link.replaced_at is not None:
        raise Conflict(
            _(
                "This link no longer works: a newer link was made for this account, or its "
                "password was changed. Use the newest link, or ask your school's admin for a new "
                "one."
            ),
            link_status="replaced",
        )
    if link.expires_at <= now:
        raise Conflict(
            _(
                "This link expired on {day}. Ask your school's admin for a new one.",
                day=link.expires_at,
            ),
            link_status="expired",
        )


async def end_sign_ins(
    session: AsyncSession, member_id: UUID, now: datetime, *, keep_token_id: UUID | None = None
) -> int:
    """End the member's sign-ins, all of them or all but one; returns how many.

    The pages' sessions are access tokens too, so they end with the API's; a store of
    sessions kept elsewhere would be ended here as well.
    """
    statement = update(AccessToken).where(
        AccessToken.member_id == member_id, AccessToken.revoked_at.is_(None)
    )
    if keep_token_id is not None:
        statement = statement.where(AccessToken.id != keep_token_id)
    return _rowcount(await session.execute(statement.values(revoked_at=now)))


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0
