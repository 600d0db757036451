"""The one door for every rule of the code of conduct and every role check.

Services ask the policy before they touch anything; controllers never decide access.
`table.POLICY` is the table of who may do what: each action names the relations
(`relations`) that allow it. A service asks `require(identity, action, obj)` of an object
in hand and filters lists with `where(identity, action)`; a resource the caller may read
is loaded through the read condition (`readable_resource`), so what a school may not read
is never counted, shown or paged over. Refusals are worded in `refusals`.

Each relation has its Python check and its one SQL form; facts that live in other rows
(an active partnership, `shared_with`, a standing forward, a grant in force) have theirs
in `forms`. `reading` is the read rule for any school; `tuned` derives from the same forms
the variants lists and the search run for one known caller.

What depends on the state of things rather than on who asks is in `reuse` (rules 6 and
7: requests, forwards, adaptations), `consent` (a student's work) and `partnerships`
(an ended partnership is a record; who reads a school's self-assessment, rule 6).
"""

from exchange.policy.consent import (
    ASK_FOR_CONSENT,
    STUDENT_CONSENTS,
    consent_on_file,
    default_visibility,
    require_anonymous_restated,
    require_consent_to_leave,
    student_work_visibility,
)
from exchange.policy.forms import forward_stands, grant_in_force
from exchange.policy.gate import allows, permits, require, where
from exchange.policy.partnerships import (
    PartnershipMove,
    PartnershipSide,
    active_partnership_between,
    activities_of_active_partnerships,
    are_active_partners,
    own_notifications,
    partnership_side,
    partnerships_visible_to,
    questions_visible_to,
    reads_self_assessment,
    require_activity_evaluator,
    require_activity_planner,
    require_admin,
    require_can_answer,
    require_can_ask,
    require_partnership_move,
    require_partnership_takes_activities,
    require_partnership_visible,
    require_question_visible,
    self_assessment_partnerships,
)
from exchange.policy.reading import forward_reach, readable_by_school
from exchange.policy.resources import (
    AnyResource,
    AuthorFact,
    EditAction,
    ResourceFacts,
    audits_reads_by,
    cache_control_for,
    can_decide,
    can_edit,
    can_read_download_report,
    check_confidential_licence,
    check_shared_with,
    is_owner_school,
    readable_resource,
    readable_resource_in,
    require_can_edit,
    school_can_read,
)
from exchange.policy.reuse import (
    Licensed,
    check_derivation,
    grant_in_hand,
    licence_grants,
    require_can_forward,
    require_can_request,
)
from exchange.policy.table import POLICY, Action, Trail
from exchange.policy.tuned import (
    caller_and_partner_schools,
    forwarded_to_caller,
    readable_by_caller,
    readable_from_others_by_caller,
    readable_resources,
    reading_parameters,
)

__all__ = [
    "ASK_FOR_CONSENT",
    "POLICY",
    "STUDENT_CONSENTS",
    "Action",
    "AnyResource",
    "AuthorFact",
    "EditAction",
    "Licensed",
    "PartnershipMove",
    "PartnershipSide",
    "ResourceFacts",
    "Trail",
    "active_partnership_between",
    "activities_of_active_partnerships",
    "allows",
    "are_active_partners",
    "audits_reads_by",
    "cache_control_for",
    "caller_and_partner_schools",
    "can_decide",
    "can_edit",
    "can_read_download_report",
    "check_confidential_licence",
    "check_derivation",
    "check_shared_with",
    "consent_on_file",
    "default_visibility",
    "forward_reach",
    "forward_stands",
    "forwarded_to_caller",
    "grant_in_force",
    "grant_in_hand",
    "is_owner_school",
    "licence_grants",
    "own_notifications",
    "partnership_side",
    "partnerships_visible_to",
    "permits",
    "questions_visible_to",
    "readable_by_caller",
    "readable_by_school",
    "readable_from_others_by_caller",
    "readable_resource",
    "readable_resource_in",
    "readable_resources",
    "reading_parameters",
    "reads_self_assessment",
    "require",
    "require_activity_evaluator",
    "require_activity_planner",
    "require_admin",
    "require_anonymous_restated",
    "require_can_answer",
    "require_can_ask",
    "require_can_edit",
    "require_can_forward",
    "require_can_request",
    "require_consent_to_leave",
    "require_partnership_move",
    "require_partnership_takes_activities",
    "require_partnership_visible",
    "require_question_visible",
    "school_can_read",
    "self_assessment_partnerships",
    "student_work_visibility",
    "where",
]
