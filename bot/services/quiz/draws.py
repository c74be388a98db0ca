"""Prize draws that anyone can check.

1. `create_draw` freezes the ordered list of eligible entries, stores SHA-256 of its canonical text
   (`list_digest`) and publishes `commitment` = SHA-256 of a secret seed (64 hex characters).
2. Optionally a public `beacon` is announced after the commitment (e.g. that evening's 福彩3D
   numbers): it stops whoever created the draw from trying seeds until the outcome suits them.
3. `reveal_draw` publishes the seed and fixes the winners, once; a revealed draw cannot be re-run.
4. `verify_draw` (and `pick_winners` on a published list) recomputes everything.

Canonical list: one line per entry, `"{position}\\t{pseudonym}\\t{day}"` (position from 0, day as
YYYY-MM-DD), lines joined by "\\n", UTF-8; `list_digest` = SHA-256 hex of that text.
Pseudonym: the first 16 hex digits of HMAC-SHA256 under a key derived from the identity key (its own
label) of f"{draw id}:{openid}": one per person per draw, shown to that person in the chat (the
winner's notice, 我的成绩) so they can find their entries in the published list; without the key
it cannot be turned back into an openid, nor matched across draws. Draws created before pseudonyms
(their stored entries have none) keep the openid in that place, as their digest was published.

Winners (`pick_winners`):
  key = HMAC-SHA256(key=seed (ASCII), msg="smb-quiz-draw|" + list_digest + "|" + beacon (UTF-8))
  U(m, i) = the first r = int.from_bytes(HMAC-SHA256(key, f"{i}:{attempt}"), "big"), attempt = 0, 1, ...,
            with r < 2**256 - (2**256 mod m); then r mod m   (rejection sampling: no modulo bias)
  forward Fisher–Yates over positions p = [0..n-1]: for i = 0, 1, ...: j = i + U(n - i, i); swap
  p[i], p[j]; p[i] is the next pick; a pick whose openid already won is skipped (one prize per
  person per draw); stop at `winners_wanted` winners or at the end of the list.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.config import QuizConfig
from bot.models.quiz import DrawStatus, QuizDraw, QuizDrawEntry, QuizPrize, QuizRound, RoundStatus
from bot.services import outbox
from bot.services.quiz.rounds import campaign_day
from bot.services.reports.identity import IdentityVault

DOMAIN = "smb-quiz-draw"
PSEUDONYM_TAG = "quiz/draw-entry"  # the vault's purpose for entry pseudonyms


class DrawError(Exception):
    """A draw operation refused, in one line staff can act on."""


@dataclasses.dataclass(frozen=True)
class Entry:
    openid: str
    day: dt.date
    round_id: int
    pseudonym: str | None = None

    @property
    def listed(self) -> str:
        """Who the entry is in the published list: the pseudonym (the openid in older draws)."""
        return self.pseudonym or self.openid


def pseudonym_of(vault: IdentityVault, draw_id: int, openid: str) -> str:
    return vault.keyed_tag(PSEUDONYM_TAG, f"{draw_id}:{openid}")[:16]


@dataclasses.dataclass(frozen=True)
class Check:
    name: str  # entries | digest | commitment | winners (the console names each in Chinese)
    passed: bool
    detail: str  # what was compared, in one line


@dataclasses.dataclass(frozen=True)
class Verification:
    draw_id: int
    ok: bool
    checks: tuple[Check, ...]
    revealed: bool  # before the reveal only the list can be checked
    winners: tuple[str, ...]  # recomputed winners' openids in pick order (empty before reveal)

    @property
    def lines(self) -> tuple[str, ...]:
        """What was checked, one line each (the CLI prints these)."""
        lines = [f"{'OK  ' if c.passed else 'FAIL'} {c.detail}" for c in self.checks]
        if not self.revealed:
            lines.append("-- not revealed yet: the seed is still secret, winners not drawn")
        return tuple(lines)


def eligibility_min_score(rule: str, total: int) -> int:
    """`full_marks` (every question right) or `at_least:N`."""
    if rule == "full_marks":
        return total
    if rule.startswith("at_least:") and rule.split(":", 1)[1].isdigit():
        return int(rule.split(":", 1)[1])
    raise DrawError(f"unknown eligibility rule {rule!r} (full_marks or at_least:N)")


def eligible_entries(session: Session, cfg: QuizConfig, period_start: dt.date, period_end: dt.date,
                     *, entry_per: str | None = None, eligibility: str | None = None) -> list[Entry]:
    """Counted, finished, unflagged rounds that meet the rule: one entry per person per day (or per
    campaign), each person's first qualifying round, in the order they qualified."""
    entry_per = entry_per or cfg.draw_entry_per
    eligibility = eligibility or cfg.draw_eligibility
    if entry_per not in ("day", "campaign"):
        raise DrawError(f"[quiz] draw_entry_per must be day or campaign, not {entry_per!r}")
    rounds = session.scalars(
        select(QuizRound).where(QuizRound.counted.is_(True), QuizRound.flagged.is_(False),
                                QuizRound.status == RoundStatus.FINISHED,
                                QuizRound.day >= period_start, QuizRound.day <= period_end)
        .order_by(QuizRound.finished_at, QuizRound.id))
    entries, taken = [], set()
    for rnd in rounds:
        if rnd.score < eligibility_min_score(eligibility, rnd.total):
            continue
        slot = (rnd.openid, rnd.day) if entry_per == "day" else rnd.openid
        if slot not in taken:
            taken.add(slot)
            entries.append(Entry(rnd.openid, rnd.day, rnd.id))
    return entries


