"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router)."""

from handlers import common, quiz

ROUTERS = [
    common.escapes,
    quiz.router,
    common.fallback,
]
