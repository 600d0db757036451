"""The exchange's tables, one module per noun, all re-exported here.

Alembic's autogenerate and the migration check import this package so that every
table is registered on the shared metadata.
"""

from advanced_alchemy.base import orm_registry

from exchange.models.access_token import AccessToken
from exchange.models.activity import Activity, ActivityEvaluation
from exchange.models.audit_event import AuditEvent
from exchange.models.calendar_feed import CalendarFeed
from exchange.models.code_of_conduct import CodeOfConductVersion
from exchange.models.dashboard_visit import DashboardVisit
from exchange.models.directory_entry import DirectoryEntry
from exchange.models.enums import (
    ActivityKind,
    ActivityStatus,
    GrantRevocation,
    GrantSource,
    Licence,
    MemberRole,
    PartnershipStatus,
    ResourceKind,
    ReuseRequestStatus,
    ReuseScope,
    SchoolKind,
    SchoolLocality,
    StudentConsent,
    Visibility,
)
from exchange.models.forward import Forward
from exchange.models.grant import Grant
from exchange.models.job import Job
from exchange.models.member import Member
from exchange.models.notification import Notification
from exchange.models.outgoing_mail import OutgoingMail
from exchange.models.partner_question import PartnerQuestion, QuestionAnswer
from exchange.models.partnership import Partnership
from exchange.models.password_link import PasswordLink
from exchange.models.registration_link import RegistrationLink
from exchange.models.resource import Resource, ResourceAuthor, ResourceShare, ResourceVersion
from exchange.models.reuse_request import ReuseRequest
from exchange.models.school import School
from exchange.models.search_document import SearchDocument, SearchText
from exchange.models.setup_code import SetupCode
from exchange.models.sign_in import KnownSignInAddress, SignInThrottle
from exchange.models.upload import Upload

metadata = orm_registry.metadata

__all__ = (
    "AccessToken",
    "Activity",
    "ActivityEvaluation",
    "ActivityKind",
    "ActivityStatus",
    "AuditEvent",
    "CalendarFeed",
    "CodeOfConductVersion",
    "DashboardVisit",
    "DirectoryEntry",
    "Forward",
    "Grant",
    "GrantRevocation",
    "GrantSource",
    "Job",
    "KnownSignInAddress",
    "Licence",
    "Member",
    "MemberRole",
    "Notification",
    "OutgoingMail",
    "PartnerQuestion",
    "Partnership",
    "PartnershipStatus",
    "PasswordLink",
    "QuestionAnswer",
    "RegistrationLink",
    "Resource",
    "ResourceAuthor",
    "ResourceKind",
    "ResourceShare",
    "ResourceVersion",
    "ReuseRequest",
    "ReuseRequestStatus",
    "ReuseScope",
    "School",
    "SchoolKind",
    "SchoolLocality",
    "SearchDocument",
    "SearchText",
    "SetupCode",
    "SignInThrottle",
    "StudentConsent",
    "Upload",
    "Visibility",
    "metadata",
)