def canonical_list(entries: Sequence[Entry]) -> str:
    return "\n".join(f"{i}\t{e.listed}\t{e.day.isoformat()}" for i, e in enumerate(entries))


def list_digest(entries: Sequence[Entry]) -> str:
    return hashlib.sha256(canonical_list(entries).encode("utf-8")).hexdigest()


def commitment_of(seed: str) -> str:
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def _uniform(key: bytes, m: int, i: int) -> int:
    limit = (1 << 256) - (1 << 256) % m
    attempt = 0
    while True:
        r = int.from_bytes(hmac.new(key, f"{i}:{attempt}".encode(), hashlib.sha256).digest(), "big")
        if r < limit:
            return r % m
        attempt += 1


def pick_winners(openids: Sequence[str], seed: str, digest: str, beacon: str, wanted: int) -> list[int]:
    """Winning positions in pick order (see the module docstring for the exact algorithm).
    `openids`: who each entry is, as the published list names them (`Entry.listed`)."""
    key = hmac.new(seed.encode("ascii"), f"{DOMAIN}|{digest}|{beacon}".encode(), hashlib.sha256).digest()
    n = len(openids)
    order = list(range(n))
    picks: list[int] = []
    won: set[str] = set()
    for i in range(n):
        if len(picks) >= wanted:
            break
        j = i + _uniform(key, n - i, i)
        order[i], order[j] = order[j], order[i]
        if openids[order[i]] not in won:
            won.add(openids[order[i]])
            picks.append(order[i])
    return picks


def create_draw(session: Session, cfg: QuizConfig, *, title: str, prize: str, winners: int,
                period_start: dt.date, period_end: dt.date, by: str, now: dt.datetime,
                vault: IdentityVault) -> QuizDraw:
    """Freeze the eligible list and publish the commitment. The period must be over."""
    _check_text("title", title, QuizDraw.title)
    _check_text("prize", prize, QuizDraw.prize)
    if winners < 1:
        raise DrawError("winners must be at least 1")
    if period_start > period_end:
        raise DrawError("the period starts after it ends")
    if period_end >= campaign_day(now):
        raise DrawError(f"the period must be over before the draw (it ends {period_end}, today is {campaign_day(now)})")
    if not by.strip():
        raise DrawError("say who runs the draw (--by)")
    overlapping = session.scalar(select(QuizDraw).where(QuizDraw.period_start <= period_end,
                                                        QuizDraw.period_end >= period_start))
    if overlapping is not None:
        # Otherwise a second draw over the same entries could be used to get a different outcome.
        raise DrawError(f"draw #{overlapping.id} already covers {overlapping.period_start}..{overlapping.period_end}")
    entries = eligible_entries(session, cfg, period_start, period_end)
    if not entries:
        raise DrawError(f"no eligible entries between {period_start} and {period_end}")
    seed = secrets.token_hex(32)
    draw = QuizDraw(title=title.strip(), prize=prize.strip(), winners_wanted=winners, period_start=period_start,
                    period_end=period_end, entry_per=cfg.draw_entry_per, eligibility=cfg.draw_eligibility,
                    entry_count=len(entries), list_digest="", commitment=commitment_of(seed),
                    seed=seed, status=DrawStatus.COMMITTED, created_at=now, created_by=by.strip())
    session.add(draw)
    session.flush()  # the draw's id is part of each pseudonym
    entries = with_pseudonyms(vault, draw.id, entries)
    draw.list_digest = list_digest(entries)
    session.execute(insert(QuizDrawEntry), [
        {"draw_id": draw.id, "position": i, "openid": e.openid, "pseudonym": e.pseudonym, "day": e.day,
         "round_id": e.round_id} for i, e in enumerate(entries)])
    session.flush()
    return draw


