"""隐患举报 / 安全吹哨人: the guided report, 我的举报 and 查询.

Steps: category → description → location → photos → contact → confirm, each declared once in the
table FORM (after the steps' handlers, which it names). Every answer is written to the draft in the
DB at once (bot/services/reports/drafts.py); the conversation in the store only says which step is
current, so 继续 can rebuild it from the draft whenever the store forgets.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.chat.context import Context
from bot.chat.conversation import State, StateGroup
from bot.chat.routing import GO_ON, GoOn, Router, all_of, kind, menu_key, regex, text_in
from bot.services.echo import quoted
from bot.services.reports import drafts, lifecycle, tickets
from bot.services.reports.categories import ReportCategories
from bot.services.reports.identity import IdentityVault
from bot.services.yesno import says_no, says_yes
from bot.wechat.inbound import Inbound, Location
from handlers.emergency import keeps_text
from handlers.events import Browse, names_a_township
from handlers.leaving import Reentry, cancel_while_asking, declare
from handlers.steps import Step, Steps, say

if TYPE_CHECKING:  # the rows a step reads; it writes them only through the drafts service
    from bot.models.reports import Report, ReportDraft

log = logging.getLogger(__name__)

report = Router("report")


class ReportFlow(StateGroup):
    flow_name = "report"
    offer = State()        # a first message looked like a hazard: start a report with it?
    pending = State()      # an unfinished report exists: 继续 or 重新开始?
    category = State()
    description = State()
    location = State()
    photos = State()
    contact = State()
    confirm = State()


keeps_text(ReportFlow.description)  # danger in a description: warned first, and the words are saved

MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 2000  # one message's cap (inbound.CITIZEN_TEXT_CAP); a prefilled start plus more stays within it
SUMMARY_DESCRIPTION = 200  # the whole description is stored; the summary shows its start
ADDRESS_ECHO = 60  # an address said back (已记下位置, the summary): its start when it is long
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
NAME = re.compile(r"[\u4e00-\u9fffA-Za-z·• ]{1,20}")
LABEL_WORDS = re.compile(r"(姓名|名字|手机号码|手机号|手机|电话号码|电话|联系方式|联系人|我叫|我是)[:：]?")
# The query code may come as the receipt showed it: "查询 YH…-… 查询码：ABCD1234", commas, a full stop.
# A ticket number and a query code as the receipt shows them (the intent layer finds them in free text too).
TICKET_FORMAT, CODE_FORMAT = r"YH\d{8}-[A-Z0-9]{6}", r"[A-Z0-9]{8}"
QUERY = re.compile(rf"^查询\s*({TICKET_FORMAT})(?:[\s,，:：]*(?:查询码|码)?[\s,，:：是为]*({CODE_FORMAT}))?[\s。.！!]*$",
                   re.IGNORECASE)

ENTRY_WORDS = ("举报", "我要举报", "隐患举报", "随手拍", "隐患随手拍", "吹哨", "安全吹哨人", "吹哨人", "反映隐患")
DONE_WORDS = ("完成", "好了", "发完了", "没有了", "下一步", "ok")
SKIP_WORDS = ("跳过", "没有", "无", "不用", "不知道", "略过")
KEEP_WORDS = ("不变", "保留", "不用改", "不改")
ANONYMOUS_WORDS = ("匿名", "不留", "匿名举报", "不想留")
SUBMIT_WORDS = ("确认", "提交", "确定", "确认提交")  # and any plain yes (bot/services/yesno.py)

TYPED = kind("text", "voice")
MEDIA = kind("image", "video", "shortvideo")
# Not events: a menu click during the flow goes to its own feature; 继续 comes back here.
MESSAGES = kind("text", "voice", "image", "video", "shortvideo", "location", "link")

TEXTS = {
    "leave_kept": "已填写的内容会保留，之后发送 继续 可接着填写。",
    "controls": "（返回 上一步 · 取消 放弃）",
    "category": "请选择隐患类别，回复序号：\n{list}",
    "category_again": "请回复 1–{count} 之间的序号（或类别名称），例如回复 1 表示“{first}”。",
    "out_of_remit": "提示：这类问题由{department}负责（电话 {phone}）。您仍可在这里提交，我们会转交并跟踪。",
    "description": "请描述隐患情况（至少10个字）：在哪里、什么问题、持续多久。可以打字，也可以发语音。\n例如：{example}",
    "description_more": "您刚才说：“{text}”。请再补充几句：具体在哪里、什么情况（合起来至少10个字）。",
    "description_prefilled": "已把您刚才说的“{text}”作为描述。",
    "description_kept": "已记下您说的“{text}”，选好类别后不用再写一遍。",
    "description_current": "（当前描述：{text}；回复 不变 保留。）",
    "description_again": "请用文字或语音描述隐患情况（至少10个字）。",
    "description_long": "描述太长了（最多{limit}个字）。请只写在哪里、什么问题、持续多久。",
    "description_short": "描述太短了（至少10个字）。请说清楚在哪里、什么问题，例如：{example}",
    "voice_unrecognised": "没能识别这段语音，请改为输入文字描述。",
    "location": "请发送隐患位置：点输入框旁的 ＋ → 位置，发送定位；或直接输入地址，例如：城关镇人民路12号。"
                "不清楚位置请回复 跳过。",
    "location_current": "（当前位置：{place}；回复 不变 保留。）",
    "location_again": "请发送定位，或输入地址（如：城关镇人民路12号），不清楚请回复 跳过。",
    "photos": "请上传现场照片或视频（最多9张），一张一张发送即可；发完回复 完成，没有照片请回复 跳过。",
    "photos_received": "（已收到{count}张。）",
    "photo_added": "已收到第{count}张。还可以继续发送（最多9张），发完请回复 完成。",
    "photo_full": "已收到第{count}张，达到上限（9张）。请回复 完成 进入下一步。",
    "photo_over": "最多上传9张，这张没有保存。请回复 完成 进入下一步。",
    "photos_again": "请发送照片或视频；发完请回复 完成，没有照片请回复 跳过。",
    "photo_kept": "照片已保存（共{count}张）。",
    "photo_not_kept": "最多上传9张，这张没有保存。",
    "contact": "为便于核实情况和发放举报奖励，请留下姓名和手机号（例如：张三 13800138000）。"
               "仅经授权的工作人员可见，加密保存，办结{days}天后删除，绝不透露给被举报单位。\n"
               "也可以回复 匿名（匿名举报无法联系核实，也难以领取奖励）。",
    "contact_current": "（当前：{contact}；回复 不变 保留。）",
    "contact_again": "请输入姓名和手机号（例如：张三 13800138000），或回复 匿名。",
    "contact_bad_phone": "手机号好像不对（应为11位手机号，或带区号的座机）。请重新输入，例如：张三 13800138000；"
                         "不想留请回复 匿名。",
    "contact_no_phone": "请同时留下手机号，例如：张三 13800138000；不想留请回复 匿名。",
    "contact_no_name": "请同时留下姓名（可以只写姓，如：张先生 13800138000）；不想留请回复 匿名。",
    "summary": "请核对您的举报：\n类别：{category}\n描述：{description}\n位置：{location}\n照片：{photos}\n联系人：{contact}\n\n"
               "回复 确认 提交；回复 返回 修改上一步；回复 取消 放弃。",
    "confirm_again": "请回复 确认 提交；回复 返回 修改上一步；回复 取消 放弃。",
    "submitted": "举报已提交，感谢您当安全吹哨人！\n举报编号：{ticket}\n查询码：{code}\n"
                 "（查询码只显示这一次，请截图保存；在其他微信号上查询或匿名领奖时需要。）\n"
                 "由{department}负责办理，将在{due}前告知是否受理，办理进度会通过本公众号通知您。\n"
                 "发送 我的举报 或 查询 {ticket} 查看进度。",
    "submit_failed": "抱歉，系统刚才没能保存您的举报，您填写的内容都还在。请稍后再发送 确认 重试。",
    "daily_cap": "您今天已提交{cap}条举报，达到每日上限，明天可以继续提交。紧急情况请直接拨打 12350（安全生产举报）"
                 "或 119、110。",
    "daily_cap_draft": "您填写的内容已保存{hours}小时，明天发送 继续 即可提交。",
    "pending": "您有一份未完成的举报（{started}开始，类别：{category}）。回复 继续 接着填写，回复 重新开始 新建一份。",
    "pending_again": "请回复 继续 接着填写未完成的举报，或回复 重新开始 新建一份。",
    "resumed": "好的，接着填写。",
    "no_draft": "您没有未完成的举报。发送 举报 开始新的举报。",
    "draft_gone": "这份举报已过期或已提交。发送 举报 开始新的举报，发送 我的举报 查看已提交的。",
    "first_step": "已经是第一步了。",
    "back": "好的，回到上一步。",
    "offer": "您说的像是一条{what}：“{text}”\n要举报吗？回复 是 开始举报（这段话会完整作为描述{preset}），回复 否 忽略。",
    "offer_preset": "，类别先选“{name}”，不对可以改",
    "preset": "类别：{name}（不对请回复 改类别）。",
    "offer_replaces": "（注意：您还有一份未完成的举报，回复 是 会替换它；回复 继续 可接着填写那一份。）",
    "offer_again": "请回复 是 开始举报，或回复 否 忽略。",
    "offer_place": "收到您发来的位置：{place}。\n要举报这里的安全隐患吗？回复 是 开始举报（这个位置会记入举报），回复 否 忽略。",
    "offer_place_events": "想看{township}的活动，请发送 {township}。",
    "place_kept": "已记下位置：{place}；到填写位置那一步还可以修改。",
    "offer_declined": "好的。需要时发送 举报 即可反映隐患。",
    "cancel_confirm": "确定要放弃这份举报吗？已填写的内容和照片都会删除。\n回复 是（或再发送一次 取消）确认放弃；回复 否 或 继续 接着填写。",
    "cancelled": "已放弃本次举报。需要时发送 举报 重新开始。",
    "mine_empty": "您还没有提交过举报。发送 举报 反映身边的安全隐患。\n"
                  "在别的微信号上提交的举报，请发送：查询 举报编号 查询码。",
    "mine": "您的举报（最近{shown}条，共{total}条）：\n{lines}\n发送 查询 编号 查看详情，例如：查询 {example}",
    "query_usage": "请按格式发送：查询 举报编号，例如：查询 YH20210601-7KQ2MX。\n在其他微信号上查询请加查询码：查询 编号 查询码。",
    "query_bad_code": "查询码是8位字母或数字，提交举报时和编号一起发给您的，请核对后再发送：查询 编号 查询码。\n"
                      "在提交举报的微信号上查询，只发 查询 编号 就可以。",
    "query_none": "没有找到这个编号的举报。请核对编号；在提交举报以外的微信号上查询，请在编号后加查询码：查询 编号 查询码。",
    "guide": "【隐患举报须知】\n"
             "· 可以举报：企业的重大事故隐患、安全生产违法行为、瞒报谎报事故，以及身边的消防、燃气、建筑施工、"
             "危化品等安全隐患。交通、食品等其他部门负责的问题也可以提交，我们会告诉您由谁处理并转交。\n"
             "· 怎么举报：发送 举报，按提示选类别、写描述、发位置和照片，一分钟左右即可完成；也可拨打 12350 安全生产举报电话。\n"
             "· 举报奖励：经核查属实的，按举报奖励办法给予奖励。需实名并留下有效联系方式，收到奖励通知后{claim_days}天内领取。\n"
             "· 为您保密：姓名、电话加密保存，仅经授权的工作人员可见，绝不透露给被举报单位；办结{retention}天后删除联系方式。\n"
             "· 查进度：发送 我的举报，或 查询 举报编号。",
}


# --- helpers ------------------------------------------------------------------------------------

def _vault(ctx: Context) -> IdentityVault:
    return ctx.vault


def _owner(ctx: Context) -> str:
    return _vault(ctx).owner(ctx.msg.openid)


def _categories(ctx: Context) -> ReportCategories:
    return ctx.content.report_categories


def _draft(ctx: Context) -> ReportDraft | None:
    return drafts.current(ctx.session, _owner(ctx), ctx.now(), ctx.config.reports.draft_keep_hours)


def has_draft(msg: Inbound, ctx: Context) -> bool:
    """Matcher: the citizen has an unfinished report (read from the DB, not the store)."""
    return _draft(ctx) is not None


def looks_like_hazard(msg: Inbound, ctx: Context) -> bool:
    """Matcher: a statement of a hazard ("消防通道被堵"), not a question about one."""
    return msg.kind in ("text", "voice") and _categories(ctx).detect.looks_like_hazard(msg.text)


def _chars(text: str) -> int:
    return len(re.sub(r"\s", "", text))


def _mask_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else name


def _mask_phone(phone: str) -> str:
    digits = phone.replace("-", "")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def _over_cap(ctx: Context) -> bool:
    return tickets.submitted_today(ctx.session, _owner(ctx), ctx.now()) >= ctx.config.reports.daily_cap


def _cap_text(ctx: Context, with_draft: bool = False) -> str:
    text = TEXTS["daily_cap"].format(cap=ctx.config.reports.daily_cap)
    if with_draft:
        text += TEXTS["daily_cap_draft"].format(hours=ctx.config.reports.draft_keep_hours)
    return text


def _example(ctx: Context, draft: ReportDraft) -> str:
    category = _categories(ctx).get(draft.category or "")
    return category.example if category else _categories(ctx).items[0].example


# The steps' questions (FORM below), each with the current answer when the citizen came back to it.

def _ask_category(ctx: Context, draft: ReportDraft) -> str:
    return _with_controls(TEXTS["category"].format(list=_categories(ctx).numbered()))


def _ask_description(ctx: Context, draft: ReportDraft) -> str:
    if draft.description_prefilled and draft.description:
        return TEXTS["description_more"].format(text=quoted(draft.description))
    text = TEXTS["description"].format(example=_example(ctx, draft))
    if draft.description:
        text += "\n" + TEXTS["description_current"].format(text=_short(draft.description))
    return _with_controls(text)


def _ask_location(ctx: Context, draft: ReportDraft) -> str:
    text = TEXTS["location"]
    if draft.location_given:
        text += "\n" + TEXTS["location_current"].format(place=_location_text(ctx, draft))
    return _with_controls(text)


def _ask_photos(ctx: Context, draft: ReportDraft) -> str:
    count = drafts.photo_count(ctx.session, draft)
    text = TEXTS["photos"]
    if count:
        text += "\n" + TEXTS["photos_received"].format(count=count)
    return _with_controls(text)


def _ask_contact(ctx: Context, draft: ReportDraft) -> str:
    text = TEXTS["contact"].format(days=ctx.config.reports.contact_retention_days)
    if draft.anonymous is not None:
        text += "\n" + TEXTS["contact_current"].format(contact=_contact_text(ctx, draft))
    return _with_controls(text)


def _with_controls(question: str) -> str:
    return question + "\n" + TEXTS["controls"]


def _category_again(ctx: Context, draft: ReportDraft | None = None) -> str:
    categories = _categories(ctx)
    return TEXTS["category_again"].format(count=len(categories.items), first=categories.items[0].name)


def _short(text: str, limit: int = SUMMARY_DESCRIPTION) -> str:
    return quoted(text, limit)


def _location_text(ctx: Context, draft: ReportDraft) -> str:
    parts = []
    if draft.address:
        parts.append(quoted(draft.address, ADDRESS_ECHO))
    elif draft.latitude is not None:
        parts.append(f"定位 {draft.latitude:.5f}, {draft.longitude:.5f}")
    township = ctx.content.townships.get(draft.township) if draft.township else None
    if township:
        parts.append(f"（{township.name}）")
    return "".join(parts) or "未提供"


def _contact_text(ctx: Context, draft: ReportDraft) -> str:
    if draft.anonymous:
        return "匿名"
    vault = _vault(ctx)
    name, phone = vault.decrypt("name", draft.name_enc), vault.decrypt("phone", draft.phone_enc)
    return f"{_mask_name(name or '')}（{_mask_phone(phone or '')}）"


def _summary(ctx: Context, draft: ReportDraft) -> str:
    category = _categories(ctx).get(draft.category or "")
    category_text = f"{category.name}（{category.department}负责）" if category else "未选择"
    count = drafts.photo_count(ctx.session, draft)
    return TEXTS["summary"].format(category=category_text, description=_short(draft.description or ""),
                                   location=_location_text(ctx, draft), photos=f"{count} 张" if count else "无",
                                   contact=_contact_text(ctx, draft))


def _go(ctx: Context, draft: ReportDraft, step: str, lead: str = "") -> str:
    """Move the draft and the conversation to `step` and ask its question."""
    drafts.touch(draft, step, ctx.now())
    ctx.conv.enter(FORM.state(step), confirm_cancel=False)
    prompt = say(FORM[step].ask, ctx, draft)
    return f"{lead}\n{prompt}" if lead else prompt


def _current_step(ctx: Context) -> Step[ReportDraft]:
    return FORM.at(ctx.conv.state)


def _loaded(ctx: Context) -> ReportDraft | None:
    """The draft behind the current step; if it is gone, the conversation ends."""
    draft = _draft(ctx)
    if draft is None:
        ctx.conv.clear()
    return draft


StepHandler = Callable[[Inbound, Context, "ReportDraft"], str]


def with_draft(handler: StepHandler) -> Callable[[Inbound, Context], str]:
    """A step that works on the citizen's draft; if the draft is gone, say so (the flow ends)."""

    @functools.wraps(handler)
    def run(msg: Inbound, ctx: Context) -> str:
        draft = _loaded(ctx)
        return TEXTS["draft_gone"] if draft is None else handler(msg, ctx, draft)

    return run


