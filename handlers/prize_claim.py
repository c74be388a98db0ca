"""领奖: a prize winner leaves a name and a mobile number for the prize to be delivered.

Steps: name → phone → confirm, declared once in the table CLAIM. The name and the phone wait in the
conversation (the store) until 确认, sealed by the identity vault; the claim itself is
bot/services/quiz/claims.py.
"""

from __future__ import annotations

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import Router, kind, menu_key, text_in
from bot.services.quiz import claims
from bot.services.quiz.claims import CLAIM_FLOW, CLAIM_NAME, CLAIM_PHONE, PrizeStatus
from bot.services.reports.identity import IdentityError
from bot.services.yesno import says_no, says_yes
from bot.wechat.inbound import Inbound
from handlers.leaving import Reentry, cancel_while_asking, declare
from handlers.quiz import eligibility_line
from handlers.steps import Step, Steps, say

router = Router("prize_claim")

TEXTS = {
    "none": "您目前没有待领取的奖品。\n怎么获奖：计分的一轮答题中，{eligibility}{per}开奖后中奖者会收到通知，"
            "再发送 领奖 登记。发送 答题 参加竞猜。",
    "expired": "您的奖品已超过领取期限（中奖后{days}天内），无法再领取。",
    "done": "您的领奖信息已登记，工作人员会尽快联系您发放奖品。",
    "start": "恭喜获奖：{prizes}\n请在{deadline}前完成登记。\n请回复领奖人姓名（发送 取消 可退出）：",
    "name": "请回复领奖人姓名：",
    "name_bad": "姓名请填写2–20个汉字或字母，请重新回复领奖人姓名：",
    "phone": "请回复11位手机号。\n手机号仅用于工作人员联系您发放奖品，奖品发放{days}天后删除。",
    "phone_bad": "手机号格式不对，请回复11位大陆手机号，如 13800138000：",
    "confirm": "请核对：\n姓名：{name}\n手机：{phone}\n回复 确认 提交，回复 修改 重新填写。",
    "confirm_reask": "请回复 确认 提交，或回复 修改 重新填写。",
    "redo": "好的，请重新回复领奖人姓名：",
    "lost": "抱歉，刚才登记的信息因系统维护没能保存，请重新回复领奖人姓名：",
    "claimed": "已登记领奖信息，工作人员会通过 {phone} 联系您发放奖品。感谢参与安全生产月竞猜！",
    "kept": "已填写的姓名、手机号不会保存，之后发送 领奖 可重新登记。",
}

CLAIM_WORDS = ("领奖", "领取奖品", "兑奖")
CONFIRM_WORDS = ("确认", "提交", "确认提交")  # and any plain yes (bot/services/yesno.py)
REDO_WORDS = ("修改", "重填", "重新填写")  # and any plain no
TYPED = kind("text", "voice")


class PrizeClaim(StateGroup):
    flow_name = CLAIM_FLOW
    name = State()
    phone = State()
    confirm = State()


def text(key: str, **values: object) -> str:
    return TEXTS[key].format(**values) if values else TEXTS[key]


def _claim_step_again(msg: Inbound, ctx: Context) -> str:
    return say(CLAIM.at(ctx.conv.state).ask, ctx, None)


# Another feature's word or a menu click during a claim: asked whether to leave first.
declare(router, PrizeClaim, Reentry(what="领奖登记", doing="登记", prompt=_claim_step_again,
                                    ask_at=tuple(PrizeClaim.states()), own_words=CLAIM_WORDS, own_keys=("QUIZ_CLAIM",),
                                    kept=TEXTS["kept"]))


@router.on(text_in(*CLAIM_WORDS), menu_key("QUIZ_CLAIM"), help="领奖 — 中奖后登记领奖信息")
def start_claim(msg: Inbound, ctx: Context) -> str:
    prizes = claims.open_prizes(ctx.session, msg.openid, ctx.now())
    if not prizes:
        statuses = {prize.status for prize, _ in claims.prizes_of(ctx.session, msg.openid)}
        if PrizeStatus.CLAIMED in statuses:
            return text("done")
        if PrizeStatus.EXPIRED in statuses or PrizeStatus.WON in statuses:
            return text("expired", days=ctx.config.quiz.claim_days)
        cfg = ctx.config.quiz
        return text("none", eligibility=eligibility_line(cfg.draw_eligibility, cfg.questions_per_round),
                    per="每天可得一次抽奖资格。" if cfg.draw_entry_per == "day" else "活动期间可得一次抽奖资格。")
    titles = {p.draw_id: (d.title, d.prize) for p, d in claims.prizes_of(ctx.session, msg.openid)}
    listed = "；".join(f"{titles[p.draw_id][0]} {titles[p.draw_id][1]}" for p in prizes)
    deadline = min(p.claim_deadline for p in prizes)
    ctx.conv.enter(PrizeClaim.name)
    return text("start", prizes=listed, deadline=f"{deadline:%m月%d日%H:%M}")


