"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router)."""

from handlers import common, knowledge

ROUTERS = [
    common.escapes,
    knowledge.router,
    common.fallback,
]
