"""What happens when…: every domain event's consequences, in the order they run.

`within` runs in the transaction of the change (committed with it or not at all),
`after` once it is committed. Changing what an event causes changes this table.
"""

from __future__ import annotations

from datetime import timedelta

from exchange.consequences import build_consequences, job_kinds, subscriber_table

AUDIT_PARTNERSHIP = "exchange.audit.trail.record_partnership_change"
TELL_PARTNER = "exchange.partnerships.notices.tell_the_other_school"
AUDIT_REQUEST = "exchange.audit.trail.record_request_change"
END_WHAT_RESTED = "exchange.reuse.partnership_end.end_what_rested_on_it"

INDEX_RESOURCE = "exchange.search.index.index_resource"
EXTRACT_TEXT = "exchange.text.extraction_job.extract_uploaded_version"
MAKE_PREVIEW = "exchange.consequences.queue_version_preview"
AUDIT_RESOURCE = "exchange.audit.trail.record_resource_change"

ACTIVITY_MOVE = {
    "within": ["exchange.activities.services.tell_the_named_members"],
    "after": [],
}

PARTNERSHIP_MOVE = {"within": [AUDIT_PARTNERSHIP, TELL_PARTNER], "after": []}


def only(*handlers: str) -> dict[str, list[str]]:
    """Handlers that run within the transaction, nothing after it."""
    return {"within": list(handlers), "after": []}


EXPECTED: dict[str, dict[str, list[str]]] = {
    "MemberRenamed": {"within": ["exchange.search.index.reindex_authored_by"], "after": []},
    "PasswordLinkIssued": only("exchange.audit.trail.record_password_link_issued"),
    "PasswordSet": only("exchange.audit.trail.record_password_set"),
    "PasswordChanged": only("exchange.audit.trail.record_password_changed"),
    "SchoolProfileUpdated": only("exchange.audit.trail.record_profile_updated"),
    "SchoolInvitedByEmail": only("exchange.audit.trail.record_school_invited_by_email"),
    "EntryClaimed": only("exchange.audit.trail.record_entry_claimed"),
    "SchoolRegistered": {
        "within": [
            "exchange.audit.trail.record_school_registered",
            "exchange.directory.notices.tell_the_inviting_school",
        ],
        "after": [],
    },
    "ResourceCreated": {
        "within": [INDEX_RESOURCE, EXTRACT_TEXT, MAKE_PREVIEW, AUDIT_RESOURCE],
        "after": [],
    },
    "VersionAdded": {"within": [EXTRACT_TEXT, MAKE_PREVIEW, AUDIT_RESOURCE], "after": []},
    "ResourceUpdated": {"within": [INDEX_RESOURCE, AUDIT_RESOURCE], "after": []},
    "ResourceDeleted": {"within": [AUDIT_RESOURCE], "after": []},
    "StudentConsentRecorded": only("exchange.audit.trail.record_student_consent"),
    "ConfidentialResourceRead": only("exchange.audit.trail.record_read"),
    "ResourceDownloaded": only("exchange.audit.trail.record_download"),
    "PartnershipInvited": PARTNERSHIP_MOVE,
    "PartnershipAccepted": PARTNERSHIP_MOVE,
    "PartnershipDeclined": PARTNERSHIP_MOVE,
    "PartnershipWithdrawn": PARTNERSHIP_MOVE,
    "PartnershipReminded": PARTNERSHIP_MOVE,
    "PartnershipEnded": {
        "within": [END_WHAT_RESTED, AUDIT_PARTNERSHIP, TELL_PARTNER],
        "after": [],
    },
    "PartnershipUpdated": PARTNERSHIP_MOVE,
    "ReuseRequestMade": {
        "within": ["exchange.reuse.notices.request_created", AUDIT_REQUEST],
        "after": [],
    },
    "ReuseRequestDecided": {
        "within": ["exchange.reuse.notices.request_decided", AUDIT_REQUEST],
        "after": [],
    },
    "ReuseRequestWithdrawn": {
        "within": ["exchange.reuse.notices.request_withdrawn", AUDIT_REQUEST],
        "after": [],
    },
    "ReuseRequestRefused": only("exchange.audit.trail.record_request_refused"),
    "ReuseRequestClosed": only(
        "exchange.audit.trail.record_request_closed", "exchange.reuse.notices.request_closed"
    ),
    "ReuseRequestOverdue": {
        "within": [
            "exchange.audit.trail.record_request_escalated",
            "exchange.reuse.notices.request_overdue",
        ],
        "after": [],
    },
    "GrantRevoked": {
        "within": [
            "exchange.audit.trail.record_grant_revoked",
            "exchange.reuse.notices.grant_revoked",
        ],
        "after": [],
    },
    "SharedWithRemoved": only("exchange.audit.trail.record_shared_with_removed"),
    "ResourceForwarded": {
        "within": [
            "exchange.audit.trail.record_forward",
            "exchange.reuse.notices.resource_forwarded",
        ],
        "after": [],
    },
    "ForwardCutByPartnershipEnd": only(
        "exchange.audit.trail.record_forward_cut", "exchange.reuse.notices.forwarded_access_ended"
    ),
    "ForwardRefused": only("exchange.audit.trail.record_forward_refused"),
    "ActivityPlanned": ACTIVITY_MOVE,
    "ActivityChanged": ACTIVITY_MOVE,
    "ActivityCancelled": ACTIVITY_MOVE,
    "EvaluationReminderDue": {
        "within": ["exchange.activities.reminders.remind_the_responsible"],
        "after": [],
    },
    "QuestionAsked": {"within": ["exchange.questions.notices.question_asked"], "after": []},
    "QuestionAnswered": {
        "within": ["exchange.questions.notices.question_answered"],
        "after": [],
    },
    "QuestionOverdue": {"within": ["exchange.questions.notices.question_overdue"], "after": []},
    "NoticesPosted": {"within": ["exchange.mail.notifications.mail_posted_notices"], "after": []},
    "MailWritten": {
        "within": ["exchange.mail.outbox.write_to_outbox"],
        "after": ["exchange.mail.outbox.wake_the_worker"],
    },
}


def test_each_event_has_the_subscribers_the_table_lists() -> None:
    assert subscriber_table(build_consequences()) == EXPECTED


def test_building_the_consequences_twice_subscribes_nothing_twice() -> None:
    build_consequences()
    assert subscriber_table(build_consequences()) == EXPECTED


def test_the_workers_run_extraction_previews_mail_the_escalation_and_evaluation_reminders() -> None:
    kinds = job_kinds()
    assert {kind: spec.every for kind, spec in kinds.items()} == {
        "search.extract_text": None,
        "previews.make": None,
        "mail.send": None,
        "requests.escalate_overdue": timedelta(minutes=15),
        "activities.remind_evaluations": timedelta(minutes=15),
    }
