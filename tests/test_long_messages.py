"""A long message is never said back whole: its start and "（共N字，已完整保存）", so the question that
follows it is never cut off by the reply limit (issue 21 item 6). Through the signed webhook."""

from __future__ import annotations

from bot.wechat.replies import TEXT_LIMIT_BYTES, TRUNCATION_NOTE
from tests.reports_helpers import DESCRIPTION, drafts
from tests.wechat import Citizen

STATEMENT = "楼道里有人给电动车充电，天天如此，"  # a hazard statement: the report is offered with it
LONG = STATEMENT * 60


def whole(reply: str) -> str:
    assert TRUNCATION_NOTE.strip() not in reply and len(reply.encode()) <= TEXT_LIMIT_BYTES, reply
    return reply


def test_a_long_hazard_statement_is_offered_with_its_start_and_its_length(citizen: Citizen, bot) -> None:
    reply = whole(citizen.says(LONG))
    assert f"（共{len(LONG.strip())}字，已完整保存）" in reply and "回复 是" in reply and "回复 否" in reply
    reply = whole(citizen.says("是"))  # the category named by the words is chosen (改类别 changes it)
    assert "已完整保存" in reply and "请发送隐患位置" in reply
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.description == LONG  # every word kept


def test_a_long_address_is_said_back_short(citizen: Citizen, bot) -> None:
    citizen.dialog([("举报", "请选择隐患类别"), ("1", "请描述隐患情况"), (DESCRIPTION, "请发送隐患位置")])
    address = "城关镇人民路12号幸福小区东门往北走大约两百米右手边的那栋灰色六层楼后面的自行车棚" * 12
    reply = whole(citizen.says(address))
    assert f"（共{len(address)}字，已完整保存）" in reply and "请上传现场照片" in reply
    with bot.db.session() as s:
        [draft] = drafts(s)
        assert draft.address == address


def test_a_short_statement_is_said_back_whole(citizen: Citizen) -> None:
    reply = citizen.says("楼道里有人给电动车充电，天天如此")
    assert "“楼道里有人给电动车充电，天天如此”" in reply and "已完整保存" not in reply
