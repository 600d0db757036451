"""HTTP routes of accounts: thin, they parse and call the service."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from exchange.accounts.identity import Identity
from exchange.accounts.schemas import (
    MemberAdded,
    MemberCreate,
    MemberOut,
    MemberPage,
    MemberUpdate,
    MeOut,
    PasswordChange,
    PasswordLinkOut,
    SchoolSummary,
    SetPassword,
    SignIn,
    TokenOut,
)
from exchange.accounts.services import AccountService, read_me
from exchange.i18n import resolve_language, use_language
from exchange.kernel import paging
from exchange.models import Member
from exchange.openapi import problems


def member_out(member: Member) -> MemberOut:
    return MemberOut(
        id=member.id,
        school_id=member.school_id,
        email=member.email,
        full_name=member.full_name,
        position=member.position,
        role=member.role,
        is_active=member.is_active,
        created_at=member.created_at,
        language=member.language,
    )


def me_out(member: Member) -> MeOut:
    school = member.school
    return MeOut(
        id=member.id,
        email=member.email,
        full_name=member.full_name,
        position=member.position,
        role=member.role,
        school_id=member.school_id,
        school=SchoolSummary(
            id=school.id,
            name=school.name,
            region=school.region,
            locality=school.locality,
            kind=school.kind,
        ),
        language=member.language,
    )


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @post(
        "/token",
        operation_id="signIn",
        responses=problems(401, 429),
        summary="Sign in with e-mail and password",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        security=[],
    )
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        data: JSONBody[SignIn],
    ) -> TokenOut:
        address = request.client.host if request.client else None
        issued = await accounts.sign_in(data.email, data.password, address)
        return TokenOut(access_token=issued.token, expires_at=issued.expires_at)

    @post(
        "/set-password",
        operation_id="setPasswordWithLink",
        responses=problems(404, 409),
        summary="Set a password with a one-time link's token",
        description=(
            "The token is the `token` of a link from `POST /api/members` or "
            "`POST /api/members/{id}/password-reset`. It works once, before it expires, "
            "and only while it is the member's newest link; a used, replaced or expired "
            "link is refused with 409 and a `link_status` saying which. Every sign-in of "
            "the member ends."
        ),
        status_code=HTTP_204_NO_CONTENT,
        exclude_from_auth=True,
        security=[],
    )
    async def set_password(
        self, accounts: NamedDependency[AccountService], data: JSONBody[SetPassword]
    ) -> None:
        await accounts.set_password_with_link(data.token, data.new_password)

    @delete("/token", operation_id="signOut", summary="Sign out: this token stops working")
    async def sign_out(
        self, accounts: NamedDependency[AccountService], identity: NamedDependency[Identity]
    ) -> None:
        await accounts.sign_out(identity)


class MeController(Controller):
    path = "/api/me"
    tags = ["accounts"]
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @get(operation_id="getMe", summary="The signed-in member, their role and school")
    async def me(
        self, request: Request[Any, Any, Any], identity: NamedDependency[Identity]
    ) -> MeOut:
        return await read_me(request, identity)

    @patch(
        operation_id="updateMe",
        summary="Change your own name, position or language",
    )
    async def update_me(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        data: JSONBody[MemberUpdate],
    ) -> MeOut:
        member = await accounts.update_me(identity, data)
        # The answer is already in the language just chosen.
        use_language(
            request.scope,
            resolve_language(
                member_choice=member.language,
                accept_language=request.headers.get("accept-language"),
                school_languages=member.school.languages or (),
            ),
        )
        return me_out(member)

    @post(
        "/password",
        operation_id="changeMyPassword",
        responses=problems(429),
        summary="Change your own password (the current one required)",
        description=(
            "Your other sign-ins (tokens and the pages' sessions) end; this one stays. "
            "Wrong current passwords are throttled as sign-ins are."
        ),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        data: JSONBody[PasswordChange],
    ) -> None:
        address = request.client.host if request.client else None
        await accounts.change_password(identity, data.current_password, data.new_password, address)


class MemberController(Controller):
    path = "/api/members"
    tags = ["accounts"]
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @post(
        operation_id="addMember",
        responses=problems(409),
        summary="Add a member to your school (admins)",
        status_code=HTTP_201_CREATED,
    )
    async def add(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        data: JSONBody[MemberCreate],
    ) -> MemberAdded:
        member, link = await accounts.add_member(identity, data)
        added = MemberAdded(**msgspec.structs.asdict(member_out(member)))
        if link is not None:
            added.set_password_url = link.url
            added.expires_at = link.expires_at
            added.link_emailed = link.mailed
        return added

    @post(
        "/{member_id:uuid}/password-reset",
        operation_id="resetMemberPassword",
        responses=problems(409),
        summary="Make a new one-time link for a member to set a new password (admins)",
        description=(
            "The member's earlier links stop working; their password works until the "
            "link is used. The link is e-mailed to the member when the exchange sends mail."
        ),
        status_code=HTTP_201_CREATED,
    )
    async def password_reset(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        member_id: FromPath[UUID],
    ) -> PasswordLinkOut:
        link = await accounts.issue_password_reset(identity, member_id)
        return PasswordLinkOut(
            member_id=member_id,
            set_password_url=link.url,
            expires_at=link.expires_at,
            emailed=link.mailed,
        )

    @get(operation_id="listMembers", summary="Members of your school")
    async def list(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> MemberPage:
        page = await accounts.list_members(identity, limit=limit, cursor=cursor)
        return MemberPage(items=[member_out(m) for m in page.rows], next_cursor=page.next_cursor)

    @get("/{member_id:uuid}", operation_id="getMember", summary="One member of your school")
    async def get(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        member_id: FromPath[UUID],
    ) -> MemberOut:
        return member_out(await accounts.get_member(identity, member_id))

    @patch(
        "/{member_id:uuid}",
        operation_id="updateMember",
        summary="Change a member's name or position (admins)",
    )
    async def update(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        member_id: FromPath[UUID],
        data: JSONBody[MemberUpdate],
    ) -> MemberOut:
        return member_out(await accounts.update_member(identity, member_id, data))

    @post(
        "/{member_id:uuid}/disable",
        operation_id="disableMember",
        responses=problems(409),
        summary="Disable a member: their sign-ins stop working at once (admins)",
        status_code=HTTP_200_OK,
    )
    async def disable(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        member_id: FromPath[UUID],
    ) -> MemberOut:
        return member_out(await accounts.set_member_active(identity, member_id, active=False))

    @post(
        "/{member_id:uuid}/enable",
        operation_id="enableMember",
        responses=problems(409),
        summary="Enable a disabled member again (admins)",
        status_code=HTTP_200_OK,
    )
    async def enable(
        self,
        accounts: NamedDependency[AccountService],
        identity: NamedDependency[Identity],
        member_id: FromPath[UUID],
    ) -> MemberOut:
        return member_out(await accounts.set_member_active(identity, member_id, active=True))
