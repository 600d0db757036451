"""The domain events: what happened, recorded by the services on their unit of work
(`exchange.unit_of_work`). What each one causes is subscribed in `exchange.consequences`.

Events name the rows they are about as the service holds them: the handlers that run
within the transaction see the change as it is about to be committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

if TYPE_CHECKING:
    from email.message import EmailMessage

    from exchange.accounts.identity import Identity
    from exchange.i18n import LazyText
    from exchange.models import (
        Activity,
        DirectoryEntry,
        Forward,
        Grant,
        Member,
        Notification,
        PartnerQuestion,
        Partnership,
        QuestionAnswer,
        RegistrationLink,
        Resource,
        ReuseRequest,
        School,
    )


# --- accounts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRenamed:
    """A member's full name changed; their name is indexed with the resources they
    author."""

    member: Member


@dataclass(frozen=True)
class PasswordLinkIssued:
    """`actor` (an admin) made a link for `member` to set a password with (`purpose`
    `join` or `reset`); `mailed` says whether it left by e-mail."""

    actor: Identity
    member: Member
    purpose: str
    mailed: bool


@dataclass(frozen=True)
class PasswordSet:
    """`member` set a password with a link (`purpose`), which ended `sign_ins_ended`
    sign-ins; nobody is signed in to act, so there is no actor."""

    member: Member
    purpose: str
    sign_ins_ended: int


@dataclass(frozen=True)
class PasswordChanged:
    """`actor` changed their own password; their other `sign_ins_ended` sign-ins ended."""

    actor: Identity
    member: Member
    sign_ins_ended: int


# --- schools ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolProfileUpdated:
    """An admin of the school set its profile; `answered_questions` are the
    self-assessment's questions it answered."""

    actor: Identity
    school: School
    answered_questions: list[str]


# --- schools not on the exchange yet ------------------------------------------------------


@dataclass(frozen=True)
class SchoolInvitedByEmail:
    """`actor` (an admin) invited a school that is not on the exchange to register at
    the link's address; `mailed` says whether the link left by e-mail."""

    actor: Identity
    link: RegistrationLink
    mailed: bool


@dataclass(frozen=True)
class SchoolRegistered:
    """A school registered through `link`: `member` is its first admin, `entry` the
    handbook entry it became (when it had one), `partnership` the invitation that waits
    for its answer (when it was invited and the invitation could still be made)."""

    school: School
    member: Member
    link: RegistrationLink
    entry: DirectoryEntry | None
    partnership: Partnership | None
    inviting_school_name: str | None


@dataclass(frozen=True)
class EntryClaimed:
    """A school already on the exchange made the handbook's `entry` its own, through the
    link sent to the entry's address; nobody is signed in to act, so there is no actor."""

    school: School
    entry: DirectoryEntry
    link: RegistrationLink


# --- resources --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChanged:
    """A resource was created, given a new version or changed by `actor`; `action` and
    `details` are its entry in the owner school's audit trail."""

    actor: Identity
    resource: Resource
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class VersionUploaded(ResourceChanged):
    """A file was uploaded as version `version`: its text is to be extracted."""

    version: int


@dataclass(frozen=True)
class ResourceCreated(VersionUploaded):
    """A new resource with its first version: it enters the search index."""


@dataclass(frozen=True)
class VersionAdded(VersionUploaded):
    """A further version of an existing resource."""


@dataclass(frozen=True)
class ResourceUpdated(ResourceChanged):
    """Its metadata changed: its search index row is rewritten."""


@dataclass(frozen=True)
class ResourceDeleted(ResourceChanged):
    """Deleted with its versions (its search row goes with it; its files after the
    commit)."""


@dataclass(frozen=True)
class StudentConsentRecorded:
    """`actor` recorded (`consent`) or withdrew (None) the students' consent on file for
    a student's work; `previous` is what was on file. `visibility` is set when the
    change narrowed who sees the work to the school."""

    actor: Identity
    resource: Resource
    consent: str | None
    previous: str | None
    visibility: str | None = None


# --- reads of what is confidential to partners (rule 6) ----------------------------------


@dataclass(frozen=True)
class ConfidentialResourceRead:
    """Another school read a confidential resource (`what`: "metadata", "versions").

    A read, not a change: the GET that reads records it and commits its unit of work,
    whose only write is the owner school's audit entry."""

    actor: Identity
    resource: Resource
    what: str


