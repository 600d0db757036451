"""Who may do what: one table of actions to the relations that allow them.

Read it as the code of conduct's rules of access (rule 1 of the contract, rules 6, 7
and 9 of the code): each line names an action, the relations of the caller to the object
that allow it (any of them), the table its SQL form filters, and how a refusal is told
(404 when the caller may not even know the object exists, 403 when it may, with a
sentence from `exchange.policy.refusals`). `exchange.policy.require` checks a line
against an object in hand; `exchange.policy.where` writes it as a condition for lists.

What depends on the state of things rather than on who asks (a confidential resource is
never shared, an ended partnership takes no activity) is not here: see
`exchange.policy.reuse`, `exchange.policy.consent` and `exchange.policy.partnerships`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from exchange.errors import DomainError, Forbidden, NotFound
from exchange.i18n import LazyText
from exchange.models import (
    AuditEvent,
    Forward,
    Grant,
    Notification,
    PartnerQuestion,
    Partnership,
    Resource,
    ReuseRequest,
    School,
    Upload,
)
from exchange.policy import refusals
from exchange.policy.relations import (
    Admin,
    Always,
    Author,
    ForwardedTo,
    Listed,
    Member,
    OfResource,
    Partner,
    Relation,
    Responsible,
    Target,
    all_of,
    any_of,
)
from exchange.policy.relations import School as SchoolOf


class Action(StrEnum):
    # A resource.
    READ_RESOURCE = "read a resource"
    CHANGE_RESOURCE = "change a resource"
    ADD_VERSION = "add a version"
    DELETE_RESOURCE = "delete a resource"
    READ_DOWNLOADS = "see who downloaded a resource"
    # Reuse requests (rules 7 and 9).
    READ_REQUEST = "read a reuse request"
    ANSWER_REQUEST = "answer a reuse request"
    WITHDRAW_REQUEST = "withdraw a reuse request"
    # Grants and forwards (rule 7).
    READ_GRANT = "read a grant"
    REVOKE_GRANT = "withdraw a permission"
    READ_FORWARD = "read a forward"
    # The audit trail.
    READ_AUDIT = "read the audit trail"
    # Partnerships, their activities and questions.
    INVITE = "invite a partner"
    READ_PARTNERSHIP = "read a partnership"
    ACCEPT_INVITATION = "accept an invitation"
    DECLINE_INVITATION = "decline an invitation"
    WITHDRAW_INVITATION = "withdraw an invitation"
    REMIND_INVITATION = "remind of an overdue invitation"
    END_PARTNERSHIP = "end a partnership"
    UPDATE_PARTNERSHIP = "change a partnership"
    READ_ACTIVITY = "read an activity"
    PLAN_ACTIVITY = "plan or change an activity"
    EVALUATE_ACTIVITY = "evaluate an activity"
    READ_QUESTION = "read a question"
    ASK_QUESTION = "ask a question"
    ANSWER_QUESTION = "answer a question"
    # The school's profile; a member's inbox.
    READ_PROFILE = "read a school's profile"
    EDIT_PROFILE = "change the school's profile"
    READ_NOTIFICATION = "read a notice"
    # A resumable upload: only the member who began it sees or continues it.
    CONTINUE_UPLOAD = "see or continue an upload"


@dataclass(frozen=True)
class Trail:
    """A school's audit trail, the object of `READ_AUDIT`."""

    owner_school_id: UUID


# Refusals: the error for a caller the line refuses.
Refusal = Callable[[Any, Target], DomainError]


def hidden(sentence: LazyText) -> Refusal:
    return lambda identity, target: NotFound(sentence)


def forbidden(sentence: LazyText) -> Refusal:
    return lambda identity, target: Forbidden(sentence)


def by_school(colleague: LazyText, other_school: LazyText) -> Refusal:
    """A colleague in the owner school and another school are told different things."""

    def refuse(identity: Any, target: Target) -> DomainError:
        resource = target.resource if target.resource is not None else target.obj
        mine = resource.owner_school_id == identity.school_id
        return Forbidden(colleague if mine else other_school)

    return refuse


