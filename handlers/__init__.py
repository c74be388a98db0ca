"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router)."""

from handlers import common, report

ROUTERS = [
    common.escapes,
    report.report,
    common.fallback,
]
