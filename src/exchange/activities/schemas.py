"""Shapes of the partnership-life API: activities, their tasks and their evaluations.

`goals` name the partnership goals an activity serves by their sentences, exactly as the
partnership states them (`GET /api/partnerships/{id}`): a partnership's goals are one
list that its admins may rewrite or reorder, so a position would silently point at
another goal, while the sentence keeps what the activity served. `goal_progress` of an
evaluation is keyed by the same sentences.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from exchange.display_text import LINE, PARAGRAPHS, CleanedInput
from exchange.kernel.paging import Page
from exchange.kernel.refs import SchoolRef
from exchange.models import ActivityKind, ActivityStatus

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300, extra=LINE)]
Description = Annotated[str, msgspec.Meta(max_length=5000, extra=PARAGRAPHS)]
Cover = Annotated[
    str,
    msgspec.Meta(
        max_length=2000,
        extra=PARAGRAPHS,
        description="Who covers the lessons the participants miss",
    ),
]
GoalText = Annotated[
    str,
    msgspec.Meta(
        max_length=500,
        extra=LINE,
        description="One of the partnership's goals, as the partnership states it",
    ),
]
Goals = Annotated[list[GoalText], msgspec.Meta(max_length=50)]
MemberIds = Annotated[
    list[UUID],
    msgspec.Meta(
        max_length=50,
        description="Your own school's responsible members; the partner school names its own",
    ),
]
ResourceIds = Annotated[list[UUID], msgspec.Meta(max_length=50)]
Answer = Annotated[str, msgspec.Meta(min_length=1, max_length=5000, extra=PARAGRAPHS)]
Progress = Annotated[int, msgspec.Meta(ge=1, le=5)]


class TaskIn(CleanedInput, forbid_unknown_fields=True):
    """A task of a joint project, owned by the caller's school (and maybe one member)."""

    title: Title
    owner_member_id: UUID | None = None
    due_on: date | None = None
    done: bool = False


Tasks = Annotated[
    list[TaskIn],
    msgspec.Meta(
        max_length=100,
        description="Your own school's tasks (joint projects only); the partner's stay as they are",
    ),
]


class ActivityCreate(CleanedInput, forbid_unknown_fields=True):
    kind: ActivityKind
    title: Title
    starts_on: date
    ends_on: date | None = None  # the day it starts when not given
    description: Description = ""
    host_school_id: UUID | None = None  # the caller's school when not given
    goals: Goals = []
    responsible_member_ids: MemberIds = []
    cover_arrangements: Cover = ""
    needs_approval: bool = False
    approval_obtained: bool = False
    resource_ids: ResourceIds = []
    tasks: Tasks = []


class ActivityUpdate(CleanedInput, forbid_unknown_fields=True):
    """Only the fields sent change. `responsible_member_ids` and `tasks` replace the
    caller's school's part only; `resource_ids` replaces the links the caller can read
    (links to resources the caller's school cannot read are kept as they are)."""

    kind: ActivityKind | UnsetType = UNSET
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    starts_on: date | UnsetType = UNSET
    ends_on: date | UnsetType = UNSET
    host_school_id: UUID | UnsetType = UNSET
    goals: Goals | UnsetType = UNSET
    responsible_member_ids: MemberIds | UnsetType = UNSET
    cover_arrangements: Cover | UnsetType = UNSET
    needs_approval: bool | UnsetType = UNSET
    approval_obtained: bool | UnsetType = UNSET
    resource_ids: ResourceIds | UnsetType = UNSET
    tasks: Tasks | UnsetType = UNSET


class EvaluationIn(CleanedInput, forbid_unknown_fields=True):
    """A school's evaluation of a done activity (once per school)."""

    went_well: Answer
    to_change: Answer
    goal_progress: Annotated[
        dict[GoalText, Progress],
        msgspec.Meta(
            max_length=50,
            description="Progress from 1 to 5 on each goal the activity served, by its sentence",
        ),
    ]
    continue_: bool = msgspec.field(name="continue")


class ActivityMemberOut(msgspec.Struct):
    id: UUID
    full_name: str
    school_id: UUID


