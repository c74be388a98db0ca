"""Prize draws (reproducible, verifiable, final) and prize claims through the webhook."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

from bot.models import Delivery
from bot.models.quiz import QuizDraw, QuizPrize
from bot.services.quiz import claims, draws
from bot.services.reports.identity import IdentityError, IdentityVault, vault_for
from tests.quiz_helpers import current_question, right, wrong
from tests.wechat import Citizen

JUNE1, JUNE2 = dt.date(2021, 6, 1), dt.date(2021, 6, 2)


@pytest.fixture(autouse=True)
def seeded(bot) -> None:
    bot.quiz_rng = lambda: random.Random(99)


def play(person: Citizen, bot, clock, marks: str = "rrrrr", pause: float = 12) -> None:
    person.says("答题")
    for mark in marks:
        clock.advance(seconds=pause)
        q = current_question(bot, person.openid)
        person.says(right(q) if mark == "r" else wrong(q))


@pytest.fixture
def players(citizen, citizens, bot, clock):
    """June 1: five full marks (one of them too fast), one 4/5; June 2: two full marks again."""
    people = [citizen] + [citizens(f"o_p{i}") for i in range(1, 6)]
    for person in people[:4]:
        play(person, bot, clock)
    play(people[4], bot, clock, pause=1)  # flagged
    play(people[5], bot, clock, "rrrrw")
    clock.advance(days=1)
    for person in people[:2]:
        play(person, bot, clock)
    clock.advance(days=1)
    return people


def test_eligible_entries_per_day_and_per_campaign(players, bot) -> None:
    cfg = bot.config.quiz
    with bot.db.session() as s:
        per_day = draws.eligible_entries(s, cfg, JUNE1, JUNE2)
        assert [(e.openid, e.day) for e in per_day][:4] == [(p.openid, JUNE1) for p in players[:4]]
        assert len(per_day) == 6 and "o_p4" not in {e.openid for e in per_day}  # flagged: out
        per_campaign = draws.eligible_entries(s, cfg, JUNE1, JUNE2, entry_per="campaign")
        assert [e.openid for e in per_campaign] == [p.openid for p in players[:4]]
        relaxed = draws.eligible_entries(s, cfg, JUNE1, JUNE1, eligibility="at_least:4")
        assert "o_p5" in {e.openid for e in relaxed}


def test_draw_commit_reveal_verify(players, bot, clock) -> None:
    cfg = bot.config.quiz
    with bot.db.session() as s:
        draw = draws.create_draw(s, cfg, vault=bot.vault, title="第一周抽奖", prize="50元话费", winners=3, period_start=JUNE1,
                                 period_end=JUNE2, by="张三", now=clock.now())
        s.commit()
        assert draw.entry_count == 6 and draw.commitment == draws.commitment_of(draw.seed)
        assert "not revealed yet" in "\n".join(draws.verify_draw(s, draw.id).lines)
        prizes = draws.reveal_draw(s, cfg, draw.id, vault=bot.vault, by="李四", now=clock.now(), beacon="3D 123")
        s.commit()
        assert len(prizes) == 3 and len({p.openid for p in prizes}) == 3  # one prize per person
        # Anyone with the published list, seed and beacon gets the same winners.
        entries = draws.entries_of(s, draw.id)
        positions = draws.pick_winners([e.listed for e in entries], draw.seed, draws.list_digest(entries), "3D 123", 3)
        assert positions == [p.entry_position for p in prizes]
        # Another beacon, another order. With few people two beacons can agree by chance (the seed is
        # random: about 1 in 24 here), so ten beacons are asked; all ten agreeing would be a bug.
        picks = {tuple(draws.pick_winners([e.listed for e in entries], draw.seed, draw.list_digest, f"3D {n}", 6))
                 for n in range(123, 133)}
        assert len(picks) > 1
        result = draws.verify_draw(s, draw.id)
        assert result.ok and list(result.winners) == [p.openid for p in prizes]
        notices = list(s.scalars(select(Delivery).where(Delivery.purpose == "quiz_prize")))
        assert {d.key for d in notices} == {f"quiz-prize:{draw.id}:{p.openid}" for p in prizes}
        assert "领奖" in notices[0].payload["content"]
        assert [w.openid for w in claims.winners_to_contact(s, draw.id)] == [p.openid for p in prizes]
        assert claims.winners_to_contact(s, draw.id)[0].notice_status == "pending"
        assert [(w.prize.id, w.notice_status) for w in claims.winners_of(s, draw.id)] == [
            (p.id, "pending") for p in prizes]
        # Final: no re-run, no second draw over the same days.
        with pytest.raises(draws.DrawError, match="revealed .* by 李四"):
            draws.reveal_draw(s, cfg, draw.id, vault=bot.vault, by="李四", now=clock.now(), beacon="again")
        with pytest.raises(draws.DrawError, match="already covers"):
            draws.create_draw(s, cfg, vault=bot.vault, title="x", prize="y", winners=1, period_start=JUNE2, period_end=JUNE2,
                              by="张三", now=clock.now())
        # Tampering with the stored list or winners is caught.
        s.execute(QuizPrize.__table__.update().where(QuizPrize.pick_order == 1).values(openid="o_someone_else"))
        s.expire_all()
        assert not draws.verify_draw(s, draw.id).ok
        s.rollback()


def test_draw_refusals(players, bot, clock) -> None:
    cfg = bot.config.quiz
    with bot.db.session() as s:
        with pytest.raises(draws.DrawError, match="must be over"):
            draws.create_draw(s, cfg, vault=bot.vault, title="t", prize="p", winners=1, period_start=JUNE1,
                              period_end=clock.now().date(), by="a", now=clock.now())
        with pytest.raises(draws.DrawError, match="no eligible entries"):
            draws.create_draw(s, cfg, vault=bot.vault, title="t", prize="p", winners=1, period_start=dt.date(2021, 5, 1),
                              period_end=dt.date(2021, 5, 2), by="a", now=clock.now())


def test_verification_names_each_check(players, bot, clock) -> None:
    cfg = bot.config.quiz
    with bot.db.session() as s:
        draw = draws.create_draw(s, cfg, vault=bot.vault, title="t", prize="p", winners=2, period_start=JUNE1, period_end=JUNE2,
                                 by="a", now=clock.now())
        before = draws.verify_draw(s, draw.id)
        assert [(c.name, c.passed) for c in before.checks] == [("entries", True), ("digest", True)]
        assert before.ok and not before.revealed and before.winners == ()
        draws.reveal_draw(s, cfg, draw.id, vault=bot.vault, by="a", now=clock.now())
        after = draws.verify_draw(s, draw.id)
        assert [(c.name, c.passed) for c in after.checks] == [
            ("entries", True), ("digest", True), ("commitment", True), ("winners", True)]
        assert after.ok and after.revealed and after.lines[2].startswith("OK   SHA-256(seed)")
        s.execute(QuizDraw.__table__.update().where(QuizDraw.id == draw.id).values(seed="0" * 64))
        s.expire_all()
        tampered = draws.verify_draw(s, draw.id)
        assert not tampered.ok and [c.passed for c in tampered.checks][:3] == [True, True, False]
        assert "FAIL SHA-256(seed)" in "\n".join(tampered.lines)
        s.rollback()


def test_draw_needs_a_title_a_prize_and_bounded_texts(players, bot, clock) -> None:
    cfg = bot.config.quiz

    def create(title: str, prize: str) -> QuizDraw:
        return draws.create_draw(s, cfg, vault=bot.vault, title=title, prize=prize, winners=1, period_start=JUNE1,
                                 period_end=JUNE2, by="a", now=clock.now())

    with bot.db.session() as s:
        for title, prize, message in ((" ", "p", "title is empty"), ("t", "", "prize is empty"),
                                      ("长" * 101, "p", "title is longer than 100"),
                                      ("t", "奖" * 101, "prize is longer than 100")):
            with pytest.raises(draws.DrawError, match=message):
                create(title, prize)
        draw = create(" 周抽奖 ", "长" * 100)
        assert draw.title == "周抽奖"
        with pytest.raises(draws.DrawError, match="beacon is longer than 200"):
            draws.reveal_draw(s, cfg, draw.id, vault=bot.vault, by="a", now=clock.now(), beacon="1" * 201)
        assert draw.status == "committed"
        assert draws.reveal_draw(s, cfg, draw.id, vault=bot.vault, by="a", now=clock.now(), beacon="1" * 200)


def test_pick_winners_is_a_fair_permutation() -> None:
    # Every entry of a small list wins first place about equally often across seeds.
    counts = [0] * 5
    for n in range(2000):
        counts[draws.pick_winners(list("abcde"), f"{n:064x}", "d", "", 1)[0]] += 1
    assert all(330 < c < 470 for c in counts), counts


def make_winner(bot, clock, openid: str) -> QuizPrize:
    cfg = bot.config.quiz
    with bot.db.session() as s:
        draw = draws.create_draw(s, cfg, vault=bot.vault, title="周抽奖", prize="灭火器一具", winners=10, period_start=JUNE1,
                                 period_end=JUNE2, by="staff", now=clock.now())
        prizes = draws.reveal_draw(s, cfg, draw.id, vault=bot.vault, by="staff", now=clock.now())
        s.commit()
        return next(p for p in prizes if p.openid == openid)


def test_claim_flow(players, citizen: Citizen, bot, clock) -> None:
    nothing_yet = citizen.says("领奖")
    # Nothing pending: it says how a prize is won (default config: full marks, once a day).
    assert "没有待领取的奖品" in nothing_yet and "全部答对" in nothing_yet and "每天" in nothing_yet
    prize = make_winner(bot, clock, citizen.openid)
    citizen.dialog([
        (lambda c: c.click("QUIZ_CLAIM"), ["灭火器一具", "姓名"]),
        ("1", "姓名请填写"),
        ("王小明", ["11位手机号", "仅用于", "30天后删除"]),
        ("12345", "手机号格式不对"),
        ("+86 139-1234-5678", ["王小明", "13912345678", "确认"]),
        ("稍等", "请回复 确认"),  # 嗯 is a yes (test_yes_no_in_flows)
        ("确认", ["已登记", "139****5678"]),
    ])
    assert "已登记" in citizen.says("领奖")
    assert "已登记" in citizen.says("我的成绩")
    with bot.db.session() as s:
        row = s.get(QuizPrize, prize.id)
        assert row.status == "claimed"
        # Stored sealed: neither the name nor any run of the number is in the row.
        assert "王小明" not in row.claimant_name and "5678" not in row.claimant_phone
        assert claims.contact_of(vault_for(bot.config), row) == claims.Contact("王小明", "13912345678")
        with pytest.raises(IdentityError):  # another deployment's key opens nothing
            claims.contact_of(IdentityVault("some-other-key"), row)
        claims.mark_delivered(s, prize.id, by="staff", now=clock.now(), erase_days=30)
        s.commit()
        clock.advance(days=29)
        assert claims.erase_claim_contacts(s, clock.now()) == 0
        clock.advance(days=2)
        assert claims.erase_claim_contacts(s, clock.now()) == 1
        s.commit()
        row = s.get(QuizPrize, prize.id)
        assert row.claimant_name is None and row.claimant_phone is None and row.contact_erased_at == clock.now()
        assert claims.contact_of(vault_for(bot.config), row) is None


def test_unclaimed_prizes_expire(players, citizen: Citizen, bot, clock) -> None:
    prize = make_winner(bot, clock, citizen.openid)
    clock.advance(days=7, seconds=1)
    with bot.db.session() as s:
        assert claims.expire_unclaimed(s, clock.now()) >= 1
        s.commit()
        assert s.get(QuizPrize, prize.id).status == "expired"
    assert "超过领取期限" in citizen.says("领奖")


def test_phone_and_name_validation() -> None:
    assert claims.normalize_phone("13800138000") == "13800138000"
    assert claims.normalize_phone("138 0013 8000") == "13800138000"
    assert claims.normalize_phone("8613800138000") == "13800138000"
    for bad in ("12800138000", "1380013800", "138001380001", "abc", "", "0571-88888888"):
        assert claims.normalize_phone(bad) is None, bad
    assert claims.normalize_name("王 小明 ") == "王 小明"
    assert claims.normalize_name("王") is None and claims.normalize_name("<script>") is None


def test_cli_draw_lifecycle(players, bot, clock, database_url, tmp_path, monkeypatch) -> None:
    from bot import cli

    config = tmp_path / "bot.toml"
    config.write_text(f'[wechat]\napp_id = "wx1"\ntoken = "t"\n[database]\nurl = "{database_url}"\n'
                      '[server]\ntoday = "2021-07-01"\n', encoding="utf-8")
    assert cli.main(["--config", str(config), "quiz", "draw", "create", "--title", "t", "--prize", "p",
                     "--winners", "2", "--by", "staff"]) == 0
    with bot.db.session() as s:
        draw_id = s.scalar(select(QuizDraw.id))
    assert cli.main(["--config", str(config), "quiz", "draw", "reveal", str(draw_id), "--by", "staff"]) == 0
    assert cli.main(["--config", str(config), "quiz", "draw", "reveal", str(draw_id), "--by", "staff"]) == 1
    assert cli.main(["--config", str(config), "quiz", "draw", "verify", str(draw_id)]) == 0
    assert cli.main(["--config", str(config), "quiz", "draw", "list"]) == 0
    assert cli.main(["--config", str(config), "quiz", "flags"]) == 0
    assert cli.main(["--config", str(config), "quiz", "housekeeping"]) == 0


def test_quiz_jobs_are_registered_and_run(bot) -> None:
    from bot.background.jobs import JOBS
    from bot.background.jobs import quiz as jobs

    targets = {j.target for j in JOBS}
    assert {"bot.background.jobs.quiz:close_idle_rounds", "bot.background.jobs.quiz:expire_prizes"} <= targets
    jobs.close_idle_rounds(bot)  # nothing to do on an empty database, and no error
    jobs.expire_prizes(bot)


def test_a_contact_claimed_before_contacts_were_sealed_still_reads() -> None:
    """Rows claimed before migration 0010 hold plain text until they are erased."""
    legacy = QuizPrize(claimant_name="李四", claimant_phone="13800001111")
    assert claims.contact_of(IdentityVault("any-key"), legacy) == claims.Contact("李四", "13800001111")


def test_the_draw_rule_is_read_from_the_configured_eligibility() -> None:
    from handlers.quiz import eligibility_line

    assert "全部答对" in eligibility_line("full_marks", 10)
    assert "答对8题" in eligibility_line("at_least:8", 10)