def by_role(not_admin: LazyText, admin: LazyText) -> Refusal:
    """A teacher is told to ask an admin; an admin of the wrong side what that side does."""
    return lambda identity, target: Forbidden(admin if identity.is_admin else not_admin)


@dataclass(frozen=True)
class Rule:
    allowed: Relation
    model: Any
    refusal: Refusal


# --- the relations, named as the rules name them ---------------------------------------------

OWNER = SchoolOf("owner_school_id")
OWNER_ADMIN = all_of(Admin(), OWNER)
# Those who act for a resource: its authors and its owner school's admins.
EDITORS = any_of(Author(), OWNER_ADMIN)
# The side that asked: the member who asked, and their school's admins.
REQUESTING_SIDE = all_of(
    SchoolOf("requesting_school_id"), any_of(Admin(), Member("requested_by_id"))
)
INVITING = SchoolOf("inviting_school_id")
INVITED = SchoolOf("invited_school_id")
EITHER_SIDE = any_of(INVITING, INVITED)
RESPONSIBLE_OR_ADMIN = any_of(Admin(), Responsible())

# Reading a resource: its owner school; an active partner when its visibility is
# `partners`; an active partner named in `shared_with` when it is `selected`; a school a
# holder of a `share` grant (or of an open licence) forwarded it to, while the forward
# stands. `school` never leaves the owner.
READ = any_of(OWNER, Partner(), Listed(), ForwardedTo())
# Reading it without a forward: where a forward's first hop must start.
READ_DIRECTLY = READ.without(ForwardedTo)

