"""考考我用电安全: the quiz category a citizen names when asking to play.

A named topic gives a practice round of that category only. It is never counted: a round of one
category can be easier than the mixed round everyone else plays, and the counted round feeds the
leaderboard and the prize draw.
"""

from __future__ import annotations

from bot.services.quiz.bank import CATEGORIES

# The words citizens name a category by. The longest word found wins, so that 非煤矿山 is not 煤矿
# and 电动车 is not 用电.
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "law": ("法律", "法规", "安全生产法", "普法"),
    "reporting": ("举报", "吹哨"),
    "fire": ("消防", "防火", "火灾", "灭火", "逃生"),
    "gas": ("燃气", "煤气", "天然气", "液化气"),
    "electricity": ("用电", "触电", "电气", "电路", "安全用电"),
    "ebike": ("电动车", "电瓶车", "电动自行车"),
    "road": ("交通", "开车", "驾驶", "酒驾", "道路", "行车"),
    "flood": ("防汛", "洪水", "汛期", "防灾", "台风", "地震", "自然灾害"),
    "chemicals": ("危化", "化学品", "危险化学品"),
    "coal_mine": ("煤矿", "瓦斯"),
    "non_coal_mine": ("非煤", "非煤矿山", "矿山", "尾矿"),
    "construction": ("建筑", "施工", "工地"),
    "confined_space": ("有限空间", "受限空间", "化粪池"),
    "first_aid": ("急救", "救护", "心肺复苏", "止血"),
    "campus_home": ("校园", "家庭", "溺水", "防溺水", "居家", "学校"),
}
assert set(TOPIC_WORDS) == set(CATEGORIES), "every quiz category has words (and no other key)"


def named_topic(text: str) -> str | None:
    """The category the message names, or None (答题 alone, or no category's word in it)."""
    found = [(len(word), category) for category, words in TOPIC_WORDS.items() for word in words if word in text]
    return max(found)[1] if found else None
