"""Reporters and winners must not be linkable (issue 17, items 5–9): what the database, the store
and the logs hold about a citizen, read the way an attacker without the identity key would."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import command

from bot.migrate import alembic_config
from bot.models import Citizen as CitizenRow
from bot.models import Delivery, ReportPhoto
from bot.models.quiz import QuizAnswer, QuizRound
from bot.services.reports.identity import vault_of
from tests.quiz_helpers import current_question, right
from tests.reports_helpers import file_report
from tests.wechat import Citizen


def unkeyed_sender(openid: str) -> str:
    """What the old code stored as a message's sender: anyone with a list of openids computes it."""
    return hashlib.sha256(openid.encode()).hexdigest()[:16]


def stored_message_keys(session: sa.orm.Session) -> list[str]:
    return [*session.scalars(sa.select(ReportPhoto.msg_key)), *session.scalars(sa.select(QuizRound.start_key)),
            *session.scalars(sa.select(QuizAnswer.message_key)), *session.scalars(sa.select(Delivery.key))]


def play_round(citizen: Citizen, bot, clock) -> None:  # noqa: ANN001
    citizen.says("答题")
    for _ in range(5):
        clock.advance(seconds=12)
        citizen.says(right(current_question(bot, citizen.openid)))


# --- 7. keyed hashes ---------------------------------------------------------------------------

def test_the_citizens_table_does_not_find_a_reporters_photos_or_answers(citizen, bot, clock) -> None:  # noqa: ANN001
    file_report(citizen, photos=2)
    play_round(citizen, bot, clock)
    with bot.db.session() as s:
        openids = list(s.scalars(sa.select(CitizenRow.openid)))
        keys = stored_message_keys(s)
    assert citizen.openid in openids and len(keys) >= 8  # 2 photos, a round and its 5 answers
    # The attack: hash every openid in the citizens table and look the hashes up.
    guesses = {unkeyed_sender(openid) for openid in openids}
    assert [key for key in keys if any(guess in key for guess in guesses)] == []
    # With the identity key the bot still recognises its own keys (retries of the same message).
    mine = vault_of(bot).sender(citizen.openid)
    assert sum(mine in key for key in keys) >= 8


def test_the_migration_replaces_unkeyed_message_keys(citizen, bot, clock, database_url) -> None:  # noqa: ANN001
    file_report(citizen, photos=1)
    play_round(citizen, bot, clock)
    old = f"msg:{unkeyed_sender(citizen.openid)}:123"
    with bot.db.session() as s:
        photo = s.scalars(sa.select(ReportPhoto)).one()
        rnd = s.scalars(sa.select(QuizRound)).one()
        answers = s.scalars(sa.select(QuizAnswer.id).order_by(QuizAnswer.id)).all()
        # As rows written before the upgrade look:
        s.execute(sa.update(ReportPhoto).values(msg_key=old))
        s.execute(sa.update(QuizRound).values(start_key=f"evt:{unkeyed_sender(citizen.openid)}:1:click:QUIZ"))
        s.commit()
    for engine in bot.db.engines:
        engine.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0010_prize_contacts_sealed")
    command.upgrade(config, "heads")
    with bot.db.session() as s:
        assert s.scalar(sa.select(ReportPhoto.msg_key)) == f"legacy:{photo.id}"
        assert s.scalar(sa.select(QuizRound.start_key)) == f"legacy:{rnd.id}"
        # Every key present at the upgrade was written by the old code: all are replaced.
        assert s.scalars(sa.select(QuizAnswer.message_key).order_by(QuizAnswer.id)).all() == [
            f"legacy:{i}" for i in answers]
        assert not [key for key in stored_message_keys(s) if unkeyed_sender(citizen.openid) in key]
