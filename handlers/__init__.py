"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router)."""

from handlers import common, events

ROUTERS = [
    common.escapes,
    events.router,
    common.fallback,
]
