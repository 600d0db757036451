"""What the exchange says when a rule refuses: every refusal of the policy, in English,
translated through the gettext catalogs when it is shown.

The sentences say what the rule is and what the person can do instead; they name fields
(`shared_with`) but never an API path, so the pages show the same refusals as the API.
Sentences with a placeholder are completed with `LazyText.with_params`.
"""

from __future__ import annotations

from exchange.i18n import lazy_gettext

# --- hidden: told 404, as if the thing did not exist ------------------------------------------

NO_SUCH_REQUEST = lazy_gettext(
    "No reuse request with this id is visible to you. Requests are shown to the "
    "member who asked, their school's admins, and the resource's authors and owner "
    "school's admins."
)
NO_SUCH_GRANT = lazy_gettext(
    "This resource has no grant with this id. Licence grants have no id: to end "
    "them, change the resource's licence."
)
NO_SUCH_OWN_RESOURCE = lazy_gettext(
    "Your school has no resource with this id, now or in its history."
)
ONLY_REQUESTER_WITHDRAWS = lazy_gettext(
    "Only the school that asked can withdraw a request. The authors answer it by "
    "approving or declining it."
)
ONLY_EDITORS_SEE_DOWNLOADS = lazy_gettext(
    "Only the resource's authors and the owner school's admins see who downloaded it."
)

ONLY_ADMIN_ACCEPTS = lazy_gettext(
    "Only an admin of your school can accept a partnership invitation. Ask your school's admin."
)

ONLY_ADMIN_DECLINES = lazy_gettext(
    "Only an admin of your school can decline a partnership invitation. Ask your school's admin."
)

ONLY_ADMIN_WITHDRAWS = lazy_gettext(
    "Only an admin of your school can withdraw a partnership invitation. Ask your school's admin."
)

ONLY_ADMIN_REMINDS = lazy_gettext(
    "Only an admin of your school can remind a school of your invitation. Ask your school's admin."
)

ONLY_ADMIN_ENDS = lazy_gettext(
    "Only an admin of your school can end a partnership. Ask your school's admin."
)

ONLY_ADMIN_UPDATES = lazy_gettext(
    "Only an admin of your school can change a partnership's goals, characteristics "
    "or coordinator. Ask your school's admin."
)

ONLY_INVITED_ACCEPTS = lazy_gettext("Only the invited school's admin can accept this invitation.")

ONLY_INVITED_DECLINES = lazy_gettext("Only the invited school's admin can decline this invitation.")

ONLY_INVITING_WITHDRAWS = lazy_gettext(
    "Only the inviting school's admin can withdraw this invitation; your school can "
    "decline it instead."
)

ONLY_INVITING_REMINDS = lazy_gettext(
    "Only the inviting school's admin can send a reminder of this invitation; your school "
    "answers it by accepting or declining it."
)

NO_SUCH_PARTNERSHIP = lazy_gettext("No such partnership among your school's partnerships.")

NOT_A_PLANNER = lazy_gettext(
    "Only an admin, or a member responsible for the activity, can plan or change it: "
    "a teacher plans an activity by naming themselves among its responsible members."
)

NOT_AN_EVALUATOR = lazy_gettext(
    "Only an admin of your school, or one of your school's members responsible for "
    "this activity, can evaluate it for your school."
)

PARTNERSHIP_ENDED_FOR_ACTIVITIES = lazy_gettext(
    "This partnership has ended: its activities stay readable to both schools as a "
    "record, and nothing can be added or changed."
)

PARTNERSHIP_NOT_YET_FOR_ACTIVITIES = lazy_gettext(
    "Activities can be planned only in an active partnership: this invitation has not"
    " been accepted."
)

PARTNERSHIP_OVER = lazy_gettext(
    "This partnership is no longer active: its questions stay readable to both "
    "schools, but nothing new can be asked or answered."
)

NO_SUCH_QUESTION = lazy_gettext("No question with this id is visible to your school.")

PARTNERSHIP_NOT_YET_FOR_QUESTIONS = lazy_gettext(
    "Questions can be asked once the partnership is active: the invited school "
    "accepts the invitation first."
)

ONLY_ASKED_SCHOOL_ANSWERS = lazy_gettext(
    "Only the partner school your school asked can answer this question. Add to it by"
    " asking a new question."
)

