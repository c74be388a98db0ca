"""All models, imported here so that Base.metadata (and Alembic) sees every table."""

from bot.models.base import Base
from bot.models.citizens import Citizen
from bot.models.events import EventReminder, ReminderStatus  # noqa: F401 - registers the table
from bot.models.outbox import Delivery, DeliveryStatus

__all__ = ["Base", "Citizen", "Delivery", "DeliveryStatus"]