def with_pseudonyms(vault: IdentityVault, draw_id: int, entries: Sequence[Entry]) -> list[Entry]:
    """The entries with their pseudonyms; refused if two people would share one (one prize per
    person is decided on the published names, so they must tell people apart: at 64 bits this
    needs billions of entries to happen by chance)."""
    named = [dataclasses.replace(e, pseudonym=pseudonym_of(vault, draw_id, e.openid)) for e in entries]
    if len({e.pseudonym for e in named}) != len({e.openid for e in named}):
        raise DrawError("two entrants got the same pseudonym; create the draw again")
    return named


def _check_text(what: str, value: str, column: Any) -> None:
    """Winners are told the title and the prize: neither may be blank."""
    if not value.strip():
        raise DrawError(f"the {what} is empty")
    _check_length(what, value.strip(), column)


def _check_length(what: str, value: str, column: Any) -> None:
    if len(value) > column.type.length:
        raise DrawError(f"the {what} is longer than {column.type.length} characters")


def entries_of(session: Session, draw_id: int) -> list[Entry]:
    rows = session.execute(select(QuizDrawEntry.openid, QuizDrawEntry.day, QuizDrawEntry.round_id,
                                  QuizDrawEntry.pseudonym)
                           .where(QuizDrawEntry.draw_id == draw_id).order_by(QuizDrawEntry.position))
    return [Entry(openid, day, round_id, pseudonym) for openid, day, round_id, pseudonym in rows]


def published_list(vault: IdentityVault, session: Session, draw_id: int) -> str:
    """The list to publish: the canonical list. A draw from before pseudonyms stored openids in
    it, which are not published: its list is given with pseudonyms computed now (its published
    digest was over the openids, so that digest can be checked only by `verify_draw`)."""
    entries = entries_of(session, draw_id)
    if entries and entries[0].pseudonym is None:
        entries = with_pseudonyms(vault, draw_id, entries)
    return canonical_list(entries)


def pseudonyms_of(session: Session, openid: str) -> list[tuple[QuizDraw, str]]:
    """The draws a citizen is entered in, with their pseudonym in each (newest first); older draws
    without pseudonyms are left out."""
    rows = session.execute(select(QuizDraw, QuizDrawEntry.pseudonym).join(QuizDrawEntry, QuizDrawEntry.draw_id == QuizDraw.id)
                           .where(QuizDrawEntry.openid == openid, QuizDrawEntry.pseudonym.is_not(None))
                           .distinct().order_by(QuizDraw.id.desc()))
    return [(draw, pseudonym) for draw, pseudonym in rows]


def _locked(session: Session, draw_id: int) -> QuizDraw:
    draw = session.scalar(select(QuizDraw).where(QuizDraw.id == draw_id).with_for_update())
    if draw is None:
        raise DrawError(f"no draw #{draw_id}")
    return draw


