"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router)."""

from handlers import common, pushes, township

ROUTERS = [
    common.escapes,
    pushes.router,
    township.router,
    common.fallback,
]
