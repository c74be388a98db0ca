"""WeChat's reports on our pushes (MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH, subscribe_msg_sent_event) and
the citizen's choices about 订阅通知 (subscribe_msg_popup_event / _change_event). No reply is needed."""

from __future__ import annotations

from bot.chat.context import Context
from bot.chat.routing import Router, event
from bot.services import subscribe_consents
from bot.services.broadcasts import record_job_finish, record_subscribe_sent
from bot.wechat.inbound import Inbound, subscribe_items

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


@router.on(event("subscribe_msg_popup_event", "subscribe_msg_change_event"), escape=True)
def record_subscribe_choice(msg: Inbound, ctx: Context) -> None:
    """The citizen accepted or declined 订阅通知 of each template in the event (every `List` item)."""
    made = subscribe_consents.choices(subscribe_items(msg))
    subscribe_consents.record(ctx.session, ctx.vault, msg.openid, made, ctx.now(),
                              popup=msg.event == "subscribe_msg_popup_event")
    return None


@router.on(event("subscribe_msg_sent_event"), escape=True)
def record_subscribe_result(msg: Inbound, ctx: Context) -> None:
    """WeChat's word on each 订阅通知 it sent: a failure makes its notice undeliverable, and a refusal
    by the citizen withdraws the consent we recorded."""
    vault = ctx.vault
    for item in subscribe_items(msg):
        code = str(item.get("ErrorCode") or "0").strip()
        if code in ("", "0"):
            continue
        record_subscribe_sent(ctx.session, str(item.get("MsgID") or ""), code, str(item.get("ErrorStatus") or ""))
        if code == str(subscribe_consents.REFUSED_BY_WECHAT):
            subscribe_consents.refused(ctx.session, subscribe_consents.citizen_key(vault, msg.openid),
                                       str(item.get("TemplateId") or ""), ctx.now())
    return None
