"""Citations checked against public texts for issue 18 must not come back wrong.

Each pattern names a citation that does not exist or points at the wrong text, with what is right.
"""

from __future__ import annotations

import re

import pytest

WRONG = [
    # The national work rule has a 2009 edition (原卫生部) and a 2023 one; 2016 is the year of
    # 中国疾控中心《狂犬病预防控制技术指南（2016版）》, a different document.
    (r"狂犬病暴露预防处置工作规范（2016", "cite the 2009 edition of the 规范 and the 2016 指南"),
    # 150 m behind a car broken down on a motorway: 道路交通安全法 第六十八条; the 实施条例's
    # article 60 has 50–100 m on other roads; its article 68 holds no 150 m rule.
    (r"实施条例》第六十八条", "the 150 m rule is 道路交通安全法 第六十八条"),
    # 烟花爆竹安全管理条例 第三十二条 is about 焰火晚会 (displays), not a citizen's fireworks.
    (r"烟花爆竹安全管理条例》[^；]*第三十二条", "ordinary use is articles 28, 30 and 31"),
]


@pytest.mark.parametrize(("pattern", "right"), WRONG)
def test_no_source_repeats_a_corrected_citation(bot, pattern: str, right: str) -> None:
    content = bot.content
    sources = [(e.id, e.source) for e in content.knowledge.entries] + [(q.id, q.source) for q in content.quiz.questions]
    wrong = [item_id for item_id, source in sources if re.search(pattern, source)]
    assert not wrong, f"{wrong}: {right}"
