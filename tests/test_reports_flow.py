"""The report conversation, through the signed webhook in plaintext and AES mode."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import create_app
from bot.models import Delivery, ReportEvent
from bot.models.reports import ReportStatus
from bot.services.reports import lifecycle, triage
from bot.services.reports.identity import vault_for
from tests.reports_helpers import (
    DESCRIPTION,
    STORED,
    drafts,
    failing_report_inserts,
    file_report,
    forget_dedupe,
    photos,
    reports,
)
from tests.settings import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat import Citizen, WeChatServer


def test_a_full_real_name_report(citizen: Citizen, bot, clock) -> None:
    citizen.dialog([
        ("举报", ["请选择隐患类别", "1. 消防安全", "13. 其他", "返回"]),
        ("1", ["县消防救援大队负责", "96119", "仍可在这里提交", "请描述隐患情况", "例如"]),
        (DESCRIPTION, "请发送隐患位置"),
    ])
    assert "城关镇" in citizen.location(36.195, 113.116, "人民路12号").text
    assert "已收到第1张" in citizen.image("M1", "http://mmbiz.example/1.jpg").text
    assert "已收到第2张" in citizen.video("V1").text
    reply = citizen.says("完成")
    for part in ("奖励", "仅经授权的工作人员可见", "加密保存", "办结180天后删除", "匿名"):
        assert part in reply
    citizen.dialog([
        ("张三 13800138000", ["请核对您的举报", "消防安全", STORED, "人民路12号（城关镇）", "2 张",
                              "张*（138****8000）", "回复 确认 提交"]),
        ("确认", ["举报已提交", "举报编号：YH20210601-", "查询码：", "6月2日前告知是否受理"]),
    ])
    with bot.db.session() as s:
        [r] = reports(s)
        assert r.ticket.startswith("YH20210601-") and len(r.ticket) == 17
        assert (r.category, r.township, r.township_source, r.status) == ("fire", "chengguan", "location",
                                                                           ReportStatus.SUBMITTED)
        assert r.description == STORED and not r.anonymous
        assert r.due_at == clock.now().replace(day=2)
        assert [(p.kind, p.media_id, p.report_id, p.draft_id) for p in photos(s)] == [
            ("image", "M1", r.id, None), ("video", "V1", r.id, None)]
        assert drafts(s) == []
        ident = triage.reveal(vault_for(bot.config), r)
        assert (ident.openid, ident.name, ident.phone) == (citizen.openid, "张三", "13800138000")
    assert "当前没有进行中的操作" in citizen.says("取消")


def test_anonymous_report_with_typed_address_and_no_photos(citizen: Citizen, bot) -> None:
    citizen.dialog([("隐患举报", "请选择"), ("危险化学品", "请描述"), ("南河镇化工路仓库门口堆了几十桶稀料没人管", "请发送隐患位置"),
                    ("南河镇化工路8号", ["已记下位置：南河镇化工路8号（南河镇）", "请上传"]), ("跳过", "请留下姓名"),
                    ("匿名", ["请核对", "联系人：匿名", "照片：无"]), ("提交", "举报已提交")])
    with bot.db.session() as s:
        [r] = reports(s)
        assert r.anonymous and r.name_enc is None and r.phone_enc is None and r.openid_enc is not None
        assert (r.address, r.township, r.township_source, r.latitude) == ("南河镇化工路8号", "nanhe", "text", None)
        assert r.department == "县应急管理局"


@pytest.mark.parametrize("word", ["我要举报", "随手拍", "吹哨", "安全吹哨人"])
def test_synonyms_start_a_report(citizen: Citizen, word: str) -> None:
    assert "请选择隐患类别" in citizen.says(word)


def test_menu_buttons(citizen: Citizen) -> None:
    assert "请选择隐患类别" in citizen.click("REPORT_START").text
    citizen.says("取消")
    citizen.says("取消")
    guide = citizen.click("REPORT_GUIDE").text
    for part in ("12350", "举报奖励", "60天内领取", "加密保存"):
        assert part in guide
    assert "您还没有提交过举报" in citizen.click("REPORT_MINE").text


def test_voice_description_and_out_of_remit_category(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择"), ("11", ["县公安局交警大队负责", "122"])])
    assert "没能识别这段语音" in citizen.voice("").text
    assert "请发送隐患位置" in citizen.voice("每天早上有辆面包车超员接送工人，车上挤了十几个人。").text
    citizen.dialog([("跳过", "请上传"), ("跳过", "请留下"), ("匿名", "请核对"), ("确认", "县公安局交警大队")])
    with bot.db.session() as s:
        [r] = reports(s)
        assert r.category == "traffic" and "面包车" in r.description


def test_wrong_input_at_every_step_is_asked_again_and_nothing_is_lost(citizen: Citizen, bot) -> None:
    citizen.dialog([
        ("举报", "请选择"),
        ("abc", "请回复 1–13 之间的序号"),
        ("99", "请回复 1–13 之间的序号"),
        (lambda c: c.image("EARLY", "http://mmbiz.example/early.jpg"), ["照片已保存（共1张）", "请选择隐患类别"]),
        (lambda c: c.location(36.1, 113.1), "请回复 1–13 之间的序号"),
        ("2", "请描述"),
        ("", "描述太短了"),
        ("有危险", "描述太短了"),
        (lambda c: c.image("M2"), ["照片已保存（共2张）", "请描述隐患情况"]),
        (lambda c: c.link("http://example.com"), "请用文字或语音描述"),
        ("城东路仓库里堆着几十桶油漆和稀料，门口没有警示标志。" * 40, "请发送隐患位置"),
        ("x", "请发送定位，或输入地址"),
        (lambda c: c.image("M3"), ["照片已保存（共3张）", "请发送隐患位置"]),
        ("城东路", "请上传"),
        ("你好", "请发送照片或视频"),
        (lambda c: c.location(36.1, 113.1), "请发送照片或视频"),
        ("完成", "请留下姓名"),
        ("张三 12345", "手机号好像不对"),
        ("张三 1380013800", "手机号好像不对"),
        ("13800138000", "请同时留下姓名"),
        ("张三", "请同时留下手机号"),
        (lambda c: c.image("M4"), ["照片已保存（共4张）", "请留下姓名"]),
        ("姓名：李四 电话：138 0013 8000", ["请核对", "李*（138****8000）", "4 张", "已完整保存"]),
        ("好不好", "请回复 确认 提交"),  # neither a yes nor a no (a plain 好 is a yes: test_yes_no_in_flows)
        (lambda c: c.voice(""), "请回复 确认 提交"),
        ("确认", "举报已提交"),
    ])
    with bot.db.session() as s:
        [r] = reports(s)
        assert r.description == "城东路仓库里堆着几十桶油漆和稀料，门口没有警示标志。" * 40  # long text kept whole, as typed
        assert [p.media_id for p in photos(s)] == ["EARLY", "M2", "M3", "M4"]
        assert triage.reveal(vault_for(bot.config), r).phone == "13800138000"


def test_nine_photos_at_most(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择"), ("8", "请描述"), (DESCRIPTION, "位置"), ("跳过", "请上传")])
    for i in range(1, 9):
        assert f"已收到第{i}张" in citizen.image(f"P{i}").text
    assert "达到上限" in citizen.image("P9").text
    assert "这张没有保存" in citizen.image("P10").text
    citizen.dialog([("完成", "请留下"), ("匿名", "9 张")])
    with bot.db.session() as s:
        assert len(photos(s)) == 9


def test_back_goes_one_step_and_keeps_answers(citizen: Citizen, bot) -> None:
    citizen.dialog([
        ("举报", "请选择"),
        ("返回", ["已经是第一步了", "请选择隐患类别"]),
        ("1", "请描述"),
        ("返回", ["回到上一步", "请选择隐患类别"]),
        ("3", ["县住房和城乡建设局", "请描述"]),
        (DESCRIPTION, "请发送隐患位置"),
        ("返回", ["回到上一步", "当前描述：", "回复 不变 保留"]),
        ("不变", "请发送隐患位置"),
        ("跳过", "请上传"),
        ("返回", ["请发送隐患位置", "当前位置：未提供"]),
        ("城关镇南街", "请上传"),
        ("完成", "请留下"),
        ("匿名", "请核对"),
        ("返回", ["请留下姓名", "当前：匿名"]),
        ("王五 13900139000", ["请核对", "燃气", "城关镇南街", "王*"]),
        ("确认", "举报已提交"),
    ])
    with bot.db.session() as s:
        [r] = reports(s)
        assert (r.category, r.description, r.address, r.anonymous) == ("gas", STORED, "城关镇南街", False)


def test_cancel_asks_first_and_can_be_taken_back(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择"), ("1", "请描述"), (DESCRIPTION, "位置"), ("跳过", "请上传")])
    citizen.image("KEEP")
    citizen.dialog([
        ("取消", ["确定要放弃这份举报吗", "再发送一次 取消"]),
        ("继续", ["接着填写", "请上传现场照片", "已收到1张"]),
        ("取消", "确定要放弃"),
        ("完成", "请留下"),       # any answer withdraws the question
        ("取消", "确定要放弃"),
        ("取消", "已放弃本次举报"),
    ])
    with bot.db.session() as s:
        assert drafts(s) == [] and photos(s) == [] and reports(s) == []
    assert "您没有未完成的举报" in citizen.says("继续举报")


def test_resume_after_the_store_lost_the_conversation(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择"), ("5", "请描述"), (DESCRIPTION, "请发送隐患位置")])
    bot.store.delete(f"conv:{citizen.openid}")
    assert "请上传" not in citizen.says("北坡镇化工厂")  # no step without the conversation ...
    reply = citizen.says("继续")  # ... but the draft is in the DB
    assert "接着填写" in reply and "请发送隐患位置" in reply
    citizen.dialog([("北坡镇化工厂", ["北坡镇", "请上传"]), ("跳过", "请留下"), ("匿名", ["有限空间", STORED]),
                    ("确认", "举报已提交")])


def test_resume_after_idle_timeout_and_start_over(citizen: Citizen, bot, clock) -> None:
    citizen.dialog([("举报", "请选择"), ("6", "请描述")])
    clock.advance(hours=2)
    citizen.says("你好")  # the flow timed out
    citizen.dialog([
        ("举报", ["您有一份未完成的举报", "矿山/尾矿库", "回复 继续", "重新开始"]),
        ("随便", "请回复 继续"),
        ("继续", "请描述隐患情况"),
        ("重新开始", "请选择隐患类别"),
        ("2", "请描述"),
    ])
    with bot.db.session() as s:
        [d] = drafts(s)
        assert d.category == "hazchem" and d.step == "description"


def test_draft_is_kept_only_for_draft_keep_hours(citizen: Citizen, bot, clock) -> None:
    citizen.dialog([("举报", "请选择"), ("6", "请描述")])
    clock.advance(hours=25)
    assert "您没有未完成的举报" in citizen.says("继续举报")
    assert "请选择隐患类别" in citizen.says("举报")  # a fresh one, not the stale draft
    with bot.db.session() as s:
        [d] = drafts(s)
        assert d.category is None


def test_resent_messages_store_nothing_twice(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择"), ("1", "请描述"), (DESCRIPTION, "位置"), ("跳过", "请上传")])
    first = citizen.image("DUP").text
    assert citizen.resend_last().text == first
    forget_dedupe(bot.store, citizen)  # even when the store forgot the message
    citizen.resend_last()
    citizen.dialog([("完成", "请留下"), ("匿名", "1 张")])
    submitted = citizen.says("确认")
    assert citizen.resend_last().text == submitted
    forget_dedupe(bot.store, citizen)
    assert "举报已提交" not in citizen.resend_last().text
    with bot.db.session() as s:
        assert len(reports(s)) == 1 and len(photos(s)) == 1


def test_each_step_answer_resent_is_answered_the_same(citizen: Citizen) -> None:
    for sent in ("举报", "1", DESCRIPTION, "跳过", "完成", "匿名"):
        reply = citizen.says(sent)
        assert citizen.resend_last().text == reply


def test_database_failure_at_confirm_keeps_the_draft(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择"), ("1", "请描述"), (DESCRIPTION, "位置"), ("跳过", "请上传")])
    citizen.image("SAFE")
    citizen.dialog([("完成", "请留下"), ("赵六 13700137000", "请核对")])
    with failing_report_inserts():
        assert "没能保存您的举报" in citizen.says("确认")
        assert "再发送 确认" in citizen.says("确认")
    with bot.db.session() as s:
        assert reports(s) == [] and len(drafts(s)) == 1 and photos(s)[0].draft_id == drafts(s)[0].id
    assert "举报已提交" in citizen.says("确认")
    with bot.db.session() as s:
        [r] = reports(s)
        assert photos(s)[0].report_id == r.id and drafts(s) == []


def test_my_reports_and_query(citizen: Citizen, citizens, bot, clock) -> None:
    ticket, code = file_report(citizen)
    clock.advance(hours=1)
    second, _ = file_report(citizen, category="2", location=None, photos=0, contact="匿名")
    mine = citizen.says("我的举报")
    assert f"{ticket}｜消防安全｜已提交｜6月1日" in mine and f"{second}｜危险化学品" in mine and "共2条" in mine
    with bot.db.session() as s:
        triage.change_status(s, vault_for(bot.config), ticket, ReportStatus.ACCEPTED, actor="王科长", role="reviewer",
                            now=clock.now(), settings=bot.config.reports)
        triage.reply_to_reporter(s, vault_for(bot.config), ticket, "已安排城关镇安监站现场核查。", actor="王科长",
                                role="reviewer", now=clock.now())
        triage.add_note(s, ticket, "内部：物业经理电话已查到", actor="王科长", role="reviewer", now=clock.now())
        s.commit()
    shown = citizen.says(f"查询 {ticket}")
    for part in (ticket, "当前状态：已受理", "已提交", "已受理", "最新回复", "城关镇安监站"):
        assert part in shown
    assert "内部" not in shown and "王科长" not in shown
    assert citizen.says(f"查询{ticket.lower()}") == shown

    other = citizens("o_someone_else")
    unknown = other.says("查询 YH20210601-ZZZZZZ")
    assert other.says(f"查询 {ticket}") == unknown  # someone else's ticket looks like no ticket
    assert other.says(f"查询 {ticket} ABCDEFGH") == unknown
    assert "当前状态：已受理" in other.says(f"查询 {ticket} {code.lower()}")
    # The code as the receipt showed it, with the words and punctuation a citizen copies along.
    for typed in (f"查询 {ticket} 查询码 {code}", f"查询 {ticket}，查询码：{code}。", f"查询{ticket} 码是{code}"):
        assert "当前状态：已受理" in other.says(typed), typed
    empty = other.says("我的举报")
    assert "您还没有提交过举报" in empty and "查询 举报编号 查询码" in empty  # how to find one sent from another account
    assert "请按格式发送" in citizen.says("查询 YH2021")


def test_daily_cap(database_url, clock, store, mode) -> None:
    app = create_app(make_config(database_url, reports={"daily_cap": 2}), clock=clock, store=store)
    try:
        server = WeChatServer(app.test_client(), TOKEN, APP_ID, AES_KEY, mode=mode, clock=clock)
        person = Citizen(server, "o_cap")
        file_report(person, photos=0, contact="匿名")
        file_report(person, photos=0, contact="匿名")
        reply = person.says("举报")
        assert "您今天已提交2条举报，达到每日上限" in reply and "12350" in reply
        assert "当前没有进行中的操作" in person.says("取消")
        file_report(Citizen(server, "o_cap_2"), photos=0, contact="匿名")  # others are not held back
        clock.advance(days=1)
        file_report(person, photos=0, contact="匿名")  # a new day
    finally:
        app.extensions["bot"].close()


def test_hazard_statement_is_offered_as_a_report(citizen: Citizen, bot) -> None:
    citizen.dialog([
        ("消防通道被堵", ["您说的像是一条", "消防通道被堵", "回复 是"]),
        ("什么意思", "请回复 是 开始举报"),  # 嗯 is a yes (test_yes_no_in_flows)
        ("是", "请选择隐患类别"),
        ("1", ["您刚才说：“消防通道被堵”", "请再补充几句"]),
        ("在城关镇万达广场北门", ["请发送隐患位置"]),
    ])
    with bot.db.session() as s:
        [d] = drafts(s)
        assert d.description == "消防通道被堵。在城关镇万达广场北门" and d.township == "chengguan"
    citizen.says("取消")
    citizen.says("取消")
    # Long enough to be the description, and naming its category (电动车充电): chosen, and changeable.
    citizen.dialog([("楼道里有人给电动车充电，天天如此", "您说的像是一条消防安全隐患"),
                    ("是", ["类别：消防安全（不对请回复 改类别）", "已把您刚才说的“楼道里有人给电动车充电，天天如此”作为描述",
                           "请发送隐患位置"]),
                    ("改类别", "请选择"),
                    ("1", ["当前描述：楼道里有人给电动车充电，天天如此", "回复 不变 保留"])])


@pytest.mark.parametrize("question", ["电动车能在楼道充电吗", "消防通道被堵了怎么办", "燃气泄漏应该怎么处理？"])
def test_questions_are_not_taken_for_reports(citizen: Citizen, question: str) -> None:
    assert "您说的像是一条" not in citizen.says(question)


def test_declining_the_offer(citizen: Citizen, bot) -> None:
    citizen.dialog([("工地脚手架晃得厉害", "您说的像是一条"), ("否", "需要时发送 举报")])
    with bot.db.session() as s:
        assert drafts(s) == []


def test_status_changes_reach_the_reporter_through_the_outbox(citizen: Citizen, bot, clock) -> None:
    ticket, _ = file_report(citizen)
    vault, settings = vault_for(bot.config), bot.config.reports
    with bot.db.session() as s:
        for status, note in ((ReportStatus.ACCEPTED, ""), (ReportStatus.VERIFYING, ""),
                             (ReportStatus.RECTIFIED, "已责令物业清理"), (ReportStatus.CLOSED, "")):
            triage.change_status(s, vault, ticket, status, actor="王科长", role="reviewer", now=clock.now(),
                                settings=settings, note=note)
        triage.mark_reward(s, vault, ticket, eligible=True, amount=300, actor="李局", role="admin", now=clock.now(),
                          settings=settings)
        s.commit()
        rows = list(s.scalars(select(Delivery).order_by(Delivery.id)))
        events = list(s.scalars(select(ReportEvent).where(ReportEvent.kind.in_(["status", "reward"]))
                                .order_by(ReportEvent.id)))
    assert [d.openid for d in rows] == [citizen.openid] * 5
    assert {d.purpose for d in rows} == {"report_status"}
    assert [d.key for d in rows] == [lifecycle.notice_key(vault, e.id) for e in events[1:]]  # no ticket in them
    texts = [d.payload["content"] for d in rows]
    assert "已受理" in texts[0] and "2021年7月31日 前完成核查" in texts[0]
    assert "已整改" in texts[2] and "已责令物业清理" in texts[2]
    assert "300 元" in texts[4] and "2021年7月31日 前" in texts[4]
    assert [(e.actor, e.from_status, e.to_status) for e in events[:2]] == [
        ("citizen", None, "submitted"), ("王科长", "submitted", "accepted")]
    assert "举报奖励：300 元" in citizen.says(f"查询 {ticket}")


def test_a_menu_click_inside_the_flow_leaves_it_to_that_button(citizen: Citizen) -> None:
    citizen.dialog([("举报", "请选择"), ("1", "请描述")])
    assert "离开当前的举报吗" in citizen.click("REPORT_MINE").text  # asked first (test_leaving_a_step)
    assert "您还没有提交过举报" in citizen.says("是")
    assert "请描述隐患情况" in citizen.says("继续")
    assert "操作在进行中" in citizen.click("HELP").text  # HELP is an escape and keeps the flow
    assert "请发送隐患位置" in citizen.says(DESCRIPTION)


def test_a_ticket_with_a_malformed_query_code_is_told_what_the_code_looks_like(citizen: Citizen) -> None:
    reply = citizen.says("查询 YH20210528-3KQ8MZ 482913")
    assert "查询码是8位字母或数字" in reply
    assert "请按格式发送" in citizen.says("查询 YH2021")  # no ticket at all: the format itself
