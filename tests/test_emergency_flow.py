"""Danger now: the number to call is the first line, before anything else and inside every flow.

Dialogs through the signed webhook, in plaintext and AES mode (the `citizen` fixture runs both).
The messages are written as people in trouble type them; none is a trigger word copied alone.
"""

from __future__ import annotations

import pytest

from bot.services.emergencies import load_emergencies
from tests.quiz_helpers import active_round, current_question
from tests.reports_helpers import drafts
from tests.test_quiz_draws import make_winner, players, seeded  # noqa: F401 - the draw's fixtures
from tests.wechat import Citizen

# (message, the number the first line must give, words the first line must also say)
DANGER_NOW = [
    ("救命", "119", "120"),
    ("救命啊！！！", "110", "119"),
    ("着火了怎么办", "119", "离开"),
    ("快来人啊 厨房烧起来了", "119", "湿毛巾"),
    ("家裡著火了怎麼辦", "119", "离开"),                      # traditional characters
    ("wo jia zhao huo le", "119", "离开"),                    # pinyin
    ("jiu ming", "119", "120"),
    ("🔥🔥🔥", "119", "离开"),                                # emoji
    ("家里🔥了快", "119", "离开"),
    ("我爸晕到了叫不醒", "120", "胸外按压"),                  # typo 晕到
    ("有人触电", "120", "断电"),
    ("燃气管道被挖断了一直在漏气", "119", "别点火"),
    ("家里一股很大的煤气味", "119", "别开关电灯电器"),
    ("被困在电梯里了出不去", "96333", "不要扒门"),
    ("楼顶有人要跳楼", "110", "120"),  # no 12356 in June 2021: set up in Dec 2024
    ("有人拿刀在小区门口砍人", "110", "远离"),
    ("小孩掉进河里了", "110", "救生圈"),
    ("工人掉进化粪池了", "119", "不要下去救"),
    ("老人煤气中毒了", "120", "通风"),
    ("手被机器绞了血流不止", "120", "按住伤口"),
    ("我跟你说我们楼下那个饭店好像着火了冒了好多烟我在三楼怎么办啊", "119", "离开"),  # a voice run-on
    ("嗯……那个……有人溺水了", "110", "120"),
    ("出车祸了有人受伤", "122", "120"),
    ("SOS", "119", "110"),
    ("我被蛇咬了", "120", "放低"),                            # a bite: keep still, not CPR
    ("我爸在地里让蛇咬了一口腿肿了", "120", "别走动"),
    ("我爸在地里打药晕过去了", "120", "送医院"),             # pesticide, fainted: poisoning
    ("他刚才还好好的 突然人没反应了", "120", "胸外按压"),
    ("被马蜂蜇了好多下喘不上气", "120", "离开蜂群"),
    ("孩子被蜂子蛰了脸都肿了", "120", "护住头颈"),
    ("110 119 120 随便哪个快来", "110", "119"),              # the numbers alone, with a plea
    ("119!!!", "119", "120"),
    ("快叫救护车 我妈倒了", "120", "胸外按压"),
    # dangers described without their word (written for this test, not from any blind set)
    ("有个小孩在水库边上往下沉", "110", "救生圈"),
    ("有个男的站在桥栏杆外面", "110", "120"),
    ("我闻到楼道里好大一股臭鸡蛋味", "119", "别点火"),
    ("仓库冒黑烟了里面全是纸箱", "119", "离开"),
    ("家门口的电线杆倒了电线掉在地上还冒火花", "95598", "别靠近"),
    ("山上的石头一直往下滚 房子要被冲了", "119", "离开"),
    ("孩纸发烧四十度还在抽", "120", "胸外按压"),             # typo 孩纸, convulsing
    ("门口有个男的拿棍子要打我", "110", "远离"),
    ("公交车上有人拿着汽油", "110", "远离"),
    ("后山在往下滑 房子裂开了", "119", "离开"),
    ("阳台上有个小孩在翻栏杆", "119", "抱住"),                # a child at a height: not the suicide lines
    ("插座冒火花了还有烟", "119", "断电"),                    # an electrical fire: power off first, not 95598
    ("家里有个电瓶在冒烟 怎么办", "119", "离开"),
    ("我家煤气好像漏了现在要不要开窗", "119", "别点火"),
    ("孩子把纽扣电池吞下去了要不要紧", "120", "送医院"),
    ("被困火场了应该怎么逃 我在五楼", "119", ""),
    ("天然气报警器响了但是没闻到味", "119", "别点火"),          # the alarm is the smell: leave first
    ("插线板烧焦了一股味", "119", "断电"),               # calm words: the knowledge answer, 119 first
]