# --- the steps -----------------------------------------------------------------------------------

def take_claim_name(msg: Inbound, ctx: Context) -> str:
    name = claims.normalize_name(msg.text)
    if name is None:
        return text("name_bad")
    # Sealed in the conversation too: it lives in the store (Redis) until the claim is confirmed.
    ctx.conv.enter(PrizeClaim.phone, name=ctx.vault.encrypt(CLAIM_NAME, name))
    return _ask_phone(ctx)


def take_claim_phone(msg: Inbound, ctx: Context) -> str:
    """The phone's answer shows both for checking (the confirm step's own question, after a detour,
    only says what to reply)."""
    phone = claims.normalize_phone(msg.text)
    if phone is None:
        return text("phone_bad")
    vault = ctx.vault
    try:
        name = vault.open_if_sealed(CLAIM_NAME, ctx.conv.data["name"])
    except IdentityError:
        return _claim_lost(ctx)
    ctx.conv.enter(PrizeClaim.confirm, phone=vault.encrypt(CLAIM_PHONE, phone))
    return text("confirm", name=name, phone=phone)


def _claim_lost(ctx: Context) -> str:
    """The contact kept between two messages was sealed with an identity key no longer configured
    (the previous key removed after a rotation, README: Key custody): ask for it again."""
    ctx.conv.enter(PrizeClaim.name)
    return text("lost")


def confirm_claim(msg: Inbound, ctx: Context) -> str:
    data = ctx.conv.data
    vault = ctx.vault
    try:
        name, phone = vault.open_if_sealed(CLAIM_NAME, data["name"]), vault.open_if_sealed(CLAIM_PHONE, data["phone"])
    except IdentityError:
        return _claim_lost(ctx)
    ctx.conv.clear()
    claimed = claims.claim_prizes(ctx.session, vault, msg.openid, name=name, phone=phone, now=ctx.now())
    if not claimed:
        return start_claim(msg, ctx)
    return text("claimed", phone=claims.mask_phone(phone))


def redo_claim(msg: Inbound, ctx: Context) -> str:
    """修改 (or 不对) at the summary: the claim starts over from the step the table goes back to."""
    ctx.conv.enter(CLAIM.state(CLAIM.at(ctx.conv.state).back or CLAIM.names[0]))
    return text("redo")


def _ask_phone(ctx: Context, _work: None = None) -> str:
    return text("phone", days=ctx.config.quiz.claim_erase_days)


# Each step once: its question (after a detour), what it accepts and who takes it, what it says to
# anything else, and where 修改 goes.
CLAIM: Steps[None] = Steps(PrizeClaim, [
    Step("name", ask=TEXTS["name"], reask=TEXTS["name_bad"],
         accepts=[(TYPED, take_claim_name)]),
    Step("phone", ask=_ask_phone, reask=TEXTS["phone_bad"],
         accepts=[(TYPED, take_claim_phone)]),
    Step("confirm", ask=TEXTS["confirm_reask"], reask=TEXTS["confirm_reask"], back="name",
         accepts=[((text_in(*CONFIRM_WORDS), says_yes), confirm_claim), ((text_in(*REDO_WORDS), says_no), redo_claim)]),
])
CLAIM.register(router)


@router.on_cancel(CLAIM_FLOW)
def leave_claim(msg: Inbound, ctx: Context) -> str | None:
    """取消 leaves the claim (None: cleared as any flow); 算了 to "离开当前的领奖登记吗？" stays."""
    return cancel_while_asking(msg, ctx, _claim_step_again, "登记")


@router.on(state=PrizeClaim)
def reask_claim(msg: Inbound, ctx: Context) -> str:
    return say(CLAIM.at(ctx.conv.state).reask, ctx, None)
