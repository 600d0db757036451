"""The closed vocabularies of the contract, stored as their string values."""

from enum import StrEnum


class MemberRole(StrEnum):
    ADMIN = "admin"
    TEACHER = "teacher"


class SchoolLocality(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class SchoolKind(StrEnum):
    STATE = "state"
    PRIVATE = "private"
    INTERNATIONAL = "international"


class PartnershipStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    ENDED = "ended"


class ResourceKind(StrEnum):
    LESSON_PLAN = "lesson_plan"
    ASSESSMENT = "assessment"
    POLICY = "policy"
    VIDEO = "video"
    STUDENT_WORK = "student_work"
    OTHER = "other"


class Visibility(StrEnum):
    SCHOOL = "school"
    PARTNERS = "partners"
    SELECTED = "selected"


class StudentConsent(StrEnum):
    """Why a student's work may be shared beyond its school: the consent on file."""

    PARENTS = "parents"  # the parents (guardians) agreed; the school keeps their consent
    NOT_NEEDED_ANONYMOUS = "not_needed_anonymous"  # the work names and shows no student


class Licence(StrEnum):
    ALL_RIGHTS_RESERVED = "all_rights_reserved"
    CC_BY = "cc-by"
    CC_BY_SA = "cc-by-sa"
    CC_BY_NC = "cc-by-nc"
    CC_BY_NC_SA = "cc-by-nc-sa"
    CC0 = "cc0"

    @property
    def is_open(self) -> bool:
        """Open licences pre-grant adapt, share and publish (rule 7)."""
        return self is not Licence.ALL_RIGHTS_RESERVED


class ReuseScope(StrEnum):
    """What a school asks permission for (rule 7)."""

    ADAPT = "adapt"  # make a derived version
    SHARE = "share"  # pass it to a school outside the receiving school
    PUBLISH = "publish"  # use it outside the exchange: print run, web site, training


class ReuseRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    # The requesting school cannot see the resource any more (its partnership ended).
    CLOSED = "closed"


class GrantSource(StrEnum):
    REQUEST = "request"
    LICENCE = "licence"


class GrantRevocation(StrEnum):
    """Why a grant was revoked."""

    WITHDRAWN = "withdrawn"  # an author or the owner school's admin withdrew it
    PARTNERSHIP_ENDED = "partnership_ended"  # the partnership it rested on ended
    # The owner school withdrew the consent for a student's work: nothing of it leaves.
    STUDENT_CONSENT_WITHDRAWN = "student_consent_withdrawn"


class ActivityKind(StrEnum):
    """What partner schools do together (the handbook's §3, §4 and §6)."""

    MEETING = "meeting"
    OPEN_DAY = "open_day"
    LESSON_VISIT = "lesson_visit"
    JOINT_PLANNING = "joint_planning"
    JOINT_PROJECT = "joint_project"
    STUDENT_EXCHANGE = "student_exchange"
    TEACHER_EXCHANGE = "teacher_exchange"
    EVENT = "event"
    TRAINING = "training"
    OTHER = "other"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"