# Calm questions and harmless words: no alarm (a calm question may still name the number first).
NOT_DANGER_NOW = ["家里着火应该怎么逃生", "如果家里着火了怎么办", "怎么预防触电", "心肺复苏能救命吗", "好困啊",
                  "吃火锅上火了怎么办", "我要答题", "help", "楼道里堆放杂物，万一着火跑不出去", "这个视频火了吗",
                  # asking whether something is dangerous, or which number: a question about it (training examples)
                  "暖气片漏水会有危险吗", "家里存汽油有没有危险", "电梯困人打什么电话",
                  # an emergency number inside an address, an amount, a ticket or a phone number
                  "我爸还抽烟", "还能抽奖吗", "车胎气漏了去哪补", "我住119号楼快递放门口", "快递费120块太贵了", "查询 YH20211101-7KQ2MX 110234", "我电话13811012345"]


@pytest.mark.parametrize(("text", "number", "also"), DANGER_NOW)
def test_danger_now_gets_the_number_and_what_to_do_in_the_first_line(citizen: Citizen, text: str, number: str,
                                                                     also: str) -> None:
    first = citizen.says(text).split("\n", 1)[0]
    assert number in first and also in first, first


def test_calm_questions_and_harmless_words_raise_no_alarm(bot) -> None:
    emergencies = bot.content.emergencies
    for text in NOT_DANGER_NOW:
        alarm = emergencies.read(text)
        assert alarm is None or alarm.mode == "calm", (text, alarm)


def test_a_calm_question_about_a_danger_is_answered_with_the_number_first(citizen: Citizen) -> None:
    reply = citizen.says("家里着火应该怎么逃生")
    first, rest = reply.split("\n", 1)
    assert "119" in first and "如果正在发生" in first
    assert "逃生" in rest  # and the knowledge answer follows


def test_an_emergency_offers_knowledge_by_number_and_the_report(citizen: Citizen) -> None:
    reply = citizen.says("家里着火了")
    # The number, then the entry on escaping in full (nobody in a hurry replies with a number), then more.
    assert reply.index("119") < reply.index("【家里或楼里着火了怎么逃生？】") < reply.index("1. ")
    assert "发送 举报" in reply
    assert "关紧房门" in citizen.says("1")  # the first further entry: trapped in a room


def test_two_dangers_give_both_numbers(citizen: Citizen) -> None:
    lines = citizen.says("着火了，有人晕倒了").split("\n")
    assert "119" in lines[0] and any("120" in line for line in lines[1:3])


def test_an_emergency_in_the_middle_of_a_report_keeps_the_draft(citizen: Citizen, bot) -> None:
    citizen.dialog([
        ("举报", "请选择隐患类别"),
        ("1", "请描述隐患情况"),
        ("小区3号楼楼道里堆满了纸箱和旧家具，消防通道完全堵死了", "请发送隐患位置"),
    ])
    reply = citizen.says("救命 楼下着火了")
    assert "119" in reply.split("\n", 1)[0] and "保留" in reply
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description.startswith("小区3号楼") and draft.address is None  # not taken as the address
    assert "已记下位置" in citizen.says("城关镇人民路12号")  # the report goes on where it was


def test_a_description_that_signals_danger_now_is_saved_and_warned_first(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("3", "请描述隐患情况")])
    text = "小区门口施工把燃气管道挖断了，现在一直在漏气，味道很大"
    reply = citizen.says(text)
    first = reply.split("\n", 1)[0]
    assert "119" in first and "别点火" in first
    assert reply.index("119") < reply.index("请发送隐患位置")  # the warning before the next step
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == text


