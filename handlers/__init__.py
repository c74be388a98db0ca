"""The one place the order of routers lives: escapes first, the fallback last (DESIGN.md, Router).

Feature routers before knowledge: knowledge takes any question it can answer, so the entry words
of the flows (举报, 答题, ...) and a plainly described hazard must be claimed first. The routers' own
words win; the intent layer (a classifier, handlers/intent.py) takes what they leave.
"""

from handlers import (
    common,
    emergency,
    events,
    intent,
    knowledge,
    prize_claim,
    push_events,
    quiz,
    report,
    staff_bind,
    township,
)

ROUTERS = [
    emergency.router,  # danger now: whom to call comes before everything, in any flow
    common.escapes,
    staff_bind.router,  # 绑定 <code>: a staff member's own WeChat, for broadcast previews
    push_events.router,
    township.router,
    quiz.router,
    prize_claim.router,  # 领奖: a winner's name and phone
    report.report,
    events.router,
    knowledge.router,  # its numbered choices, the topic list, small talk
    intent.router,  # what the message wants, learned from content/intents/; choices when unsure
    knowledge.search,  # an entry that answers a question the intent layer left alone
    common.fallback,
]
