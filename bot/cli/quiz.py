"""`python -m bot quiz ...`: leaderboard rebuild, prize draws, prize delivery, timing flags, housekeeping.

    quiz leaderboard rebuild
    quiz draw create --title T --prize P --winners N [--from D --to D] --by NAME
    quiz draw reveal ID --by NAME [--beacon TEXT]
    quiz draw verify ID | quiz draw list | quiz draw entries ID | quiz draw winners ID
    quiz prize deliver PRIZE_ID --by NAME
    quiz flags [--all] | quiz flags review ROUND_ID --by NAME (--clear | --keep)
    quiz housekeeping        (expire idle rounds and unclaimed prizes, erase old claim contacts)
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="area", required=True, metavar="AREA")
    board = sub.add_parser("leaderboard", help="leaderboard rebuild: refill the Redis sorted set from the DB")
    board.add_argument("action", choices=["rebuild"])

    draw = sub.add_parser("draw", help="prize draws: create, reveal, verify, list, entries, winners")
    actions = draw.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="freeze the eligible list and publish the commitment")
    create.add_argument("--title", required=True)
    create.add_argument("--prize", required=True)
    create.add_argument("--winners", type=int, required=True)
    create.add_argument("--from", dest="start", type=dt.date.fromisoformat, help="first day (default: campaign start)")
    create.add_argument("--to", dest="end", type=dt.date.fromisoformat, help="last day (default: campaign end)")
    create.add_argument("--by", required=True, help="who runs the draw (recorded)")
    reveal = actions.add_parser("reveal", help="publish the seed and fix the winners (once)")
    reveal.add_argument("draw_id", type=int)
    reveal.add_argument("--by", required=True)
    reveal.add_argument("--beacon", default="", help="public value announced after the commitment, e.g. lottery numbers")
    for name, text in (("verify", "recompute digest, commitment and winners"),
                       ("entries", "print the frozen list (to publish)"),
                       ("winners", "winners who have not claimed, with their notice status")):
        actions.add_parser(name, help=text).add_argument("draw_id", type=int)
    actions.add_parser("list", help="all draws")

    prize = sub.add_parser("prize", help="prize deliver PRIZE_ID --by NAME")
    prize.add_argument("action", choices=["deliver"])
    prize.add_argument("prize_id", type=int)
    prize.add_argument("--by", required=True)

    flags = sub.add_parser("flags", help="rounds flagged for impossible timings")
    flags.add_argument("action", nargs="?", choices=["list", "review"], default="list")
    flags.add_argument("round_id", nargs="?", type=int)
    flags.add_argument("--all", action="store_true", help="include reviewed flags")
    flags.add_argument("--by")
    verdict = flags.add_mutually_exclusive_group()
    verdict.add_argument("--clear", action="store_true", help="the round was fine: restore it")
    verdict.add_argument("--keep", action="store_true", help="keep it out of the leaderboard and the draw")

    sub.add_parser("housekeeping", help="expire idle rounds and unclaimed prizes; erase old claim contacts")


@contextmanager
def _session(config: Config) -> Iterator[Session]:
    from bot.infra.db import Database

    db = Database(config.database.url)
    try:
        with db.transaction() as session:
            yield session
    finally:
        db.dispose()


def _now(config: Config) -> dt.datetime:
    from bot.runtime import default_clock

    return default_clock(config).now()


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


@commands.add("quiz", "prize quiz: leaderboard rebuild, draw create/reveal/verify/list, prize deliver, flags", _configure)
def quiz(args: argparse.Namespace, config: Config) -> int:
    from bot.services.quiz.claims import ClaimError
    from bot.services.quiz.draws import DrawError

    try:
        return {"leaderboard": _leaderboard, "draw": _draw, "prize": _prize, "flags": _flags,
                "housekeeping": _housekeeping}[args.area](args, config)
    except (DrawError, ClaimError, LookupError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


def _leaderboard(args: argparse.Namespace, config: Config) -> int:
    from bot.infra.store import build_store
    from bot.services.quiz import leaderboard

    if not config.redis.url:
        out("no [redis] url: the leaderboard is computed from the DB, nothing to rebuild")
        return 0
    with _session(config) as session:
        count = leaderboard.rebuild(session, build_store(config.redis.url))
    out(f"leaderboard rebuilt: {count} participants")
    return 0


def _draw(args: argparse.Namespace, config: Config) -> int:
    from bot.services.quiz import claims, draws
    from bot.services.reports.identity import vault_for

    cfg = config.quiz
    with _session(config) as session:
        if args.action == "create":
            draw = draws.create_draw(session, cfg, title=args.title, prize=args.prize, winners=args.winners,
                                     period_start=args.start or dt.date.fromisoformat(cfg.campaign_start),
                                     period_end=args.end or dt.date.fromisoformat(cfg.campaign_end),
                                     by=args.by, now=_now(config), vault=vault_for(config, session))
            out(f"draw #{draw.id} created: {draw.entry_count} entries ({draw.period_start}..{draw.period_end}, "
                f"one per person per {draw.entry_per}, rule {draw.eligibility})")
            out(f"list digest (SHA-256): {draw.list_digest}")
            out(f"commitment  (SHA-256 of the seed): {draw.commitment}")
            out("publish both now; reveal with: python -m bot quiz draw reveal "
                f"{draw.id} --by NAME [--beacon TEXT]")
        elif args.action == "reveal":
            prizes = draws.reveal_draw(session, cfg, args.draw_id, by=args.by, now=_now(config), beacon=args.beacon,
                                       vault=vault_for(config, session))
            draw = session.get(draws.QuizDraw, args.draw_id)
            out(f"draw #{draw.id} revealed by {draw.revealed_by} at {draw.revealed_at:%Y-%m-%d %H:%M:%S}")
            out(f"seed: {draw.seed}")
            out(f"beacon: {draw.beacon!r}")
            for prize in prizes:
                out(f"  {prize.pick_order}. entry {prize.entry_position}  {prize.openid}  (prize #{prize.id})")
            out(f"{len(prizes)} winners notified through the outbox; claim by {prizes[0].claim_deadline:%Y-%m-%d %H:%M}"
                if prizes else "no winners")
        elif args.action == "verify":
            result = draws.verify_draw(session, args.draw_id, vault_for(config, session))
            for line in result.lines:
                out(line)
            out("VERIFIED" if result.ok else "MISMATCH")
            return 0 if result.ok else 1
        elif args.action == "entries":
            out(draws.published_list(vault_for(config, session), session, args.draw_id))
        elif args.action == "winners":
            for w in claims.winners_to_contact(session, args.draw_id):
                out(f"prize #{w.prize_id}  {w.openid}  claim by {w.claim_deadline:%Y-%m-%d %H:%M}  "
                    f"notice: {w.notice_status or '-'} {w.notice_error or ''}".rstrip())
        else:
            for d in draws.list_draws(session):
                out(f"#{d.id} {d.status:9} {d.title} | {d.prize} x{d.winners_wanted} | {d.period_start}..{d.period_end} "
                    f"| {d.entry_count} entries | created {d.created_at:%Y-%m-%d %H:%M} by {d.created_by}"
                    + (f" | revealed {d.revealed_at:%Y-%m-%d %H:%M} by {d.revealed_by}" if d.revealed_at else ""))
    return 0


def _prize(args: argparse.Namespace, config: Config) -> int:
    from bot.services.quiz import claims

    with _session(config) as session:
        prize = claims.mark_delivered(session, args.prize_id, by=args.by, now=_now(config),
                                      erase_days=config.quiz.claim_erase_days)
        out(f"prize #{prize.id} delivered; contact erased after {prize.erase_after:%Y-%m-%d}")
    return 0


def _flags(args: argparse.Namespace, config: Config) -> int:
    from bot.infra.store import build_store
    from bot.services.quiz import rounds

    with _session(config) as session:
        if args.action == "review":
            if args.round_id is None or not args.by or not (args.clear or args.keep):
                sys.stderr.write("error: flags review ROUND_ID --by NAME (--clear | --keep)\n")
                return 2
            rnd = rounds.review_flag(session, build_store(config.redis.url), args.round_id, by=args.by,
                                     now=_now(config), clear=args.clear)
            out(f"round #{rnd.id}: {'restored' if args.clear else 'kept out'} (reviewed by {args.by})")
            return 0
        for rnd in rounds.flagged_rounds(session, include_reviewed=args.all):
            out(f"round #{rnd.id}  {rnd.openid}  {rnd.finished_at:%Y-%m-%d %H:%M}  {rnd.score}/{rnd.total}  "
                f"{rnd.flag_reason}" + (f"  reviewed by {rnd.flag_reviewed_by}" if rnd.flag_reviewed_by else ""))
    return 0


def _housekeeping(args: argparse.Namespace, config: Config) -> int:
    from bot.services.quiz import claims, rounds

    now = _now(config)
    with _session(config) as session:
        expired = rounds.expire_idle_rounds(session, config.quiz, now)
        lapsed = claims.expire_unclaimed(session, now)
        erased = claims.erase_claim_contacts(session, now)
    out(f"rounds expired: {expired}; prizes lapsed: {lapsed}; claim contacts erased: {erased}")
    return 0
