"""The table of who may do what: every action has a line; who may read, answer and
withdraw a reuse request (role x side), as `require` tells it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from exchange.accounts.identity import Identity
from exchange.errors import DomainError, Forbidden, NotFound
from exchange.models import MemberRole, ReuseRequest
from exchange.policy import POLICY, Action, require

OWNER, REQUESTER, THIRD = UUID(int=1), UUID(int=2), UUID(int=3)
AUTHOR, ASKER = UUID(int=11), UUID(int=12)


@dataclass
class Author:
    member_id: UUID


@dataclass
class Resource:
    owner_school_id: UUID
    authors: list[Author]


RESOURCE = Resource(OWNER, [Author(AUTHOR)])
REQUEST = ReuseRequest(requesting_school_id=REQUESTER, requested_by_id=ASKER)


def caller(school_id: UUID, role: MemberRole, member_id: UUID | None = None) -> Identity:
    return Identity(
        member_id=member_id or uuid4(),
        school_id=school_id,
        role=role,
        email="someone@school.kg",
        full_name="Someone",
        token_id=uuid4(),
    )


CALLERS = {
    "author": caller(OWNER, MemberRole.TEACHER, AUTHOR),
    "owner admin": caller(OWNER, MemberRole.ADMIN),
    "owner teacher": caller(OWNER, MemberRole.TEACHER),
    "asker": caller(REQUESTER, MemberRole.TEACHER, ASKER),
    "requesting admin": caller(REQUESTER, MemberRole.ADMIN),
    "requesting teacher": caller(REQUESTER, MemberRole.TEACHER),
    "third admin": caller(THIRD, MemberRole.ADMIN),
}
# Who may do what with a reuse request: the oracle, (caller, action) -> refusal or None.
REQUESTS: dict[tuple[str, Action], type[DomainError] | None] = {}
for name in CALLERS:
    answers = name in {"author", "owner admin"}
    asked = name in {"asker", "requesting admin"}
    REQUESTS[(name, Action.READ_REQUEST)] = None if answers or asked else NotFound
    REQUESTS[(name, Action.ANSWER_REQUEST)] = None if answers else Forbidden
    REQUESTS[(name, Action.WITHDRAW_REQUEST)] = None if asked else Forbidden


def test_every_action_has_a_line() -> None:
    assert set(POLICY) == set(Action)


def test_only_reading_a_resource_rests_on_other_rows() -> None:
    in_sql_only = {
        action
        for action, rule in POLICY.items()
        if any(r.in_sql_only for r in rule.allowed.relations())
    }
    assert in_sql_only == {Action.READ_RESOURCE}
    with pytest.raises(TypeError, match="decided in SQL"):
        require(CALLERS["owner admin"], Action.READ_RESOURCE, RESOURCE)


@pytest.mark.parametrize(("case", "refusal"), REQUESTS.items(), ids=str)
def test_who_may_read_answer_and_withdraw_a_request(
    case: tuple[str, Action], refusal: type[DomainError] | None
) -> None:
    name, action = case
    identity = CALLERS[name]
    if refusal is None:
        require(identity, action, REQUEST, resource=RESOURCE)
    else:
        with pytest.raises(refusal):
            require(identity, action, REQUEST, resource=RESOURCE)