POLICY: Mapping[Action, Rule] = {
    Action.READ_RESOURCE: Rule(READ, Resource, hidden(refusals.NO_SUCH_RESOURCE)),
    Action.CHANGE_RESOURCE: Rule(
        EDITORS,
        Resource,
        by_school(refusals.EDIT_CHANGE_COLLEAGUE, refusals.EDIT_CHANGE_OTHER_SCHOOL),
    ),
    Action.ADD_VERSION: Rule(
        EDITORS,
        Resource,
        by_school(refusals.EDIT_ADD_VERSION_COLLEAGUE, refusals.EDIT_ADD_VERSION_OTHER_SCHOOL),
    ),
    Action.DELETE_RESOURCE: Rule(
        EDITORS,
        Resource,
        by_school(refusals.EDIT_DELETE_COLLEAGUE, refusals.EDIT_DELETE_OTHER_SCHOOL),
    ),
    Action.READ_DOWNLOADS: Rule(EDITORS, Resource, forbidden(refusals.ONLY_EDITORS_SEE_DOWNLOADS)),
    Action.READ_REQUEST: Rule(
        any_of(REQUESTING_SIDE, OfResource(EDITORS)),
        ReuseRequest,
        hidden(refusals.NO_SUCH_REQUEST),
    ),
    Action.ANSWER_REQUEST: Rule(
        OfResource(EDITORS), ReuseRequest, forbidden(refusals.NOT_A_DECIDER_ANSWER)
    ),
    Action.WITHDRAW_REQUEST: Rule(
        REQUESTING_SIDE, ReuseRequest, forbidden(refusals.ONLY_REQUESTER_WITHDRAWS)
    ),
    Action.READ_GRANT: Rule(
        any_of(OfResource(OWNER), SchoolOf("school_id")), Grant, hidden(refusals.NO_SUCH_GRANT)
    ),
    Action.REVOKE_GRANT: Rule(
        OfResource(EDITORS), Grant, forbidden(refusals.NOT_A_DECIDER_WITHDRAW_GRANT)
    ),
    Action.READ_FORWARD: Rule(
        any_of(OfResource(OWNER), SchoolOf("from_school_id"), SchoolOf("to_school_id")),
        Forward,
        hidden(refusals.NO_SUCH_RESOURCE),
    ),
    Action.READ_AUDIT: Rule(
        all_of(Admin(), OWNER), AuditEvent, forbidden(refusals.ONLY_ADMIN_READS_AUDIT)
    ),
    Action.INVITE: Rule(Admin(), Partnership, forbidden(refusals.ONLY_ADMIN_INVITES)),
    Action.READ_PARTNERSHIP: Rule(EITHER_SIDE, Partnership, hidden(refusals.NO_SUCH_PARTNERSHIP)),
    Action.ACCEPT_INVITATION: Rule(
        all_of(Admin(), INVITED),
        Partnership,
        by_role(refusals.ONLY_ADMIN_ACCEPTS, refusals.ONLY_INVITED_ACCEPTS),
    ),
    Action.DECLINE_INVITATION: Rule(
        all_of(Admin(), INVITED),
        Partnership,
        by_role(refusals.ONLY_ADMIN_DECLINES, refusals.ONLY_INVITED_DECLINES),
    ),
    Action.WITHDRAW_INVITATION: Rule(
        all_of(Admin(), INVITING),
        Partnership,
        by_role(refusals.ONLY_ADMIN_WITHDRAWS, refusals.ONLY_INVITING_WITHDRAWS),
    ),
    Action.REMIND_INVITATION: Rule(
        all_of(Admin(), INVITING),
        Partnership,
        by_role(refusals.ONLY_ADMIN_REMINDS, refusals.ONLY_INVITING_REMINDS),
    ),
    Action.END_PARTNERSHIP: Rule(
        all_of(Admin(), EITHER_SIDE), Partnership, forbidden(refusals.ONLY_ADMIN_ENDS)
    ),
    Action.UPDATE_PARTNERSHIP: Rule(
        all_of(Admin(), EITHER_SIDE), Partnership, forbidden(refusals.ONLY_ADMIN_UPDATES)
    ),
    Action.READ_ACTIVITY: Rule(EITHER_SIDE, Partnership, hidden(refusals.NO_SUCH_ACTIVITY)),
    # An activity's planners: an admin of either school, or a member responsible for it
    # (a teacher plans one by naming themselves). The object is the responsible members.
    Action.PLAN_ACTIVITY: Rule(RESPONSIBLE_OR_ADMIN, None, forbidden(refusals.NOT_A_PLANNER)),
    Action.EVALUATE_ACTIVITY: Rule(
        RESPONSIBLE_OR_ADMIN, None, forbidden(refusals.NOT_AN_EVALUATOR)
    ),
    Action.READ_QUESTION: Rule(
        any_of(SchoolOf("asking_school_id"), SchoolOf("answering_school_id")),
        PartnerQuestion,
        hidden(refusals.NO_SUCH_QUESTION),
    ),
    Action.ASK_QUESTION: Rule(EITHER_SIDE, Partnership, hidden(refusals.NO_SUCH_PARTNERSHIP)),
    Action.ANSWER_QUESTION: Rule(
        SchoolOf("answering_school_id"),
        PartnerQuestion,
        forbidden(refusals.ONLY_ASKED_SCHOOL_ANSWERS),
    ),
    # Every school reads every other's public profile; its self-assessment is kept for
    # the schools it is in touch with (`exchange.policy.partnerships`).
    Action.READ_PROFILE: Rule(Always(), School, hidden(refusals.NO_SUCH_SCHOOL)),
    # The caller's own school's profile (there is no other to change).
    Action.EDIT_PROFILE: Rule(Admin(), School, forbidden(refusals.ONLY_ADMIN_EDITS_PROFILE)),
    Action.READ_NOTIFICATION: Rule(
        Member("recipient_member_id"), Notification, hidden(refusals.NO_SUCH_NOTIFICATION)
    ),
    Action.CONTINUE_UPLOAD: Rule(
        all_of(Member("member_id"), SchoolOf("school_id")), Upload, hidden(refusals.NO_SUCH_UPLOAD)
    ),
}
