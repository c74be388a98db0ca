"""Content that is right on the day it is shown (issue 18): dated questions and knowledge, the
citation-date rule, near-duplicate questions and the campaign window, as `content check` enforces
them, and quiz rounds over every day of the campaign."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

import pytest

from bot.cli.content import check_content
from bot.clock import shanghai
from bot.content import ContentError
from bot.services.content_dates import available_on, campaign_days
from bot.services.knowledge import load_knowledge
from bot.services.quiz.bank import load_bank
from bot.services.quiz.rounds import choose_questions
from tests.quiz_helpers import active_round
from tests.settings import make_config
from tests.wechat import Citizen

ROOT = Path(__file__).resolve().parent.parent
JUNE = list(campaign_days(dt.date(2021, 6, 1), dt.date(2021, 6, 30)))
AMENDMENT_QUESTIONS = ("basics-001", "law-001", "law-002", "law-006", "law-007", "law-011", "law-013")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content", target)
    return target


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(content_dir: Path, database_url: str) -> list[str]:
    return check_content(make_config(database_url, content={"dir": str(content_dir)}))


def ours(problems: list[str]) -> list[str]:
    """Leave out the push plan's problems (content/pushes.toml is another issue's)."""
    return [p for p in problems if "pushes.toml" not in p]


def test_the_shipped_content_passes_the_new_rules(database_url: str) -> None:
    assert ours(problems_of(ROOT / "content", database_url)) == []


# --- citations dated after the campaign start ---------------------------------------------------

def test_a_2022_standard_cited_without_available_from_fails(content: Path, database_url: str) -> None:
    rewrite(content / "knowledge" / "work.toml", "GB 30871-2014《化学品生产单位特殊作业安全规范》",
            "GB 30871-2022《危险化学品企业特殊作业安全规范》")
    problems = ours(problems_of(content, database_url))
    assert len(problems) == 1
    assert problems[0].startswith("content/work.toml: work-hot-work: source: cites GB 30871-2022")
    assert "add available_from" in problems[0]


@pytest.mark.parametrize(("file", "entry_id", "old", "new", "named"), [
    ("knowledge/electric.toml", "ebike-charging", "《中华人民共和国消防法》第二十八条",
     "《高层民用建筑消防安全管理规定》（应急管理部令第5号）第三十七条", "高层民用建筑消防安全管理规定"),
    ("knowledge/work.toml", "work-harness", "GB 6095-2009《安全带》", "GB 6095-2021《坠落防护 安全带》", "GB 6095-2021"),
    ("knowledge/chemicals.toml", "dust-explosion", "GB 15577-2018《粉尘防爆安全规程》",
     "《工贸企业粉尘防爆安全规定》", "工贸企业粉尘防爆安全规定"),
    ("quiz/law.toml", "law-010", "（2014年修正）第二十七条", "（2021修正）第三十条", "2021年修改的《安全生产法》"),
    ("knowledge/firstaid.toml", "aid-dog-bite", "工作规范（2009年版）", "工作规范（2023年版）",
     "狂犬病暴露预防处置工作规范（2023年版）"),
    ("knowledge/firstaid.toml", "aid-snake-bite", "《2018年中国蛇伤救治专家共识》（中华急诊医学杂志，2018年）",
     "《中国蛇伤救治指南2024》", "中国蛇伤救治指南2024"),
])
def test_texts_not_yet_in_existence_in_june_fail(content: Path, database_url: str, file: str, entry_id: str,
                                                 old: str, new: str, named: str) -> None:
    rewrite(content / file, old, new)
    problems = ours(problems_of(content, database_url))
    assert [p for p in problems if f": {entry_id}: source: cites " in p and named in p], problems


def test_the_amended_law_needs_its_in_force_date_said_even_after_adoption(content: Path, database_url: str) -> None:
    # law-002 is shown from 2021-06-10 (adoption); the law takes effect on 2021-09-01.
    rewrite(content / "quiz" / "law.toml", "第三条（2021年9月1日起施行的修改后条文）", "第三条")
    problems = ours(problems_of(content, database_url))
    assert len(problems) == 1 and "law-002" in problems[0] and "in force only from 2021-09-01" in problems[0]


def test_an_amendment_question_moved_before_adoption_fails(content: Path, database_url: str) -> None:
    path = content / "quiz" / "law.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('id = "law-013"')
    path.write_text(text[:start] + text[start:].replace("available_from = 2021-06-10\n", "", 1), encoding="utf-8")
    problems = ours(problems_of(content, database_url))
    assert len(problems) == 1 and "law-013" in problems[0] and "add available_from = 2021-06-10" in problems[0]


# --- a full round on every day ------------------------------------------------------------------

def test_a_day_without_a_full_round_fails(content: Path, database_url: str) -> None:
    for path in (content / "quiz").glob("*.toml"):
        if path.name != "basics.toml":
            path.unlink()
    # basics.toml alone: 12 questions, basics-001 from 06-10; dating 7 more to 06-20 leaves 4 before
    # 06-10 and 5 from then on.
    path = content / "quiz" / "basics.toml"
    text = path.read_text(encoding="utf-8")
    for qid in ("basics-002", "basics-003", "basics-004", "basics-005", "basics-006", "basics-007", "basics-008"):
        text = text.replace(f'id = "{qid}"\n', f'id = "{qid}"\navailable_from = 2021-06-20\n', 1)
    path.write_text(text, encoding="utf-8")
    problems = ours(problems_of(content, database_url))
    short = [p for p in problems if "fewer than [quiz] questions_per_round" in p]
    assert [p.split(": ")[1] for p in short] == [day.isoformat() for day in JUNE if day < dt.date(2021, 6, 10)]


def test_a_round_is_possible_every_day_and_never_serves_a_question_outside_its_dates() -> None:
    bank = load_bank(ROOT / "content")
    everything = [q.id for q in bank.questions]
    for day in JUNE:
        for seed in range(40):
            # fresh players, and players who saw the whole bank (the refill path)
            for recent in ([], everything[seed:] + everything[:seed]):
                ids = choose_questions(bank, 5, recent, random.Random(seed), day=day)
                questions = [bank.get(i) for i in ids]
                assert len(ids) == 5 == len(set(ids)), (day, seed)
                assert all(available_on(q, day) for q in questions), (day, seed, ids)
                assert len({q.group_key for q in questions}) == 5, (day, seed, ids)
        if day < dt.date(2021, 6, 10):
            assert not any(available_on(bank.get(qid), day) for qid in AMENDMENT_QUESTIONS)


def test_a_citizen_can_play_on_every_campaign_day(citizen: Citizen, bot, clock) -> None:
    seeds = iter(range(1000))
    bot.quiz_rng = lambda: random.Random(next(seeds))
    bank = bot.content.quiz
    for day in JUNE:
        clock.set(shanghai(day.year, day.month, day.day, 10, 0))
        for _ in range(3):  # the counted round, then practice rounds
            reply = citizen.says("答题")
            assert "第1/5题" in reply, (day, reply)
            rnd = active_round(bot, citizen.openid)
            questions = [bank.get(qid) for qid in rnd.question_ids]
            assert len(questions) == 5 and all(available_on(q, day) for q in questions), (day, rnd.question_ids)
            assert len({q.group_key for q in questions}) == 5, (day, rnd.question_ids)
            citizen.says("取消")


# --- near-duplicate questions -------------------------------------------------------------------

SAME_FACT = '''
[[question]]
id = "gas-099"
category = "gas"
kind = "single"
text = "在家里闻到燃气泄漏的味道，第一步应当怎么做？"
options = ["开灯查看", "关闭燃气阀门，开窗通风"]
answer = "B"
explanation = "先关阀门再通风。"
source = "燃气安全使用常识（测试）"
'''


def test_a_near_duplicate_stem_fails_until_grouped_or_allow_listed(content: Path, database_url: str) -> None:
    path = content / "quiz" / "gas.toml"
    with path.open("a", encoding="utf-8") as f:
        f.write(SAME_FACT)
    problems = ours(problems_of(content, database_url))
    assert problems and all("gas-099" in p and "alike" in p for p in problems)
    assert any("basics-007" in p for p in problems)
    # the same fact: one group (with basics-007 and gas-001), so no round holds two of them
    rewrite(path, 'source = "燃气安全使用常识（测试）"\n', 'source = "燃气安全使用常识（测试）"\ngroup = "gas-smell-first-step"\n')
    assert ours(problems_of(content, database_url)) == []


def test_different_facts_with_similar_stems_are_allow_listed(content: Path, database_url: str) -> None:
    rewrite(content / "quiz" / "ebike.toml", 'distinct_from = ["ebike-003"]\n', "")
    problems = ours(problems_of(content, database_url))
    assert len(problems) == 1 and "ebike-003" in problems[0] and "ebike-011" in problems[0]


def test_a_round_never_holds_two_questions_of_a_group() -> None:
    bank = load_bank(ROOT / "content")
    grouped = {q.group for q in bank.questions if q.group}
    assert len(grouped) >= 9
    for seed in range(300):
        ids = choose_questions(bank, 20, [], random.Random(seed), day=dt.date(2021, 6, 15))
        keys = [bank.get(i).group_key for i in ids]
        assert len(keys) == len(set(keys)), seed


# --- the campaign window ------------------------------------------------------------------------

def test_an_event_after_june_fails_unless_its_kind_is_extended(content: Path, database_url: str) -> None:
    rewrite(content / "events.toml", "start = 2021-06-25T09:00:00\nend = 2021-06-25T11:30:00",
            "start = 2021-07-25T09:00:00\nend = 2021-07-25T11:30:00")  # the tailings-pond drill
    problems = ours(problems_of(content, database_url))
    assert len(problems) == 1 and problems[0].startswith("content/events.toml: drill-tailings-pond: 2021-07-25")


def test_the_july_lectures_stand_only_on_the_notices_extension(content: Path, database_url: str) -> None:
    rewrite(content / "events.toml", 'kind = "lecture"\nuntil = 2021-07-31', 'kind = "lecture"\nuntil = 2021-07-14')
    problems = ours(problems_of(content, database_url))
    assert [p.split(": ")[1] for p in problems] == ["lecture-chengguan-community", "lecture-longquan-enterprises"]


# --- loaders ------------------------------------------------------------------------------------

GOOD = '''
[[question]]
id = "t-001"
category = "fire"
kind = "single"
text = "火警电话是？"
options = ["110", "119"]
answer = "B"
explanation = "119。"
source = "《消防法》"
'''


@pytest.mark.parametrize(("extra", "field", "problem"), [
    ("available_from = 2021-06-31\n", None, "not valid TOML"),
    ('available_from = "6月10日"\n', "available_from", "not a date"),
    ("available_from = 2021-06-10T09:00:00\n", "available_from", "without a time"),
    ("available_from = 2021-06-10\navailable_until = 2021-06-09\n", "available_until", "before available_from"),
    ("group = 3\n", "group", "must be text"),
    ('distinct_from = "t-002"\n', "distinct_from", "list of question ids"),
])
def test_broken_dates_and_groups_are_named(tmp_path: Path, extra: str, field: str | None, problem: str) -> None:
    (tmp_path / "quiz").mkdir()
    (tmp_path / "quiz" / "fire.toml").write_text(GOOD + extra, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_bank(tmp_path)
    assert problem in caught.value.problem
    if field:
        assert (caught.value.entry, caught.value.field) == ("t-001", field)


# --- knowledge by day ---------------------------------------------------------------------------

def test_knowledge_answers_the_version_valid_that_day(citizen: Citizen, clock) -> None:
    clock.set(shanghai(2021, 6, 5, 10, 0))
    before = citizen.says("新安全生产法什么时候开始实施")
    assert "现在施行的是2014年修正的《安全生产法》" in before and "2021年9月1日" not in before
    clock.set(shanghai(2021, 6, 10, 10, 0))
    after = citizen.says("新安全生产法什么时候开始实施")
    assert "自2021年9月1日起施行" in after and "在此之前仍施行2014年修正的《安全生产法》" in after


def test_an_entry_outside_its_dates_is_not_matched(bot) -> None:
    knowledge = bot.content.knowledge
    question = "新修改的《安全生产法》有哪些重点？"
    june_5 = knowledge.understand(question, dt.date(2021, 6, 5))
    assert all(m.entry.available_until == dt.date(2021, 6, 9) for m in june_5.matches
               if m.entry.id == "law-work-safety-2021")
    june_12 = knowledge.understand(question, dt.date(2021, 6, 12))
    assert june_12.band == "direct" and june_12.best.entry.available_from == dt.date(2021, 6, 10)
    assert knowledge.get("law-work-safety-2021", dt.date(2021, 6, 12)).question == question


def test_versions_of_an_entry_must_not_share_a_day(content: Path) -> None:
    rewrite(content / "knowledge" / "law.toml", "available_until = 2021-06-09", "available_until = 2021-06-10")
    with pytest.raises(ContentError, match="must not share a day"):
        load_knowledge(content)