class LinkedResourceOut(msgspec.Struct):
    id: UUID
    title: str


class TaskOut(msgspec.Struct):
    title: str
    school_id: UUID
    owner_member_id: UUID | None
    due_on: date | None
    done: bool


class EvaluationOut(msgspec.Struct):
    school_id: UUID
    went_well: str
    to_change: str
    goal_progress: dict[str, int]
    continue_: bool = msgspec.field(name="continue")
    evaluated_by_id: UUID | None = None
    created_at: datetime | None = None


class ActivityOut(msgspec.Struct):
    id: UUID
    partnership_id: UUID
    kind: ActivityKind
    title: str
    description: str
    starts_on: date
    ends_on: date
    host_school_id: UUID
    goals: list[str]
    responsible_member_ids: list[UUID]
    responsible_members: list[ActivityMemberOut]
    cover_arrangements: str
    needs_approval: bool
    approval_obtained: bool
    # Only the linked resources the caller's school may read.
    resource_ids: list[UUID]
    resources: list[LinkedResourceOut]
    tasks: list[TaskOut]
    status: ActivityStatus
    # Still planned after its last day (by the exchange's UTC date): mark it done or cancel it.
    past_due: bool
    evaluations: list[EvaluationOut]
    # The schools (of the two) whose evaluation a done activity still waits for.
    awaiting_evaluation_from: list[UUID]
    created_at: datetime
    updated_at: datetime


class PlanActivitiesOut(msgspec.Struct):
    """The partnership's activities by status, each by date."""

    planned: list[ActivityOut]
    done: list[ActivityOut]
    cancelled: list[ActivityOut]


class WaitingOut(msgspec.Struct):
    """What the plan waits for, and from whom: `evaluation` of a done activity,
    `done_or_cancelled` for a planned activity past its last day, an open `task` of a joint
    project, an `answer` to a question between the partners. `school_id` is the school it
    waits for, `member_ids` the members named for it (none: any of the school's admins)."""

    what: Literal["evaluation", "done_or_cancelled", "task", "answer"]
    title: str
    school_id: UUID
    member_ids: list[UUID]
    activity_id: UUID | None = None
    question_id: UUID | None = None
    since: date | None = None
    due_on: date | None = None


class PlanOut(msgspec.Struct):
    """A partnership's plan: readable by the members of its two schools while it lives and,
    as a record, after it ended (`waiting` is empty then)."""

    partnership_id: UUID
    status: str
    language: str
    schools: list[SchoolRef]
    goals: list[str]
    activities: PlanActivitiesOut
    waiting: list[WaitingOut]
    # The school years the plan has activities in (and the current one), newest first.
    school_years: list[int]


class SummaryActivityOut(msgspec.Struct):
    id: UUID
    title: str
    kind: ActivityKind
    starts_on: date


class SchoolProgressOut(msgspec.Struct):
    school_id: UUID
    average_progress: float


class RemarkOut(msgspec.Struct):
    school_id: UUID
    activity_title: str
    text: str


class GoalSummaryOut(msgspec.Struct):
    """One goal over the school year: the done activities that served it, the progress
    the schools gave it (1 to 5, averaged), how many evaluations said to go on, and what
    they said went well and should change."""

    goal: str
    activities: list[SummaryActivityOut]
    evaluations: int
    average_progress: float | None
    progress_by_school: list[SchoolProgressOut]
    continue_yes: int
    continue_no: int
    went_well: list[RemarkOut]
    to_change: list[RemarkOut]


class YearSummaryOut(msgspec.Struct):
    """A school year of the partnership (1 September to 31 August, named by the year it
    starts in), per goal. `ended`: its lessons are over (after 31 May), so the summary is
    final."""

    partnership_id: UUID
    school_year: int
    label: str
    starts_on: date
    ends_on: date
    ended: bool
    activities_done: int
    activities_planned: int
    activities_cancelled: int
    goals: list[GoalSummaryOut]


class ActivityPage(Page[ActivityOut]):
    """One page of a partnership's activities."""
