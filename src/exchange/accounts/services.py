"""Accounts: creating schools with their first admin, members, signing in and out."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from msgspec import UNSET
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts import throttle
from exchange.accounts.identity import Identity, new_token, token_digest
from exchange.accounts.passwords import check_password_rules, hash_password, verify_password
from exchange.accounts.schemas import MemberCreate, MemberUpdate
from exchange.clock import Clock
from exchange.config import Settings
from exchange.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from exchange.models import AccessToken, Member, MemberRole, School
from exchange.policy import require_admin
from exchange.search.index import SearchIndex


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_full_name(full_name: str) -> str:
    """The name as shown and searched: composed (NFC), spaces collapsed, not empty."""
    name = " ".join(unicodedata.normalize("NFC", full_name).split())
    if not name or any(unicodedata.category(char) == "Cc" for char in name):
        raise InvalidInput(
            '`full_name` must be a person\'s name, e.g. "Айгүл Асанова".',
            errors=[{"field": "full_name", "message": "empty or not printable"}],
        )
    return name


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


class AccountService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock

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
        name = name.strip()
        if not name:
            raise InvalidInput("The school needs a name.")
        check_password_rules(admin_password)
        school = School(name=name, region=(region or "").strip() or None)
        self.session.add(school)
        await self.session.flush()
        admin = await self._insert_member(
            school.id,
            email=admin_email,
            password=admin_password,
            full_name=check_full_name(admin_name)
            if admin_name and admin_name.strip()
            else admin_email.split("@")[0],
            role=MemberRole.ADMIN,
            position=None,
        )
        await self.session.commit()
        return school, admin

    async def add_member(self, identity: Identity, data: MemberCreate) -> Member:
        require_admin(identity, "add members")
        check_password_rules(data.password)
        member = await self._insert_member(
            identity.school_id,
            email=data.email,
            password=data.password,
            full_name=check_full_name(data.full_name),
            role=MemberRole(data.role),
            position=data.position,
        )
        await self.session.commit()
        return member

    async def _insert_member(
        self,
        school_id: UUID,
        *,
        email: str,
        password: str,
        full_name: str,
        role: MemberRole,
        position: str | None,
    ) -> Member:
        email = normalise_email(email)
        taken = await self.session.scalar(select(Member.id).where(Member.email == email))
        if taken is not None:
            raise Conflict(
                f"{email} already has an account in the exchange. Each person signs in with "
                "their own e-mail address."
            )
        member = Member(
            school_id=school_id,
            email=email,
            full_name=full_name,
            role=role.value,
            position=(position or "").strip() or None,
            password_hash=await hash_password(password),
        )
        self.session.add(member)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"{email} already has an account in the exchange.") from exc
        return member

    async def list_members(self, identity: Identity) -> list[Member]:
        result = await self.session.scalars(
            select(Member)
            .where(Member.school_id == identity.school_id)
            .order_by(Member.full_name, Member.email)
        )
        return list(result)

    async def get_member(self, identity: Identity, member_id: UUID) -> Member:
        member = await self.session.scalar(
            select(Member).where(Member.id == member_id, Member.school_id == identity.school_id)
        )
        if member is None:
            raise NotFound("There is no such member in your school.")
        return member

    async def set_member_active(self, identity: Identity, member_id: UUID, active: bool) -> Member:
        require_admin(identity, "disable or enable members")
        member = await self.get_member(identity, member_id)
        if not active and member.id == identity.member_id:
            raise Conflict("You cannot disable your own account. Ask another admin of your school.")
        if not active and member.role == MemberRole.ADMIN.value and member.is_active:
            admins = await self.session.scalar(
                select(func.count())
                .select_from(Member)
                .where(
                    Member.school_id == identity.school_id,
                    Member.role == MemberRole.ADMIN.value,
                    Member.is_active.is_(True),
                )
            )
            if (admins or 0) <= 1:
                raise Conflict("This is your school's last active admin; add another admin first.")
        member.is_active = active
        member.disabled_at = None if active else self.clock.now()
        if not active:
            await self.session.execute(
                update(AccessToken)
                .where(AccessToken.member_id == member.id, AccessToken.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
        await self.session.commit()
        return member

    async def update_member(
        self, identity: Identity, member_id: UUID, data: MemberUpdate
    ) -> Member:
        require_admin(identity, "change another member's details")
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
                # Authors' names are indexed with their resources: a search by the new
                # name finds them, by the old one no longer, from this commit on.
                await SearchIndex(self.session).refresh_authored_by(member.id)
        await self.session.commit()
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
        await self.session.commit()
        counters = throttle.counters_for(self.settings, email, address, known_address=known)
        await throttle.count_attempt(self.session, self.settings, counters, now)
        valid = await verify_password(member.password_hash if member else None, password)
        if member is None or not valid or not member.is_active:
            raise NotAuthenticated(
                "The e-mail address or the password is not right (or the account is "
                "disabled). Check them and try again; your school's admin can reset it."
            )
        await throttle.forget_attempt(self.session, self.settings, counters, now)
        if address is not None:
            await throttle.remember_address(self.session, self.settings, member.id, address, now)
        token = new_token()
        expires_at = now + timedelta(hours=self.settings.token_ttl_hours)
        self.session.add(
            AccessToken(member_id=member.id, token_hash=token_digest(token), expires_at=expires_at)
        )
        await self.session.commit()
        return IssuedToken(token=token, expires_at=expires_at)

    async def sign_out(self, identity: Identity) -> None:
        await self.session.execute(
            update(AccessToken)
            .where(AccessToken.id == identity.token_id)
            .values(revoked_at=self.clock.now())
        )
        await self.session.commit()
