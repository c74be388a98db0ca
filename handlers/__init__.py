"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router).

Feature routers before knowledge: knowledge takes any question it can answer, so the entry words
of the flows (举报, 答题, ...) and a plainly described hazard must be claimed first.
"""

from handlers import common, emergency, events, knowledge, pushes, quiz, report, township

ROUTERS = [
    emergency.router,  # danger now: whom to call comes before everything, in any flow
    common.escapes,
    pushes.router,
    township.router,
    quiz.router,
    report.report,
    events.router,
    knowledge.router,
    common.fallback,
]