NO_SUCH_RESOURCE = lazy_gettext(
    "No resource with this id is visible to your school. It may have been deleted, or"
    " its owner has not shared it with your school."
)

EDIT_CHANGE_COLLEAGUE = lazy_gettext(
    "Only an author of this resource or an admin of your school can change it. Ask "
    "one of its authors or your school's admin."
)

EDIT_CHANGE_OTHER_SCHOOL = lazy_gettext(
    "Only the school that owns this resource can change it. To use it your own way, "
    "ask its authors for permission to adapt it."
)

EDIT_ADD_VERSION_COLLEAGUE = lazy_gettext(
    "Only an author of this resource or an admin of your school can add a version. "
    "Ask one of its authors or your school's admin."
)

EDIT_ADD_VERSION_OTHER_SCHOOL = lazy_gettext(
    "Only the school that owns this resource can add a version of it. To make your "
    "own version, ask its authors for permission to adapt it."
)

EDIT_DELETE_COLLEAGUE = lazy_gettext(
    "Only an author of this resource or an admin of your school can delete it. Ask "
    "one of its authors or your school's admin."
)

EDIT_DELETE_OTHER_SCHOOL = lazy_gettext("Only the school that owns this resource can delete it.")

NOT_A_DECIDER_ANSWER = lazy_gettext(
    "Only an author of the resource or an admin of the school that owns it can answer"
    " its reuse requests."
)

NOT_A_DECIDER_WITHDRAW_GRANT = lazy_gettext(
    "Only an author of the resource or an admin of the school that owns it can "
    "withdraw a permission."
)

SHARED_WITH_NEEDS_SELECTED = lazy_gettext(
    "`shared_with` is only used with visibility 'selected'. Set visibility to "
    "'selected', or leave `shared_with` empty."
)

SELECTED_NEEDS_PARTNERS = lazy_gettext(
    "Visibility 'selected' needs at least one partner school in `shared_with`."
)

SHARED_WITH_NOT_A_PARTNER = lazy_gettext(
    "School {school_id} in `shared_with` is not an active partner of your school. "
    "Only schools in an active partnership with yours can be named."
)

CONFIDENTIAL_NOT_OPEN = lazy_gettext(
    "A confidential resource cannot carry an open licence: an open licence lets "
    "anyone pass it on, and the code of conduct (rule 6) says confidential documents "
    "are never passed on. Choose 'all_rights_reserved', or do not mark it "
    "confidential."
)

ASK_FOR_CONSENT = lazy_gettext(
    "Record that parents agreed, or that the work is anonymous, before sharing a "
    "student's work with partners."
)

CONSENT_TO_WIDEN = lazy_gettext(
    "Send `student_consent` 'parents' (the parents agreed, and your school keeps "
    "their consent) or 'not_needed_anonymous' (the work shows no student's name or "
    "face), or keep its visibility 'school' (your school only)."
)

ANONYMOUS_RESTATED = lazy_gettext(
    "This student's work is shared as anonymous, and the new file will be shared the "
    "same way: send `student_consent` 'not_needed_anonymous' with it if it shows no "
    "student's name or face either, or 'parents' if the parents agreed. Otherwise "
    "change its visibility to 'school' first."
)

NO_CONSENT_HERE_SHARE = lazy_gettext(
    "This student's work has no consent on file, so it cannot be shared. Record the "
    "consent (`student_consent` 'parents' or 'not_needed_anonymous') by editing the "
    "resource, then decide again."
)

NO_CONSENT_HERE_PUBLISH = lazy_gettext(
    "This student's work has no consent on file, so it cannot be published. Record "
    "the consent (`student_consent` 'parents' or 'not_needed_anonymous') by editing "
    "the resource, then decide again."
)

NO_CONSENT_HERE_FORWARD = lazy_gettext(
    "This student's work has no consent on file, so it cannot be passed on. Record "
    "the consent (`student_consent` 'parents' or 'not_needed_anonymous') by editing "
    "the resource, then decide again."
)

NO_CONSENT_THERE_SHARE = lazy_gettext(
    "This student's work has no consent on file at its school, so it cannot be "
    "shared: its school has to record that first."
)

NO_CONSENT_THERE_PUBLISH = lazy_gettext(
    "This student's work has no consent on file at its school, so it cannot be "
    "published: its school has to record that first."
)

