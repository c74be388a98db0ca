"""All models, imported here so that Base.metadata (and Alembic) sees every table."""

from bot.models.base import Base
from bot.models.broadcasts import Broadcast, BroadcastStatus, WeChatTag
from bot.models.citizens import Citizen
from bot.models.consents import ConsentStatus, SubscribeConsent
from bot.models.content_edits import ContentEdit
from bot.models.events import EventReminder, ReminderStatus  # noqa: F401 - registers the table
from bot.models.job_pauses import JobPause
from bot.models.outbox import Delivery, DeliveryStatus
from bot.models.quiz import QuizAnswer, QuizBest, QuizDraw, QuizDrawEntry, QuizPrize, QuizRound
from bot.models.reports import Report, ReportAudit, ReportDraft, ReportEvent, ReportPhoto
from bot.models.staff import AuditEntry, StaffUser
from bot.models.vault import VaultKey

__all__ = ["AuditEntry", "Base", "Broadcast", "BroadcastStatus", "Citizen", "ConsentStatus", "ContentEdit", "Delivery",
           "DeliveryStatus", "JobPause",
           "QuizAnswer", "QuizBest", "QuizDraw", "QuizDrawEntry", "QuizPrize", "QuizRound", "Report", "ReportAudit",
           "ReportDraft", "ReportEvent", "ReportPhoto", "StaffUser", "SubscribeConsent", "VaultKey", "WeChatTag"]
