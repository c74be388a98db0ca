"""All models, imported here so that Base.metadata (and Alembic) sees every table."""

from bot.models.base import Base
from bot.models.citizens import Citizen
from bot.models.outbox import Delivery, DeliveryStatus
from bot.models.quiz import QuizAnswer, QuizBest, QuizDraw, QuizDrawEntry, QuizPrize, QuizRound  # noqa: F401

__all__ = ["Base", "Citizen", "Delivery", "DeliveryStatus"]