@dataclass(frozen=True)
class ResourceDownloaded:
    """Another school downloaded version `version` of a resource (a resumed download
    is not recorded again); `presigned`: through a link to the store.

    A read, not a change: the GET that serves it records it and commits its unit of
    work, whose only write is the owner school's audit entry."""

    actor: Identity
    resource: Resource
    version: int
    presigned: bool = False


# --- partnerships -----------------------------------------------------------------------


@dataclass(frozen=True)
class PartnershipChanged:
    """A partnership was proposed, answered, ended or changed by `actor`'s school.

    `action` names it in both schools' audit trails; `notice` tells the other school's
    admins, with `notice_details` beside it in the inbox's payload."""

    actor: Identity
    partnership: Partnership
    action: str
    details: dict[str, Any]
    notice: LazyText
    actor_school_name: str
    notice_details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartnershipInvited(PartnershipChanged):
    pass


@dataclass(frozen=True)
class PartnershipAccepted(PartnershipChanged):
    pass


@dataclass(frozen=True)
class PartnershipDeclined(PartnershipChanged):
    pass


@dataclass(frozen=True)
class PartnershipWithdrawn(PartnershipChanged):
    pass


@dataclass(frozen=True)
class PartnershipReminded(PartnershipChanged):
    """The inviting school reminded the invited school of its overdue invitation (once)."""


@dataclass(frozen=True)
class PartnershipEnded(PartnershipChanged):
    """What rested on the partnership ends with it, in the same transaction."""


@dataclass(frozen=True)
class PartnershipUpdated(PartnershipChanged):
    """Goals, characteristics or a coordinator changed."""


# --- reuse requests (rule 7) -------------------------------------------------------------


@dataclass(frozen=True)
class ReuseRequestChanged:
    """A request was made, answered or withdrawn by `actor`; `action` and `details` are
    its entry in the owner school's audit trail."""

    actor: Identity
    request: ReuseRequest
    resource: Resource
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ReuseRequestMade(ReuseRequestChanged):
    """The authors and the owner school's admins are asked."""


@dataclass(frozen=True)
class ReuseRequestDecided(ReuseRequestChanged):
    """Approved (with its grant) or declined; the requesting school is told."""


@dataclass(frozen=True)
class ReuseRequestWithdrawn(ReuseRequestChanged):
    """The requesting school took it back; the authors are told."""


@dataclass(frozen=True)
class ReuseRequestRefused:
    """The code of conduct (rule `rule`) refused `actor`'s request for `scope`: the
    refusal is the answer, and the owner school's trail keeps that it was asked. The
    refusal is committed on its own, as nothing else of the request is kept."""

    actor: Identity
    resource: Resource
    scope: str
    rule: int | None


@dataclass(frozen=True)
class ReuseRequestClosed:
    """A pending request was closed without a decision because the partnership between
    `school_a` and `school_b` ended (rule 9); both sides are told why."""

    request: ReuseRequest
    resource: Resource
    partnership: Partnership
    school_a: str
    school_b: str


@dataclass(frozen=True)
class GrantRevoked:
    """A permission ended before its time, for `reason` (`GrantRevocation`): `actor`
    withdrew it, or withdrew the consent for a student's work; or the `partnership` it
    rested on ended (no actor: the end of the partnership took it). `forwards_cut`
    forwards made under it were cut. The owner school's trail records it, and the
    school that held it is told why."""

    grant: Grant
    resource: Resource
    reason: str
    forwards_cut: int
    actor: Identity | None = None
    partnership: Partnership | None = None


@dataclass(frozen=True)
class ResourceForwarded:
    """`actor`'s school passed a partner's resource on (`forward`); `details` are its entry
    in the owner school's audit trail, and those who decide on the resource are told."""

    actor: Identity
    forward: Forward
    resource: Resource
    details: dict[str, Any]


@dataclass(frozen=True)
class SharedWithRemoved:
    """The partnership between a resource's owner and `school_id` ended, so the owner's
    `shared_with` entry naming that school was removed (the owner chooses again after a
    new partnership)."""

    owner_school_id: UUID
    resource_id: UUID
    school_id: UUID
    partnership: Partnership