def reveal_draw(session: Session, cfg: QuizConfig, draw_id: int, *, by: str, now: dt.datetime,
                vault: IdentityVault, beacon: str = "") -> list[QuizPrize]:
    """Publish the seed, fix the winners and queue their notices. Only once per draw."""
    draw = _locked(session, draw_id)
    if draw.status != DrawStatus.COMMITTED:
        raise DrawError(f"draw #{draw.id} was revealed at {draw.revealed_at:%Y-%m-%d %H:%M} by {draw.revealed_by};"
                        " its outcome is final")
    if not by.strip():
        raise DrawError("say who runs the draw (--by)")
    _check_length("beacon", beacon, QuizDraw.beacon)
    entries = entries_of(session, draw.id)
    if list_digest(entries) != draw.list_digest:
        raise DrawError(f"draw #{draw.id}: the stored list no longer matches its published digest")
    if not pseudonyms_match(vault, draw.id, entries):
        # The digest covers the published pseudonyms, not the openids behind them.
        raise DrawError(f"draw #{draw.id}: a stored entrant no longer matches their published pseudonym")
    positions = pick_winners([e.listed for e in entries], draw.seed, draw.list_digest, beacon, draw.winners_wanted)
    deadline = now + dt.timedelta(days=cfg.claim_days)
    prizes = []
    for order, position in enumerate(positions, start=1):
        prize = QuizPrize(draw_id=draw.id, openid=entries[position].openid, pick_order=order,
                          entry_position=position, status="won", claim_deadline=deadline)
        session.add(prize)
        prizes.append(prize)
        outbox.enqueue(session, key=f"quiz-prize:{draw.id}:{prize.openid}", purpose="quiz_prize",
                       openid=prize.openid, now=now,
                       payload=outbox.notice_payload(winner_notice(draw, deadline, entries[position].pseudonym),
                                                     prize=draw.prize, deadline=outbox.cn_time(deadline),
                                                     note=draw.title, time=outbox.cn_time(now)))
    draw.status, draw.revealed_at, draw.revealed_by, draw.beacon = DrawStatus.REVEALED, now, by.strip(), beacon
    session.flush()
    return prizes


def winner_notice(draw: QuizDraw, deadline: dt.datetime, pseudonym: str | None = None) -> str:
    number = f"您的抽奖编号是 {pseudonym}，可在公布的抽奖名单中核对。" if pseudonym else ""
    return (f"恭喜！您在「{draw.title}」抽奖中获得：{draw.prize}。{number}"
            f"请在{deadline:%m月%d日%H:%M}前向本公众号发送 领奖，登记姓名和手机号，逾期视为放弃。")


def pseudonyms_match(vault: IdentityVault, draw_id: int, entries: Sequence[Entry]) -> bool:
    """Each stored entrant is the one their published pseudonym names (older draws have none)."""
    return all(e.pseudonym is None or hmac.compare_digest(pseudonym_of(vault, draw_id, e.openid), e.pseudonym)
               for e in entries)


def verify_draw(session: Session, draw_id: int, vault: IdentityVault | None = None) -> Verification:
    """Recompute the digest, the commitment and the winners from what is stored; with the identity
    vault (staff's check, not the public's) also that each entrant matches their pseudonym."""
    draw = session.get(QuizDraw, draw_id)
    if draw is None:
        raise DrawError(f"no draw #{draw_id}")
    entries = entries_of(session, draw.id)
    checks = [Check("entries", len(entries) == draw.entry_count,
                    f"entries: {len(entries)} stored, {draw.entry_count} published"),
              Check("digest", list_digest(entries) == draw.list_digest, f"list digest {draw.list_digest}")]
    if vault is not None and any(e.pseudonym for e in entries):
        checks.append(Check("pseudonyms", pseudonyms_match(vault, draw.id, entries),
                            "each stored entrant matches the pseudonym published for them"))
    revealed = draw.status == DrawStatus.REVEALED
    recomputed: list[tuple[int, int, str]] = []
    if revealed:
        checks.append(Check("commitment", commitment_of(draw.seed) == draw.commitment,
                            f"SHA-256(seed) equals the commitment {draw.commitment}"))
        positions = pick_winners([e.listed for e in entries], draw.seed, draw.list_digest, draw.beacon or "",
                                 draw.winners_wanted)
        stored = list(session.scalars(select(QuizPrize).where(QuizPrize.draw_id == draw.id)
                                      .order_by(QuizPrize.pick_order)))
        recomputed = [(i + 1, p, entries[p].openid) for i, p in enumerate(positions)]
        checks.append(Check("winners", recomputed == [(p.pick_order, p.entry_position, p.openid) for p in stored],
                            f"{len(recomputed)} winners recomputed from seed and list match the stored winners"))
    return Verification(draw.id, all(c.passed for c in checks), tuple(checks), revealed,
                        tuple(openid for _, _, openid in recomputed))


def list_draws(session: Session) -> list[QuizDraw]:
    return list(session.scalars(select(QuizDraw).order_by(QuizDraw.id)))
