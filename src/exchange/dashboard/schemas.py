"""Shapes of the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from exchange.kernel.refs import SchoolRef


class NewResource(msgspec.Struct):
    id: UUID
    title: str
    kind: str
    school: SchoolRef
    created_at: datetime


class NewPartnerResources(msgspec.Struct):
    """Resources of other schools your school can read, added since `since` until
    `until` (the moment of this answer).

    `basis` says where `since` comes from: the last look you recorded, or, before your
    first, the last 14 days. Reading the dashboard records nothing: once the member has
    seen the list, send `until` to `POST /api/dashboard/seen`, and later answers count
    from there.

    `count` stops at 200: `count_capped` is true when more than that were added."""

    since: datetime
    until: datetime
    basis: Literal["last_look", "last_14_days"]
    count: int
    latest: list[NewResource]
    count_capped: bool = False


class RequestCounts(msgspec.Struct):
    open: int
    overdue: int


class EvaluationsWaiting(msgspec.Struct):
    """Done activities of your school's active partnerships still waiting for an
    evaluation: `total` from either school, `from_your_school` from yours."""

    total: int
    from_your_school: int


class Dashboard(msgspec.Struct):
    """`incoming`: requests you answer (as an admin, all on your school's resources; as
    a teacher, those on resources you author). `outgoing`: requests your side made that
    await an answer. Overdue requests passed their answer date (rule 9).

    `incoming_questions`: questions partner schools asked your school that wait for an
    answer; `outgoing_questions`: questions your school asked that wait for the
    partner's. Any member sees their school's counts: any member may answer.

    `incoming_invitations`: partnership invitations to your school waiting for its
    admins' answer; `outgoing_invitations`: your school's invitations waiting for the
    invited school's. An invitation unanswered after 30 days is overdue (rule 9)."""

    incoming: RequestCounts
    outgoing: RequestCounts
    new_partner_resources: NewPartnerResources
    activities_waiting_for_evaluation: EvaluationsWaiting
    incoming_questions: RequestCounts
    outgoing_questions: RequestCounts
    incoming_invitations: RequestCounts
    outgoing_invitations: RequestCounts


class DashboardSeen(msgspec.Struct):
    """The member has seen what was new until `seen_until`: the `until` of
    `new_partner_resources` in the dashboard they read (with its time zone)."""

    seen_until: datetime


class LastLook(msgspec.Struct):
    """The look as recorded: later dashboards count new partner resources from
    `seen_until` (never moved back, nor past the moment it was recorded)."""

    seen_until: datetime