@dataclass(frozen=True)
class ForwardCutByPartnershipEnd:
    """The end of `partnership` (between `school_a` and `school_b`) took away the access
    a forward carried, for good. `receiver_lost_access` is true on one cut forward for
    each school that, with it, can no longer read the resource: that school is told."""

    forward: Forward
    resource: Resource
    partnership: Partnership
    school_a: str
    school_b: str
    receiver_lost_access: bool


@dataclass(frozen=True)
class ForwardRefused:
    """The code of conduct (rule `rule`) refused `actor`'s school passing a resource on
    to `to_school_id`; the owner school's trail keeps that it was tried. Committed on its
    own: nothing else of the attempt is kept."""

    actor: Identity
    resource: Resource
    to_school_id: UUID
    rule: int | None


# --- activities between partners ---------------------------------------------------------


@dataclass(frozen=True)
class ActivityMoved:
    """`actor` planned, changed or cancelled an activity; the members named in it, and
    those just taken off it (`taken_off`), are told, not the actor."""

    kind: ClassVar[str]
    actor: Identity
    activity: Activity
    taken_off: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ActivityPlanned(ActivityMoved):
    kind: ClassVar[str] = "activity.planned"


@dataclass(frozen=True)
class ActivityChanged(ActivityMoved):
    kind: ClassVar[str] = "activity.changed"


@dataclass(frozen=True)
class ActivityCancelled(ActivityMoved):
    kind: ClassVar[str] = "activity.cancelled"


@dataclass(frozen=True)
class EvaluationReminderDue:
    """A done activity still waits for the evaluation of `waiting_school_ids` a week after
    it was marked done, and was claimed for its one reminder."""

    activity: Activity
    waiting_school_ids: tuple[UUID, ...]


# --- questions between partners ---------------------------------------------------------


@dataclass(frozen=True)
class QuestionAsked:
    """A school asked its partner a question; the member it names (or the partner's admins)
    is told."""

    question: PartnerQuestion


@dataclass(frozen=True)
class QuestionAnswered:
    """The partner answered (or said it cannot help now); the member who asked is told."""

    question: PartnerQuestion
    answer: QuestionAnswer


# --- rule 9: every request gets an answer -------------------------------------------------


@dataclass(frozen=True)
class ReuseRequestOverdue:
    """A pending request passed its answer date and was claimed for escalation (once)."""

    request: ReuseRequest
    resource: Resource


@dataclass(frozen=True)
class QuestionOverdue:
    """A question between partners passed its answer date and was claimed (once)."""

    question: PartnerQuestion


# --- the inbox and mail ----------------------------------------------------------------


@dataclass(frozen=True)
class NoticesPosted:
    """Notices were added to members' inboxes (`exchange.notifications.service`)."""

    notifications: list[Notification]


@dataclass(frozen=True)
class MailWritten:
    """E-mails written about a change: stored with it, sent once it is committed."""

    messages: list[EmailMessage]


EVENTS: tuple[type, ...] = (
    MemberRenamed,
    PasswordLinkIssued,
    PasswordSet,
    PasswordChanged,
    SchoolProfileUpdated,
    SchoolInvitedByEmail,
    SchoolRegistered,
    EntryClaimed,
    ResourceCreated,
    VersionAdded,
    ResourceUpdated,
    ResourceDeleted,
    StudentConsentRecorded,
    ConfidentialResourceRead,
    ResourceDownloaded,
    PartnershipInvited,
    PartnershipAccepted,
    PartnershipDeclined,
    PartnershipWithdrawn,
    PartnershipReminded,
    PartnershipEnded,
    PartnershipUpdated,
    ReuseRequestMade,
    ReuseRequestDecided,
    ReuseRequestWithdrawn,
    ReuseRequestRefused,
    ReuseRequestClosed,
    ReuseRequestOverdue,
    GrantRevoked,
    SharedWithRemoved,
    ResourceForwarded,
    ForwardCutByPartnershipEnd,
    ForwardRefused,
    ActivityPlanned,
    ActivityChanged,
    ActivityCancelled,
    EvaluationReminderDue,
    QuestionAsked,
    QuestionAnswered,
    QuestionOverdue,
    NoticesPosted,
    MailWritten,
)