NO_CONSENT_THERE_FORWARD = lazy_gettext(
    "This student's work has no consent on file at its school, so it cannot be passed"
    " on: its school has to record that first."
)

CONFIDENTIAL_SHARE = lazy_gettext(
    "This resource is confidential and can never be shared further (code of conduct, "
    "rule 6): the schools it is shared with may read it, nothing more. You can still "
    "use it inside your school, or ask its authors for permission to adapt it. If you"
    " need something you can pass on, ask them for a version without the confidential"
    " content."
)

CONFIDENTIAL_PUBLISH = lazy_gettext(
    "This resource is confidential and can never be published (code of conduct, rule "
    "6): the schools it is shared with may read it, nothing more. You can still use "
    "it inside your school, or ask its authors for permission to adapt it. If you "
    "need something you can publish, ask them for a version without the confidential "
    "content."
)

OWNER_NEEDS_NO_REQUEST = lazy_gettext(
    "Your school owns this resource: it needs no permission to use it. To share it "
    "with a partner, change its visibility or `shared_with`."
)

LICENCE_ALREADY_GRANTS = lazy_gettext(
    "Its licence ({licence}) already lets every school that can read it adapt, share "
    "and publish it, with credit to its authors: no request is needed."
)

PERMISSION_LASTS_UNTIL = lazy_gettext("The permission lasts until {date}.")

HELD_ADAPT = lazy_gettext(
    "Your school already holds permission to adapt this resource; the resource's page"
    " lists the permissions."
)

HELD_SHARE = lazy_gettext(
    "Your school already holds permission to share this resource; the resource's page"
    " lists the permissions."
)

HELD_PUBLISH = lazy_gettext(
    "Your school already holds permission to publish this resource; the resource's "
    "page lists the permissions."
)

OWNER_NEEDS_NO_FORWARD = lazy_gettext(
    "Your school owns this resource: share it by changing its visibility, or name the"
    " partner in `shared_with` with visibility 'selected'."
)

FORWARD_NEEDS_SHARE = lazy_gettext(
    "Your school may read this resource but not pass it on: the code of conduct (rule"
    " 7) asks for its authors' permission first. Ask the authors for permission to "
    "share it."
)

FORWARD_TO_SELF = lazy_gettext("Your school already has this resource; name a partner school.")

FORWARD_ONLY_TO_PARTNERS = lazy_gettext(
    "You can pass a resource on only to a school your school is in an active "
    "partnership with (code of conduct, rule 7). Invite the school to a partnership "
    "first if it is not your partner yet."
)

FORWARD_ALREADY_READ = lazy_gettext(
    "That school can already read this resource; nothing to forward."
)

ADAPT_NEEDS_PERMISSION = lazy_gettext(
    "Adapting a partner's resource needs its authors' permission (code of conduct, "
    "rule 7). Ask the authors for permission to adapt it first."
)

ADAPTED_FROM_CONFIDENTIAL = lazy_gettext(
    "The original is confidential (code of conduct, rule 6): what is adapted from it "
    "stays inside your school. Upload it with visibility 'school'."
)

ADAPTATION_NEEDS_SHARE = lazy_gettext(
    "You may adapt this resource for your own school, but showing the adaptation to "
    "other schools passes the original on, which needs its authors' permission (code "
    "of conduct, rule 7). Upload it with visibility 'school', or ask the authors for "
    "permission to share it."
)

ORIGINAL_WITHOUT_VERSION = lazy_gettext(
    "The original has no stored version yet; try again in a moment."
)

ONLY_ADMIN_READS_AUDIT = lazy_gettext(
    "Only an admin of your school can read the audit trail. Ask your school's admin."
)

ONLY_ADMIN_INVITES = lazy_gettext(
    "Only an admin of your school can invite a school to a partnership. Ask your school's admin."
)

ONLY_ADMIN_EDITS_PROFILE = lazy_gettext(
    "Only an admin of your school can change your school's profile. Ask your school's admin."
)

NO_SUCH_NOTIFICATION = lazy_gettext("No such notification in your inbox.")

NO_SUCH_UPLOAD = lazy_gettext(
    "No such upload of yours: it was finished, abandoned or has expired. Upload the file again."
)

NO_SUCH_SCHOOL = lazy_gettext("No school with this id is in the exchange.")

NO_SUCH_ACTIVITY = lazy_gettext("No such activity among your school's partnerships.")