def test_an_emergency_during_a_quiz_round_keeps_the_round(citizen: Citizen, bot, clock) -> None:
    assert "第1/5题" in citizen.says("答题")
    question = current_question(bot, citizen.openid)
    reply = citizen.says("有人晕倒了怎么办")
    assert "120" in reply.split("\n", 1)[0]
    round_now = active_round(bot, citizen.openid)
    assert round_now is not None and round_now.position == 0  # not taken as an answer
    clock.advance(seconds=12)
    assert current_question(bot, citizen.openid).id == question.id
    answer = citizen.says(question.answer)
    assert "回答正确" in answer and "第2/5题" in answer


@pytest.mark.usefixtures("players")
def test_an_emergency_at_a_prize_claim_step_is_not_taken_as_the_name(citizen: Citizen, bot, clock) -> None:
    make_winner(bot, clock, citizen.openid)
    assert "姓名" in citizen.click("QUIZ_CLAIM").text
    assert "120" in citizen.says("救命 我妈突然倒地不起").split("\n", 1)[0]
    assert "11位手机号" in citizen.says("王小明")  # still at the name step


def test_an_emergency_while_browsing_events_answers_first(citizen: Citizen) -> None:
    assert "活动" in citizen.says("活动")
    assert "119" in citizen.says("起火了").split("\n", 1)[0]


def test_an_emergency_answers_even_when_the_store_is_down(bot, wechat) -> None:
    from tests.wechat import Citizen as Person

    def broken(*_args, **_kwargs):
        from bot.infra.store import StoreError

        raise StoreError("down")

    bot.gate.enter = broken
    reply = Person(wechat, openid="o_store_down").says("着火了")
    assert "119" in reply.split("\n", 1)[0]


def test_the_content_file_is_checked(tmp_path, bot) -> None:
    from bot.content import ContentError

    source = bot.content.directory
    for name in ("emergencies.toml",):
        text = (source / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace('first = "立即拨打119！马上离开着火的地方',
                                                  'first = "马上离开着火的地方'), encoding="utf-8")
    (tmp_path / "generated").mkdir()
    with pytest.raises(ContentError, match="119"):
        load_emergencies(tmp_path)


def test_the_pinyin_table_is_fresh(bot) -> None:
    """Fails when content/emergencies.toml changed without `python -m bot understanding build`."""
    import json

    from bot.services.emergencies import PINYIN_FILE, build_pinyin

    directory = bot.content.directory
    assert json.loads((directory / PINYIN_FILE).read_text(encoding="utf-8")) == build_pinyin(directory)


def test_a_fall_told_as_the_story_of_the_day_is_danger_now(citizen: Citizen) -> None:
    # "干活的时候" would read as a calm question; told as a statement, it is what is happening.
    reply = citizen.says("今天工地上干活的时候有个老乡从二楼那个架子上面掉下来了一直没醒过来头上都是血")
    assert reply.startswith("立即拨打120")


def test_when_it_happens_asked_as_a_question_stays_calm(citizen: Citizen) -> None:
    reply = citizen.says("遇到有人晕倒的时候该怎么办")
    assert reply.startswith("如果正在发生，请立即拨打120")


@pytest.mark.parametrize("text, number", [("快帮帮我", "119"), ("求救", "119"), ("我老婆肚子疼得打滚满地", "120")])
def test_a_plea_or_a_pain_past_bearing_is_told_whom_to_call_first(citizen: Citizen, text: str, number: str) -> None:
    assert number in citizen.says(text).split("\n", 1)[0]


@pytest.mark.parametrize("text, number", [
    ("someone fainted 在我家门口", "120"), ("my mom can't breathe 怎么办", "120"), ("kid swallowed battery", "120"),
    ("我爸心脏不舒服 pain in chest 满头汗", "120"),
])
def test_english_words_for_danger_are_told_whom_to_call_first(citizen: Citizen, text: str, number: str) -> None:
    assert number in citizen.says(text).split("\n", 1)[0]


def test_a_fever_that_burns_to_forty_degrees_is_not_a_fire(citizen: Citizen) -> None:
    first = citizen.says("宝宝发烧到40度还在抽").split("\n", 1)[0]
    assert "120" in first and "119" not in first
