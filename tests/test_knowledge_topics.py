"""Topics added for issue 21 item 7: each is answered, through the signed webhook, by the entry
written for it, when citizens ask in their own words.

The messages are written the way residents type or dictate them (dialect words, no question mark,
a situation described rather than the topic named); none is an entry's question or phrasing.
"""

from __future__ import annotations

import pytest

from tests.wechat import Citizen

ASKED = {
    "aid-snake-bite": ["我爸在菜地里让蛇给咬了一口咋整", "被蛇咬了能用嘴把毒吸出来吗", "脚踝被蛇咬了两个牙印",
                       "上山采茶被蛇咬到了手"],
    "aid-bee-sting": ["孩子被马蜂蜇了脸都肿了", "被蜜蜂叮了刺还在肉里", "屋檐下有个大马蜂窝怎么弄掉"],
    "aid-bleeding": ["手被玻璃划了一道口子一直冒血", "切菜把手指切了血止不住", "腿上伤口流血很厉害怎么止住"],
    "aid-fracture": ["小腿摔断了怎么固定", "打球崴脚了肿了"],
    "fire-blanket": ["灭火毯到底怎么用", "厨房里挂的那个灭火毯怎么拉出来", "家里买个灭火毯有用吗"],
    "co-car": ["冬天在车里开暖气睡觉会不会中毒", "车停地库里开着空调等人安全吗", "跑长途在服务区车里开空调睡一觉行不行"],
    "typhoon": ["台风要来了家里要准备啥", "明天刮台风能不能出门", "台风红色预警是什么意思"],
    "flood-season-home": ["汛期到了住在河边要注意啥", "下暴雨地下室进水了咋办", "雨季来了家里怎么防汛"],
    "lightning-outdoor": ["在地里干活突然打雷了往哪躲", "打雷的时候在河边钓鱼危险吗", "在山上爬山遇到打雷怎么办"],
    "work-three-violations": ["三违是哪三违", "反三违具体指什么", "违章作业和违章指挥有什么区别"],
    "work-injury": ["在厂里干活手被机器压伤了算不算工伤", "工伤认定要在多长时间内申请", "老板不给我报工伤我自己能申请吗",
                    "下班路上被车撞了算工伤吗"],
    "work-occupational-disease": ["在石料厂干了十年查出尘肺病怎么办", "职业病去哪个医院诊断", "单位不给做职业病体检合法吗"],
    "law-accident-grades": ["死了三个人算什么等级的事故", "重大事故是死多少人", "生产安全事故分几级"],
    "farm-machinery": ["收麦子的时候收割机卡住了能用手去掏吗", "三夏期间开收割机要注意什么"],
    "petrol-bottle": ["能拿塑料桶去加油站打汽油吗", "摩托车没油了用矿泉水瓶买点汽油行吗", "买散装汽油要带身份证吗"],
    "home-elevator": ["96333是干什么的", "电梯门打不开人在里面出不来"],
    "numbers-emergency": ["停电了打什么电话报修", "12315是管什么的", "买到假冒伪劣产品打哪个电话投诉",
                          "各种报警电话分别是干什么的"],
}


@pytest.mark.parametrize(("entry_id", "text"), [(e, t) for e, texts in ASKED.items() for t in texts])
def test_a_citizen_question_gets_the_entry_written_for_it(citizen: Citizen, bot, entry_id: str, text: str) -> None:
    entry = bot.content.knowledge.get(entry_id)
    reply = citizen.says(text)
    # An emergency line may come first (handlers/emergency.py); the whole entry must follow.
    assert entry.reply() in reply, (text, reply[:80])


def test_the_new_entries_name_their_sources(bot) -> None:
    # The deadlines and thresholds citizens act on, each with the article it comes from.
    knowledge = bot.content.knowledge
    injury = knowledge.get("work-injury")
    assert "30日内" in injury.answer and "1年内" in injury.answer and "第十七条" in injury.source
    grades = knowledge.get("law-accident-grades")
    assert "死亡30人以上" in grades.answer and "1000万元以下" in grades.answer and "第三条" in grades.source
    assert "96333" in knowledge.get("home-elevator").answer
    for number in ("119", "110", "120", "122", "12345", "12350", "96119", "96333", "12315", "95598"):
        assert number in knowledge.get("numbers-emergency").answer, number
