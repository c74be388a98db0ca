"""WeChat's reports on our pushes: MASSSENDJOBFINISH and TEMPLATESENDJOBFINISH (no reply needed)."""

from __future__ import annotations

from bot.context import Context
from bot.routing import Router, event
from bot.services.broadcasts import record_job_finish
from bot.wechat.inbound import Inbound

router = Router("pushes")


@router.on(event("masssendjobfinish", "templatesendjobfinish"), escape=True)
def record_push_report(msg: Inbound, ctx: Context) -> None:
    """Keep WeChat's counts (total / filtered / sent / errors) on the delivery they belong to."""
    fields = msg.raw
    report = {"event": msg.event, "status": fields.get("Status", "")}
    for field, name in (("TotalCount", "total"), ("FilterCount", "filter"), ("SentCount", "sent"),
                        ("ErrorCount", "error")):
        if str(fields.get(field, "")).isdigit():
            report[name] = int(fields[field])
    if not record_job_finish(ctx.session, msg.msg_id, report):
        ctx.log.info("%s for unknown msg id %s", msg.event, msg.msg_id)
    return None
