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
from exchange.audit.trail import (
    record_forward,
    record_grant_revoked,
    record_partnership_change,
    record_request_change,
    record_request_escalated,
    record_resource_change,
)
from exchange.events import (
    EVENTS,
    ActivityMoved,
    EvaluationReminderDue,
    GrantRevoked,
    MailWritten,
    MemberRenamed,
    NoticesPosted,
    PartnershipChanged,
    PartnershipEnded,
    QuestionAnswered,
    QuestionAsked,
    QuestionOverdue,
    ResourceChanged,
    ResourceCreated,
    ResourceForwarded,
    ResourceUpdated,
    ReuseRequestChanged,
    ReuseRequestDecided,
    ReuseRequestMade,
    ReuseRequestOverdue,
    ReuseRequestWithdrawn,
    VersionUploaded,
)
from exchange.jobs.worker import JobKind
from exchange.mail.notifications import mail_posted_notices
from exchange.mail.outbox import send_after_commit
from exchange.partnerships.notices import tell_the_other_school
from exchange.questions import notices as question_notices
from exchange.reuse import notices as reuse_notices
from exchange.reuse.escalation import ESCALATION
from exchange.reuse.partnership_end import end_what_rested_on_it
from exchange.search.index import index_resource, reindex_authored_by
from exchange.text.extraction_job import (
    EXTRACT_TEXT,
    TEXT_EXTRACTION,
    extract_uploaded_version,
)
from exchange.unit_of_work import Handler, Subscriptions

# The kinds of background job the workers run (`exchange jobs run`, or the app's own).
ESCALATE_OVERDUE = "requests.escalate_overdue"
REMIND_EVALUATIONS = "activities.remind_evaluations"


def build_consequences() -> Subscriptions:
    on = Subscriptions()

    # Members: a renamed author's resources are found by the new name from the commit on.
    on.within_transaction(MemberRenamed, reindex_authored_by)

    # Resources: the search index row, the text extraction job of each uploaded version
    # and the owner school's trail are committed with the change.
    on.within_transaction(ResourceCreated, index_resource)
    on.within_transaction(ResourceUpdated, index_resource)
    on.within_transaction(VersionUploaded, extract_uploaded_version)
    on.within_transaction(ResourceChanged, record_resource_change)

    # Partnerships: ending one ends for good what rested on it (shares, grants,
    # forwards, pending requests) before the move itself is audited and announced.
    on.within_transaction(PartnershipEnded, end_what_rested_on_it)
    on.within_transaction(PartnershipChanged, record_partnership_change)
    on.within_transaction(PartnershipChanged, tell_the_other_school)

    # Reuse requests (rule 7): the owner school's trail, and the other side's notices.
    on.within_transaction(ReuseRequestChanged, record_request_change)
    on.within_transaction(ReuseRequestMade, reuse_notices.request_created)
    on.within_transaction(ReuseRequestDecided, reuse_notices.request_decided)
    on.within_transaction(ReuseRequestWithdrawn, reuse_notices.request_withdrawn)

    # A withdrawn permission: the owner school's trail, and the school that held it.
    on.within_transaction(GrantRevoked, record_grant_revoked)
    on.within_transaction(GrantRevoked, reuse_notices.grant_revoked)

    # Forwarding (rule 7): the owner school's trail, and those who decide on the resource.
    on.within_transaction(ResourceForwarded, record_forward)
    on.within_transaction(ResourceForwarded, reuse_notices.resource_forwarded)

    # Activities between partners: the members named in one are told of its moves.
    on.within_transaction(ActivityMoved, tell_the_named_members)
    # A week after an activity is done, a school that has not evaluated it is reminded once.
    on.within_transaction(EvaluationReminderDue, remind_the_responsible)

    # Questions between partners: the other side is told.
    on.within_transaction(QuestionAsked, question_notices.question_asked)
    on.within_transaction(QuestionAnswered, question_notices.question_answered)

    # Rule 9: a request or question past its date, claimed once by the escalation job.
    on.within_transaction(ReuseRequestOverdue, record_request_escalated)
    on.within_transaction(ReuseRequestOverdue, reuse_notices.request_overdue)
    on.within_transaction(QuestionOverdue, question_notices.question_overdue)

    # Every inbox notice is also e-mailed (when SMTP is configured), written in the
    # transaction in its recipient's language and sent once the commit has succeeded.
    on.within_transaction(NoticesPosted, mail_posted_notices)
    on.after_commit(MailWritten, send_after_commit)

    return on


def job_kinds() -> dict[str, JobKind]:
    """Every kind of background job, with its handler (and period, when it has one)."""
    return {
        EXTRACT_TEXT: TEXT_EXTRACTION,
        ESCALATE_OVERDUE: ESCALATION,
        REMIND_EVALUATIONS: EVALUATION_REMINDERS,
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
