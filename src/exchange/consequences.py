"""What each domain event causes: the one place to read "what happens when…".

The app factory, the command line and the job worker call `build_consequences()` once
and give the result to their sessions (`exchange.database.create_session_factory`,
`create_alchemy_config`); nothing is subscribed by importing a module. Handlers
subscribed `within_transaction` are committed with the change that caused them, or
rolled back with it: the audit trail, the inbox, what ends with a partnership. Handlers
subscribed `after_commit` run once it is stored and never undo it.

`tests/unit/test_consequences.py` lists every event's subscribers (`subscriber_table`).
"""

from __future__ import annotations

from exchange.activities.reminders import EVALUATION_REMINDERS, remind_the_responsible
from exchange.activities.services import tell_the_named_members
from exchange.audit import trail
from exchange.directory.notices import tell_the_inviting_school
from exchange.escalation import ESCALATION
from exchange.events import (
    EVENTS,
    ActivityMoved,
    ConfidentialResourceRead,
    EntryClaimed,
    EvaluationReminderDue,
    ForwardCutByPartnershipEnd,
    ForwardRefused,
    GrantRevoked,
    MailWritten,
    MemberRenamed,
    NoticesPosted,
    PartnershipChanged,
    PartnershipEnded,
    PasswordChanged,
    PasswordLinkIssued,
    PasswordSet,
    QuestionAnswered,
    QuestionAsked,
    QuestionOverdue,
    ResourceChanged,
    ResourceCreated,
    ResourceDownloaded,
    ResourceForwarded,
    ResourceUpdated,
    ReuseRequestChanged,
    ReuseRequestClosed,
    ReuseRequestDecided,
    ReuseRequestMade,
    ReuseRequestOverdue,
    ReuseRequestRefused,
    ReuseRequestWithdrawn,
    SchoolInvitedByEmail,
    SchoolProfileUpdated,
    SchoolRegistered,
    SharedWithRemoved,
    StudentConsentRecorded,
    VersionUploaded,
)
from exchange.jobs.worker import JobKind
from exchange.mail.notifications import mail_posted_notices
from exchange.mail.outbox import OUTGOING_MAIL, SEND_MAIL, wake_the_worker, write_to_outbox
from exchange.partnerships.notices import tell_the_other_school
from exchange.previews.job import MAKE_PREVIEW, PREVIEWS, queue_preview
from exchange.questions import notices as question_notices
from exchange.reuse import notices as reuse_notices
from exchange.reuse.partnership_end import end_what_rested_on_it
from exchange.search.index import index_resource, reindex_authored_by
from exchange.text.extraction_job import (
    EXTRACT_TEXT,
    TEXT_EXTRACTION,
    extract_uploaded_version,
)
from exchange.unit_of_work import Handler, Subscriptions, UnitOfWork

# The kinds of background job the workers run (`exchange jobs run`, or the app's own).
ESCALATE_OVERDUE = "requests.escalate_overdue"
REMIND_EVALUATIONS = "activities.remind_evaluations"


async def queue_version_preview(uow: UnitOfWork, event: VersionUploaded) -> None:
    """A new resource's first version, or a further one: its preview is made by a job."""
    await queue_preview(uow.session, uow.clock, event.resource.id, event.version)