def typed_answer(handler: StepHandler) -> Callable[[Inbound, Context], str]:
    """A step answered in words: an answer withdraws a pending 取消 confirmation, and a voice message
    that was not recognised is asked to be typed."""

    @with_draft
    @functools.wraps(handler)
    def run(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
        ctx.conv.update(confirm_cancel=False)
        if msg.kind == "voice" and not msg.text:
            return TEXTS["voice_unrecognised"]
        return handler(msg, ctx, draft)

    return run


def _assign_township(ctx: Context, draft: ReportDraft, text: str) -> None:
    township = ctx.content.townships.find(text)
    if township is not None:
        drafts.place_in(draft, township.id, "text")


def _start(ctx: Context, description: str | None = None, category: str | None = None) -> str:
    if _over_cap(ctx):
        ctx.conv.clear()
        return _cap_text(ctx)
    draft = drafts.start(ctx.session, _owner(ctx), "category", ctx.now(), description=description)
    preset = _categories(ctx).get(category or "")
    described = description is not None and _chars(description) >= MIN_DESCRIPTION
    if preset is None or not described:
        kept = TEXTS["description_kept"].format(text=quoted(description)) if described else ""
        return _go(ctx, draft, "category", kept)
    # A confident guess from the citizen's own words: chosen for them, and 改类别 changes it.
    drafts.choose_category(draft, preset.id)
    drafts.keep_prefilled_description(draft)
    _assign_township(ctx, draft, description)
    lead = [TEXTS["preset"].format(name=preset.name), TEXTS["description_prefilled"].format(text=quoted(description))]
    if not preset.in_remit:
        lead.insert(0, TEXTS["out_of_remit"].format(department=preset.department, phone=preset.phone))
    return _go(ctx, draft, "location", "\n".join(lead))


# --- the steps -----------------------------------------------------------------------------------

@with_draft
def take_category(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    categories = _categories(ctx)
    category = categories.choose(msg.text) if msg.text else None
    if category is None:
        ctx.conv.update(confirm_cancel=False)
        return _category_again(ctx)
    drafts.choose_category(draft, category.id)
    lead = "" if category.in_remit else TEXTS["out_of_remit"].format(department=category.department,
                                                                      phone=category.phone)
    if draft.description_prefilled and draft.description and _chars(draft.description) >= MIN_DESCRIPTION:
        drafts.keep_prefilled_description(draft)
        _assign_township(ctx, draft, draft.description)
        lead = "\n".join(x for x in (lead, TEXTS["description_prefilled"].format(text=quoted(draft.description))) if x)
        return _go(ctx, draft, "location", lead)
    return _go(ctx, draft, "description", lead)


@typed_answer
def take_description(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    text = msg.original_text  # the citizen's own words, punctuation and all
    if draft.description_prefilled and draft.description:
        text = f"{draft.description}。{text}"
    if _chars(text) < MIN_DESCRIPTION:
        return TEXTS["description_short"].format(example=_example(ctx, draft))
    if len(text) > MAX_DESCRIPTION:
        return TEXTS["description_long"].format(limit=MAX_DESCRIPTION)
    drafts.describe(draft, text)
    if msg.kind == "voice":
        drafts.add_voice(ctx.session, draft, msg_key=msg.dedupe_key, media_id=msg.media_id, now=ctx.now())
    if draft.township_source in (None, "text"):
        _assign_township(ctx, draft, text)
    return _go(ctx, draft, "location")


@with_draft
def take_location_pin(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    place = msg.location
    assert place is not None
    _pin(ctx, draft, place)
    return _go(ctx, draft, "photos", f"已记下位置：{_location_text(ctx, draft)}")


def _pin(ctx: Context, draft: ReportDraft, place: Location) -> None:
    """A location message as the report's place, and the township it is in (when it is near one)."""
    drafts.pin(draft, place.latitude, place.longitude, place.label)
    named = ctx.content.townships.find(place.label) if place.label else None
    near = ctx.content.townships.closest(place.latitude, place.longitude)
    if named is not None:
        drafts.place_in(draft, named.id, "location")
    elif near.within_reach:
        drafts.place_in(draft, near.township.id, "location")


@typed_answer
def take_address(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    text = msg.text.strip()
    if text in SKIP_WORDS or text.rstrip("。") in SKIP_WORDS:
        drafts.no_place(draft)
        return _go(ctx, draft, "photos")
    if _chars(text) < 2:
        return TEXTS["location_again"]
    drafts.address(draft, text)
    _assign_township(ctx, draft, text)
    return _go(ctx, draft, "photos", f"已记下位置：{_location_text(ctx, draft)}")


@with_draft
def take_photo(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    ctx.conv.update(confirm_cancel=False)
    count, added = _keep_media(ctx, draft, msg)
    if not added and count >= drafts.MAX_PHOTOS:
        return TEXTS["photo_over"]
    return TEXTS["photo_full" if count >= drafts.MAX_PHOTOS else "photo_added"].format(count=count)


@with_draft
def finish_photos(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    drafts.photos_done(draft)
    return _go(ctx, draft, "contact")


@with_draft
def take_anonymous(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    drafts.anonymous(draft)
    return _go(ctx, draft, "confirm")


@typed_answer
def take_contact(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    # "138 0013 8000" and "0355-1234567" are one number; labels like 姓名： are not part of a name.
    text = re.sub(r"(?<=\d)[\s-]+(?=\d)", "", LABEL_WORDS.sub(" ", msg.text))
    phone = PHONE.search(text)
    if phone is None:
        return TEXTS["contact_bad_phone" if re.search(r"\d{3,}", text) else "contact_no_phone"]
    name = re.sub(r"[\s,，;；:：/、.。]+", " ", PHONE.sub(" ", text)).strip()
    if re.search(r"\d", name):
        return TEXTS["contact_bad_phone"]
    if not name or not NAME.fullmatch(name):
        return TEXTS["contact_no_name"]
    vault = _vault(ctx)
    drafts.contact(draft, vault.encrypt("name", name), vault.encrypt("phone", phone.group(1)))
    return _go(ctx, draft, "confirm")


@with_draft
def submit_report(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    """Store the report (committed) before the reply gives its ticket; on failure keep the draft."""
    if _over_cap(ctx):
        return _cap_text(ctx, with_draft=True)
    settings = ctx.config.reports
    try:
        done = tickets.submit(ctx.session, _vault(ctx), draft, openid=msg.openid, categories=_categories(ctx),
                              settings=settings, now=ctx.now())
        ctx.session.commit()
    except tickets.DraftIncomplete as missing:
        ctx.session.rollback()
        draft = _draft(ctx)
        assert draft is not None
        return _go(ctx, draft, missing.step)
    except Exception as exc:
        ctx.session.rollback()
        # Only the type: a DB error's text carries the statement's parameters (the citizen's words).
        log.error("report could not be stored (%s); the draft is kept", type(exc).__name__)
        ctx.conv.update(confirm_cancel=False)
        return TEXTS["submit_failed"]
    ctx.conv.clear()
    r = done.report
    due = f"{r.due_at.month}月{r.due_at.day}日" if r.due_at else "近期"
    return TEXTS["submitted"].format(ticket=r.ticket, code=done.query_code, department=r.department, due=due)


def not_yet(msg: Inbound, ctx: Context) -> str:
    ctx.conv.update(confirm_cancel=False)
    return "好的，先不提交。" + TEXTS["confirm_again"]


def _keep_media(ctx: Context, draft: ReportDraft, msg: Inbound) -> tuple[int, bool]:
    return drafts.add_photo(ctx.session, draft, msg_key=msg.dedupe_key,
                            kind="image" if msg.kind == "image" else "video",
                            media_id=msg.media_id, pic_url=msg.pic_url, now=ctx.now())


# --- the form, step by step ----------------------------------------------------------------------
# Each step once: its question, what it accepts (in order) and which handler takes it, what it says
# to anything else, where 返回 goes, and when 不变 keeps the answer given before (after 返回).

FORM: Steps[ReportDraft] = Steps(ReportFlow, [
    Step("category", ask=_ask_category, reask=_category_again,
         accepts=[(TYPED, take_category)]),
    Step("description", ask=_ask_description, reask=TEXTS["description_again"], back="category",
         accepts=[(TYPED, take_description)],
         kept=lambda draft: draft.description is not None and not draft.description_prefilled),
    Step("location", ask=_ask_location, reask=TEXTS["location_again"], back="description",
         accepts=[(kind("location"), take_location_pin), (TYPED, take_address)],
         kept=lambda draft: draft.location_given),
    Step("photos", ask=_ask_photos, reask=TEXTS["photos_again"], back="location",
         accepts=[(MEDIA, take_photo), (text_in(*DONE_WORDS, *SKIP_WORDS), finish_photos)]),
    Step("contact", ask=_ask_contact, reask=TEXTS["contact_again"], back="photos",
         accepts=[(text_in(*ANONYMOUS_WORDS), take_anonymous), (TYPED, take_contact)],
         kept=lambda draft: draft.anonymous is not None),
    Step("confirm", ask=_summary, reask=TEXTS["confirm_again"], back="contact",
         accepts=[((text_in(*SUBMIT_WORDS), says_yes), submit_report), (says_no, not_yet)]),
])


def _reprompt(msg: Inbound, ctx: Context) -> str:
    """The current step's question again (after 否 to leaving it, or its own entry word)."""
    if ctx.conv.state in (ReportFlow.offer, ReportFlow.pending):
        return TEXTS["offer_again" if ctx.conv.state == ReportFlow.offer else "pending_again"]
    draft = _loaded(ctx)
    return say(_current_step(ctx).ask, ctx, draft) if draft is not None else TEXTS["draft_gone"]


# Another feature's word or a menu click at a step: asked whether to leave (the draft stays in the DB);
# an offer or the unfinished-draft question has nothing typed yet, so it is left at once.
declare(report, ReportFlow, Reentry(what="举报", doing="填写", prompt=_reprompt, ask_at=FORM.states,
                                    leave_at=(ReportFlow.offer, ReportFlow.pending), kept=TEXTS["leave_kept"],
                                    own_words=ENTRY_WORDS, own_keys=("REPORT_START",)))


# --- entry points --------------------------------------------------------------------------------

# "我要吹哨" / "我想举报一个安全隐患": an intent to report, in the citizen's own words.
_WHO = r"(?:我|我们|俺|俺们)?"
_REPORTS = "举报|检举|吹哨|反映|上报"  # not 投诉: 我要投诉快递 is for 12315, and the intent layer tells those apart
_IN_ENGLISH = r"i\s*want\s*to\s*report"
WANTS_TO_REPORT = regex(rf"^\W*(?:{_WHO}(?:要|想|想要|准备)(?:{_REPORTS})|{_IN_ENGLISH})", re.IGNORECASE)
# "查询举报进度" / "我举报的事处理得怎么样了" / "查一下我上次的举报".
ASKS_ABOUT_MINE = regex(r"^(查询|查一下|查查|查看|看看)(一下)?(我的|我上次的|我)?举报|"
                        r"我(的|上次的|上次)?举报.{0,8}(进度|结果|怎么样|处理|回复|到哪|办得)")

# The words before the hazard itself in "我要举报加油站旁边有人抽烟" / "投诉一下：…".
REPORT_LEAD = re.compile(rf"^\W*(?:{_WHO}(?:要|想|想要|准备|来)?(?:{_REPORTS}|投诉|告状)|{_IN_ENGLISH})"
                         r"(?:一下|一个|一件|个|件)?(?:情况|问题|事情|事儿|事|隐患|安全隐患)?[\W的]*", re.IGNORECASE)
DESCRIBES_FROM = 6  # characters after the lead that may say something (not "一下吧", "这个事")


def _describes_after_lead(ctx: Context, text: str) -> bool:
    """The words after the lead describe a hazard: long enough to be a description, or short but
    naming a kind of hazard (加油站旁边有人抽烟), not a vague "我们小区的问题"."""
    rest = REPORT_LEAD.sub("", text, count=1)
    if rest == text or _chars(rest) < DESCRIBES_FROM:
        return False
    return _chars(rest) >= MIN_DESCRIPTION or _categories(ctx).guess(rest) is not None


@report.on(text_in(*ENTRY_WORDS), WANTS_TO_REPORT, menu_key("REPORT_START"), help="举报 — 反映身边的安全隐患（可匿名）")
def start_report(msg: Inbound, ctx: Context) -> str:
    """Start a report, or offer to resume the unfinished one. A message that goes on to say what is
    wrong (我要举报加油站旁边有人抽烟) starts with its words as the description."""
    draft = _draft(ctx)
    if draft is None and _describes_after_lead(ctx, msg.text):
        return _start_described(ctx, msg.original_text)
    if draft is not None and (draft.category or draft.description):
        category = _categories(ctx).get(draft.category or "")
        ctx.conv.enter(ReportFlow.pending, confirm_cancel=False)
        return TEXTS["pending"].format(started=f"{draft.created_at:%m月%d日 %H:%M}",
                                       category=category.name if category else "未选择")
    return _start(ctx)


@report.on(text_in("举报须知", "举报指南", "举报说明", "怎么举报", "如何举报"), menu_key("REPORT_GUIDE"))
def show_guide(msg: Inbound, ctx: Context) -> str:
    """What to report, 12350, rewards and confidentiality."""
    settings = ctx.config.reports
    return TEXTS["guide"].format(claim_days=settings.reward_claim_days, retention=settings.contact_retention_days)


@report.on(text_in("我的举报", "举报进度", "查看举报", "举报记录"), ASKS_ABOUT_MINE, menu_key("REPORT_MINE"),
           help="我的举报 — 查看举报的办理进度")
def list_mine(msg: Inbound, ctx: Context) -> str:
    owner = _owner(ctx)
    mine = tickets.for_owner(ctx.session, owner)
    if not mine:
        return TEXTS["mine_empty"]
    categories = _categories(ctx)
    lines = []
    for r in mine:
        category = categories.get(r.category)
        lines.append(f"· {r.ticket}｜{category.name if category else r.category}｜{lifecycle.label(r.status)}"
                     f"｜{r.submitted_at.month}月{r.submitted_at.day}日")
    return TEXTS["mine"].format(shown=len(mine), total=tickets.count_for_owner(ctx.session, owner),
                                lines="\n".join(lines), example=mine[0].ticket)


@report.on(regex(r"^查询\s*YH", re.IGNORECASE), help="查询 编号 — 查看一条举报的详情")
def query_report(msg: Inbound, ctx: Context) -> str:
    """One report: status history and the latest reply. Someone else's ticket reads as unknown."""
    match = QUERY.match(msg.text.strip())
    if not match:
        # The ticket is right but what follows is no query code (a six-digit number, a typo).
        ticket_first = re.match(rf"^查询\s*{TICKET_FORMAT}(?![A-Z0-9])", msg.text.strip(), re.IGNORECASE)
        return TEXTS["query_bad_code" if ticket_first else "query_usage"]
    return look_up(ctx, match.group(1).upper(), match.group(2))


def look_up(ctx: Context, ticket: str, code: str | None) -> str:
    """One report by its ticket (and query code, on another WeChat account)."""
    found = tickets.lookup(ctx.session, _vault(ctx), ticket, owner=_owner(ctx), code=code)
    if found is None:
        return TEXTS["query_none"]
    return _report_text(ctx, found)


def _report_text(ctx: Context, r: Report) -> str:
    category = _categories(ctx).get(r.category)
    events = tickets.public_history(ctx.session, r)
    history = []
    for e in events:
        if e.kind != "status":
            continue
        line = f"· {e.at:%m-%d %H:%M} {lifecycle.label(e.to_status or '')}"
        if e.note:
            line += f"：{e.note}"
        history.append(line)
    replies = [e for e in events if e.kind == "reply"]
    lines = [f"举报编号：{r.ticket}", f"类别：{category.name if category else r.category}（{r.department}负责）",
             f"提交时间：{r.submitted_at:%Y-%m-%d %H:%M}", f"当前状态：{lifecycle.label(r.status)}", "办理记录：", *history]
    if replies:
        lines.append(f"最新回复（{replies[-1].at:%m-%d}）：{replies[-1].note}")
    if r.reward_eligible and r.reward_claim_by:
        lines.append(f"举报奖励：{r.reward_amount} 元，请于 {lifecycle.cn_date(r.reward_claim_by)} 前领取。")
    return "\n".join(lines)


# In an events list too: a report left for 活动 said "发送 继续 可接着填写", so 继续 is not the list's next page.
@report.on(all_of(text_in("继续", "继续举报", "接着填"), has_draft), state=(ReportFlow, Browse.listing))
@report.on(all_of(text_in("继续", "继续举报", "接着填"), has_draft))
def resume(msg: Inbound, ctx: Context) -> str:
    """Pick the unfinished report up at its step, whatever the store remembers."""
    draft = _draft(ctx)
    if draft is None:
        ctx.conv.clear()
        return TEXTS["no_draft"]
    return _go(ctx, draft, draft.step if draft.step in FORM.names else FORM.names[0], TEXTS["resumed"])


@report.on(text_in("继续举报"))
def resume_without_draft(msg: Inbound, ctx: Context) -> str:
    return TEXTS["no_draft"]


@report.on(text_in("重新开始", "重新举报", "重来"), state=ReportFlow)
@report.on(all_of(text_in("重新开始", "重新举报"), has_draft))
def start_over(msg: Inbound, ctx: Context) -> str:
    """Drop the unfinished report and begin a clean one."""
    draft = _draft(ctx)
    if draft is not None:
        drafts.discard(ctx.session, draft)
    return _start(ctx)


@report.on_cancel("report")
def confirm_cancel(msg: Inbound, ctx: Context) -> str | None:
    """取消 in a report: ask first, then discard the draft and its photos."""
    staying = cancel_while_asking(msg, ctx, _reprompt, "填写")
    if staying is not None:
        return staying
    if ctx.conv.state == ReportFlow.offer:
        return None  # nothing written yet
    if not ctx.conv.data.get("confirm_cancel"):
        ctx.conv.update(confirm_cancel=True)
        return TEXTS["cancel_confirm"]
    draft = _draft(ctx)
    if draft is not None:
        drafts.discard(ctx.session, draft)
    ctx.conv.clear()
    return TEXTS["cancelled"]


def awaiting_cancel(msg: Inbound, ctx: Context) -> bool:
    """Matcher: the last reply asked "确定要放弃这份举报吗？"."""
    return bool(ctx.conv.data.get("confirm_cancel"))


@report.on(all_of(awaiting_cancel, says_yes), state=FORM.states)
def confirm_discard(msg: Inbound, ctx: Context) -> str:
    """是 / 确定 / 嗯 to "确定要放弃吗": as a second 取消."""
    answer = confirm_cancel(msg, ctx)
    return answer if answer is not None else TEXTS["cancelled"]


@report.on(all_of(awaiting_cancel, says_no), state=FORM.states)
@with_draft
def keep_filling(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    """否 / 不 / 不是 to "确定要放弃吗": nothing is discarded, the step is asked again."""
    return _go(ctx, draft, _current_step(ctx).name, TEXTS["resumed"])


# --- offer (a hazard statement) and pending (an unfinished draft) --------------------------------

@report.on(says_yes, text_in("举报", "开始", "开始举报"), menu_key("REPORT_START"), state=ReportFlow.offer)
def accept_offer(msg: Inbound, ctx: Context) -> str:
    offered = dict(ctx.conv.data)
    reply = _start(ctx, description=offered.get("offer_text") or None, category=offered.get("offer_category"))
    place = offered.get("offer_place")
    draft = _draft(ctx) if place else None
    if draft is not None:
        _pin(ctx, draft, Location(**place))
        reply = TEXTS["place_kept"].format(place=_location_text(ctx, draft)) + "\n" + reply
    return reply


@report.on(says_no, text_in("忽略"), state=ReportFlow.offer)
def decline_offer(msg: Inbound, ctx: Context) -> str:
    ctx.conv.clear()
    return TEXTS["offer_declined"]



@report.on(names_a_township, state=ReportFlow.offer)
def leave_offer_for_township(msg: Inbound, ctx: Context) -> GoOn:
    """"城关镇" after a place was offered (the offer says to send it for that township's events)."""
    ctx.conv.clear()
    return GO_ON


@report.on(MESSAGES, state=ReportFlow.offer)
def reask_offer(msg: Inbound, ctx: Context) -> str:
    return TEXTS["offer_again"]


@report.on(says_yes, state=ReportFlow.pending)
def resume_on_yes(msg: Inbound, ctx: Context) -> str:
    """"您有一份未完成的举报" → 好的 / 嗯: carry on with it (a new one is only ever started by 重新开始)."""
    return resume(msg, ctx)


@report.on(MESSAGES, state=ReportFlow.pending)
def reask_pending(msg: Inbound, ctx: Context) -> str:
    return TEXTS["pending_again"]


# --- going back and keeping an answer ------------------------------------------------------------

@report.on(text_in("返回", "上一步", "后退"), state=FORM.states)
@with_draft
def go_back(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    step = _current_step(ctx)
    if step.back is None:
        return _go(ctx, draft, step.name, TEXTS["first_step"])
    return _go(ctx, draft, step.back, TEXTS["back"])


@report.on(text_in("改类别", "修改类别", "换类别", "重选类别", "类别不对"), state=FORM.states)
@with_draft
def change_category(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    """A category chosen for the citizen (or by them) is changed at any step; the rest is kept."""
    return _go(ctx, draft, "category")


@report.on(text_in(*KEEP_WORDS), state=FORM.states_where(lambda step: step.kept is not None))
@with_draft
def keep_answer(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    """After 返回: leave this step's answer as it was."""
    step = _current_step(ctx)
    if step.kept is None or not step.kept(draft):
        return say(step.ask, ctx, draft)
    return _go(ctx, draft, FORM.after(step.name).name)


FORM.register(report)  # the steps' answers, after the words every step shares (above)


# --- anything else inside the flow -----------------------------------------------------------------

@report.on(MEDIA, state=FORM.states_where(lambda step: step.name != "photos"))  # the photo step takes its own
@with_draft
def keep_media_elsewhere(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    """A photo before (or after) the photo step is kept all the same, and the step asked again."""
    count, added = _keep_media(ctx, draft, msg)
    kept = TEXTS["photo_kept"].format(count=count) if added or count < drafts.MAX_PHOTOS else TEXTS["photo_not_kept"]
    return f"{kept}\n{say(_current_step(ctx).ask, ctx, draft)}"


@report.on(MESSAGES, state=FORM.states)
@with_draft
def reask(msg: Inbound, ctx: Context, draft: ReportDraft) -> str:
    """Anything else at a step (a location where text is wanted, a link): ask again."""
    return say(_current_step(ctx).reask, ctx, draft)


# --- a hazard statement or a place out of the blue (last: explicit words above win) ----------------

@report.on(kind("location"))
def offer_report_here(msg: Inbound, ctx: Context) -> str:
    """A location sent outside any flow (and not answering "附近有…吗"): offer to report a hazard there."""
    place = msg.location
    assert place is not None
    ctx.conv.enter(ReportFlow.offer, offer_text="", offer_place=dataclasses.asdict(place))
    label = quoted(place.label, ADDRESS_ECHO) if place.label else f"定位 {place.latitude:.5f}, {place.longitude:.5f}"
    lines = [TEXTS["offer_place"].format(place=label)]
    near = ctx.content.townships.closest(place.latitude, place.longitude)
    if near.within_reach:
        lines.append(TEXTS["offer_place_events"].format(township=near.township.name))
    if _draft(ctx) is not None:
        lines.append(TEXTS["offer_replaces"])
    return "\n".join(lines)


@report.on(looks_like_hazard, guesses=True)  # a statement read as a hazard is a guess
def offer_report(msg: Inbound, ctx: Context) -> str:
    """"消防通道被堵" → offer to start a report with it; questions are left to safety knowledge."""
    return offer(ctx, msg.original_text)


def report_text(ctx: Context, text: str) -> str:
    """The citizen chose to report what they just said: start with it (category guessed), or, when
    an unfinished report would be replaced, ask first."""
    if _draft(ctx) is not None:
        return offer(ctx, text)
    return _start_described(ctx, text)


def _start_described(ctx: Context, text: str) -> str:
    """A new report with `text` as its description and the category it sounds like."""
    guess = _categories(ctx).guess(text)
    return _start(ctx, description=text, category=guess.id if guess else None)


def offer(ctx: Context, text: str) -> str:
    """Offer to report `text` (kept whole as the description), naming the category it sounds like."""
    guess = _categories(ctx).guess(text)
    ctx.conv.enter(ReportFlow.offer, offer_text=text, offer_category=guess.id if guess else None)
    what = (guess.name.removesuffix("安全") + "安全隐患") if guess else "安全隐患"
    preset = TEXTS["offer_preset"].format(name=guess.name) if guess else ""
    reply = TEXTS["offer"].format(what=what, text=quoted(text), preset=preset)
    if _draft(ctx) is not None:
        reply += "\n" + TEXTS["offer_replaces"]
    return reply
