"""The oracle for who may make which move on a partnership (role x side x move)."""

from uuid import UUID, uuid4

import pytest

from exchange.accounts.identity import Identity
from exchange.errors import Forbidden, NotFound
from exchange.models import MemberRole, Partnership
from exchange.policy import (
    PartnershipMove,
    PartnershipSide,
    partnership_side,
    require_partnership_move,
)

INVITING, INVITED, THIRD = UUID(int=1), UUID(int=2), UUID(int=3)
PARTNERSHIP = Partnership(inviting_school_id=INVITING, invited_school_id=INVITED)

ALLOWED = "allowed"
# (move, school, role) -> outcome
TABLE = {
    (PartnershipMove.ACCEPT, INVITED, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.ACCEPT, INVITING, MemberRole.ADMIN): Forbidden,
    (PartnershipMove.DECLINE, INVITED, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.DECLINE, INVITING, MemberRole.ADMIN): Forbidden,
    (PartnershipMove.WITHDRAW, INVITING, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.WITHDRAW, INVITED, MemberRole.ADMIN): Forbidden,
    (PartnershipMove.REMIND, INVITING, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.REMIND, INVITED, MemberRole.ADMIN): Forbidden,
    (PartnershipMove.END, INVITING, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.END, INVITED, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.UPDATE, INVITING, MemberRole.ADMIN): ALLOWED,
    (PartnershipMove.UPDATE, INVITED, MemberRole.ADMIN): ALLOWED,
}
for _move in PartnershipMove:
    for _school in (INVITING, INVITED):
        TABLE[(_move, _school, MemberRole.TEACHER)] = Forbidden
    for _role in MemberRole:
        TABLE[(_move, THIRD, _role)] = NotFound


def identity(school_id: UUID, role: MemberRole) -> Identity:
    return Identity(
        member_id=uuid4(),
        school_id=school_id,
        role=role,
        email="someone@school.kg",
        full_name="Someone",
        token_id=uuid4(),
    )


def test_the_table_covers_every_move_school_and_role() -> None:
    assert len(TABLE) == len(PartnershipMove) * 3 * len(MemberRole)


@pytest.mark.parametrize(("case", "outcome"), TABLE.items(), ids=str)
def test_who_may_make_each_move(
    case: tuple[PartnershipMove, UUID, MemberRole], outcome: object
) -> None:
    move, school_id, role = case
    caller = identity(school_id, role)

    if outcome == ALLOWED:
        side = require_partnership_move(caller, PARTNERSHIP, move)
        assert side is partnership_side(caller, PARTNERSHIP)
    else:
        assert isinstance(outcome, type)
        with pytest.raises(outcome):
            require_partnership_move(caller, PARTNERSHIP, move)


def test_sides_are_named_from_the_callers_school() -> None:
    assert partnership_side(identity(INVITING, MemberRole.TEACHER), PARTNERSHIP) is (
        PartnershipSide.INVITING
    )
    assert partnership_side(identity(INVITED, MemberRole.ADMIN), PARTNERSHIP) is (
        PartnershipSide.INVITED
    )
    assert partnership_side(identity(THIRD, MemberRole.ADMIN), PARTNERSHIP) is None
