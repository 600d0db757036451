"""A fresh install's first run: the first school and its admin, made from the pages.

While the database holds no school, `exchange serve` makes a one-time setup code and
prints it on its console; the first-run page asks for it, so whoever can reach the
address but not the console cannot take the install. Only the code's SHA-256 is kept
(it is random, 60 bits: nothing to guess offline or online). Every instance started
within `CODE_KEPT` prints a code of its own and each works, whichever instance the proxy
sends the page to; the first school uses them all up, inside its transaction, so two
people racing with two codes get one school.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Final

from sqlalchemy import delete, exists, select

from exchange.accounts.services import AccountService
from exchange.domain_service import DomainService
from exchange.errors import InvalidInput, NotFound
from exchange.i18n import _
from exchange.models import Member, School, SetupCode
from exchange.unit_of_work import unit_of_work

PURPOSE: Final = "first_school"
# Letters and digits that cannot be mistaken for each other when read off a console.
_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LENGTH: Final = 12
# How long a printed code keeps working while no school exists; an older one is dropped
# when an instance starts.
CODE_KEPT: Final = timedelta(days=1)


def _digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _LENGTH, 4))


class FirstRunService(DomainService):
    async def needed(self) -> bool:
        """True while the database holds no school."""
        return not bool(await self.session.scalar(select(exists().where(School.id.is_not(None)))))

    async def issue_code(self) -> str | None:
        """A new setup code (those of the other instances keep working, unless older than
        `CODE_KEPT`), or None once a school exists."""
        if not await self.needed():
            return None
        code = new_code()
        await self.session.execute(
            delete(SetupCode).where(
                SetupCode.purpose == PURPOSE, SetupCode.created_at < self.clock.now() - CODE_KEPT
            )
        )
        self.session.add(
            SetupCode(purpose=PURPOSE, code_hash=_digest(code), created_at=self.clock.now())
        )
        await unit_of_work(self.session, self.clock).commit()
        return code

    async def create_first_school(
        self,
        *,
        setup_code: str,
        name: str,
        region: str | None,
        admin_name: str,
        admin_email: str,
        admin_password: str,
    ) -> tuple[School, Member]:
        if not await self.needed():
            raise NotFound(_("The exchange already has its first school."))
        # Every code goes; the one given must be among them. Of two people racing, the
        # second finds none left.
        used = await self.session.scalars(
            delete(SetupCode).where(SetupCode.purpose == PURPOSE).returning(SetupCode.code_hash)
        )
        if _digest(setup_code) not in set(used):
            await self.session.rollback()
            raise InvalidInput(
                _(
                    "This is not the setup code. It is shown in the console where 'exchange "
                    "serve' was started; restarting the service shows a new one."
                ),
                field="setup_code",
            )
        return await AccountService(self.session, self.settings, self.clock).create_school(
            name=name,
            admin_email=admin_email,
            admin_password=admin_password,
            admin_name=admin_name,
            region=region,
        )