def build_consequences() -> Subscriptions:
    on = Subscriptions()

    # Members: a renamed author's resources are found by the new name from the commit on.
    on.within_transaction(MemberRenamed, reindex_authored_by)

    # Passwords: issuing a link, setting a password with one and changing one's own are
    # in the school's trail.
    on.within_transaction(PasswordLinkIssued, trail.record_password_link_issued)
    on.within_transaction(PasswordSet, trail.record_password_set)
    on.within_transaction(PasswordChanged, trail.record_password_changed)

    # A school's profile: its trail keeps who changed it and what was answered.
    on.within_transaction(SchoolProfileUpdated, trail.record_profile_updated)

    # Schools not on the exchange yet: an invitation by e-mail is in the inviting school's
    # trail; a registration begins the new school's trail, and the inviting school's
    # admins are told that their invitation was taken up.
    on.within_transaction(SchoolInvitedByEmail, trail.record_school_invited_by_email)
    on.within_transaction(SchoolRegistered, trail.record_school_registered)
    on.within_transaction(SchoolRegistered, tell_the_inviting_school)
    on.within_transaction(EntryClaimed, trail.record_entry_claimed)

    # Resources: the search index row, the text extraction and preview jobs of each
    # uploaded version and the owner school's trail are committed with the change.
    on.within_transaction(ResourceCreated, index_resource)
    on.within_transaction(ResourceUpdated, index_resource)
    on.within_transaction(VersionUploaded, extract_uploaded_version)
    on.within_transaction(VersionUploaded, queue_version_preview)
    on.within_transaction(ResourceChanged, trail.record_resource_change)
    on.within_transaction(StudentConsentRecorded, trail.record_student_consent)

    # Reads (rule 6): another school's read of a confidential resource, and any download
    # by another school, are in the owner school's trail. The GET commits that entry.
    on.within_transaction(ConfidentialResourceRead, trail.record_read)
    on.within_transaction(ResourceDownloaded, trail.record_download)

    # Partnerships: ending one ends for good what rested on it (shares, grants,
    # forwards, pending requests) before the move itself is audited and announced; what
    # it took away records its own events below.
    on.within_transaction(PartnershipEnded, end_what_rested_on_it)
    on.within_transaction(PartnershipChanged, trail.record_partnership_change)
    on.within_transaction(PartnershipChanged, tell_the_other_school)
    on.within_transaction(SharedWithRemoved, trail.record_shared_with_removed)

    # Reuse requests (rule 7): the owner school's trail, and the other side's notices.
    on.within_transaction(ReuseRequestChanged, trail.record_request_change)
    on.within_transaction(ReuseRequestMade, reuse_notices.request_created)
    on.within_transaction(ReuseRequestDecided, reuse_notices.request_decided)
    on.within_transaction(ReuseRequestWithdrawn, reuse_notices.request_withdrawn)
    # Refused by the code of conduct: the refusal is the answer, the trail keeps it.
    on.within_transaction(ReuseRequestRefused, trail.record_request_refused)
    # Closed with the partnership it was made under (rule 9): both sides are told.
    on.within_transaction(ReuseRequestClosed, trail.record_request_closed)
    on.within_transaction(ReuseRequestClosed, reuse_notices.request_closed)

    # A permission ended (withdrawn, with the students' consent, or with the
    # partnership): the owner school's trail, and the school that held it, told why.
    on.within_transaction(GrantRevoked, trail.record_grant_revoked)
    on.within_transaction(GrantRevoked, reuse_notices.grant_revoked)

    # Forwarding (rule 7): the owner school's trail, and those who decide on the resource;
    # a refused forward is in the trail; a forward cut by a partnership's end too, and
    # the school it reached is told when it can no longer read the resource.
    on.within_transaction(ResourceForwarded, trail.record_forward)
    on.within_transaction(ResourceForwarded, reuse_notices.resource_forwarded)
    on.within_transaction(ForwardRefused, trail.record_forward_refused)
    on.within_transaction(ForwardCutByPartnershipEnd, trail.record_forward_cut)
    on.within_transaction(ForwardCutByPartnershipEnd, reuse_notices.forwarded_access_ended)

    # Activities between partners: the members named in one are told of its moves.
    on.within_transaction(ActivityMoved, tell_the_named_members)
    # A week after an activity is done, a school that has not evaluated it is reminded once.
    on.within_transaction(EvaluationReminderDue, remind_the_responsible)

    # Questions between partners: the other side is told.
    on.within_transaction(QuestionAsked, question_notices.question_asked)
    on.within_transaction(QuestionAnswered, question_notices.question_answered)

    # Rule 9: a request or question past its date, claimed once by the escalation job.
    on.within_transaction(ReuseRequestOverdue, trail.record_request_escalated)
    on.within_transaction(ReuseRequestOverdue, reuse_notices.request_overdue)
    on.within_transaction(QuestionOverdue, question_notices.question_overdue)

    # Every inbox notice is also e-mailed (when SMTP is configured), written in the
    # transaction in its recipient's language, stored with the change and sent by a job
    # worker once the commit has succeeded.
    on.within_transaction(NoticesPosted, mail_posted_notices)
    on.within_transaction(MailWritten, write_to_outbox)
    on.after_commit(MailWritten, wake_the_worker)

    return on


def job_kinds() -> dict[str, JobKind]:
    """Every kind of background job, with its handler (and period, when it has one)."""
    return {
        EXTRACT_TEXT: TEXT_EXTRACTION,
        MAKE_PREVIEW: PREVIEWS,
        ESCALATE_OVERDUE: ESCALATION,
        REMIND_EVALUATIONS: EVALUATION_REMINDERS,
        SEND_MAIL: OUTGOING_MAIL,
    }


def subscriber_table(subscriptions: Subscriptions) -> dict[str, dict[str, list[str]]]:
    """Every event's handlers by name, in the order they run: within the transaction,
    then after the commit."""

    def names(handlers: list[Handler]) -> list[str]:
        return [f"{handler.__module__}.{handler.__qualname__}" for handler in handlers]

    return {
        event.__name__: {
            "within": names(subscriptions.handlers_within(event)),
            "after": names(subscriptions.handlers_after(event)),
        }
        for event in EVENTS
    }
