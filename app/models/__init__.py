"""The data model, one module per aggregate."""
from app.models.action_token import UsedActionToken
from app.models.audit import AuditEvent
from app.models.developer import ROLES, SUPERVISOR_ROLES, ApiToken, Developer, developer_services
from app.models.error import (
    KINDS, MERGED_KIND, OPEN_STATUSES, SEVERITIES, SEVERITY_LEVEL, STATUSES, ErrorComment, ErrorFacet, ErrorLog,
    ErrorMerge, ErrorOccurrence,
)
from app.models.escalation import (
    NOTIFY_CHANNELS, STEP_KINDS, ErrorAcknowledgement, ErrorEscalation, EscalationChain, EscalationStep,
)
from app.models.notification import CHANNELS, NOTIFICATION_STATUSES, ErrorNotification, NotificationAttempt
from app.models.pattern import ErrorPattern
from app.models.release import Release
from app.models.service import PLATFORMS, Service
from app.models.stats import ClientDiscard, ErrorHourlyCount, ErrorStat, ServiceHourlyCount
from app.models.alerts import AlertState, ErrorEventDispatch, MetricSnapshot
from app.models.oncall import FREQUENCIES, SWAP_STATUSES, OnCallFeed, OnCallLayer, OnCallOverride, OnCallSchedule, OnCallSwap
from app.models.settings import ScheduledJob, Setting
from app.models.sourcemap import ARTIFACT_KINDS, ArtifactBundle, ArtifactFile, UploadChunk
from app.models.webhook import WEBHOOK_EVENTS, WebhookSubscription

__all__ = [
    "ApiToken", "AuditEvent", "ErrorAcknowledgement", "CHANNELS", "ClientDiscard", "KINDS", "Developer",
    "ErrorComment", "ErrorEscalation", "EscalationChain", "EscalationStep", "NOTIFY_CHANNELS", "STEP_KINDS", "ErrorFacet",
    "ErrorHourlyCount", "ErrorMerge", "MERGED_KIND", "ErrorLog", "ErrorNotification", "ErrorOccurrence", "ErrorPattern",
    "NotificationAttempt", "ErrorStat", "Release", "NOTIFICATION_STATUSES",
    "OPEN_STATUSES", "PLATFORMS",
    "ROLES", "SEVERITIES", "SEVERITY_LEVEL", "STATUSES", "SUPERVISOR_ROLES", "Service", "ServiceHourlyCount", "developer_services",
    "AlertState", "ErrorEventDispatch", "MetricSnapshot", "FREQUENCIES", "OnCallFeed", "OnCallLayer", "OnCallOverride", "OnCallSchedule", "OnCallSwap", "SWAP_STATUSES", "ScheduledJob",
    "Setting", "WEBHOOK_EVENTS", "WebhookSubscription", "ARTIFACT_KINDS", "ArtifactBundle", "ArtifactFile",
    "UploadChunk", "UsedActionToken",
]
