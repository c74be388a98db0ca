"""`绑定 123456`: a staff member binds their own WeChat account to their console account, for
broadcast previews (bot/services/staff_wechat.py). Checked before the flows: the code expires in
minutes, and a member may be in the middle of trying the report flow themselves.

Guessing a live code is bounded: a WeChat account gets FAILS_PER_ACCOUNT wrong codes an hour, and
all accounts together FAILS_IN_ALL, so a million codes cannot be walked through."""

from __future__ import annotations

import hashlib

from bot.chat.context import Context
from bot.chat.routing import Router, regex
from bot.services import staff_wechat
from bot.wechat.inbound import Inbound

router = Router("staff_bind")

FAILS_PER_ACCOUNT = 5
FAILS_IN_ALL = 100
FAIL_WINDOW = 3600  # seconds
ALL_KEY = "staff-bind:fails"


def _account_key(openid: str) -> str:
    return "staff-bind:fails:" + hashlib.sha256(openid.encode()).hexdigest()[:32]  # no openid in the store


@router.on(regex(r"^\s*绑定\s*(\d{6})\s*$"), escape=True)
def bind_staff_wechat(msg: Inbound, ctx: Context) -> str:
    mine = _account_key(msg.openid)
    if int(ctx.store.get(mine) or 0) >= FAILS_PER_ACCOUNT or int(ctx.store.get(ALL_KEY) or 0) >= FAILS_IN_ALL:
        return "绑定码输错的次数过多，请一小时后再试。"
    code = msg.text.strip().removeprefix("绑定").strip()
    user = staff_wechat.bind(ctx.session, code, msg.openid, ctx.now())
    if user is None:
        ctx.store.incr(mine, FAIL_WINDOW)
        ctx.store.incr(ALL_KEY, FAIL_WINDOW)
        return "绑定码不对或已过期（30 分钟内有效）。请在管理后台“我的账号”页重新生成绑定码后再发送。"
    return (f"已把这个微信号绑定到管理后台账号 {user.display_name}。今后群发预览可以选择发到这里。"
            "如需解除，请在管理后台操作。")
