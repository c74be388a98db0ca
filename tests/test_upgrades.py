"""Upgrades: the release number, and `db upgrade` refusing a database that a newer release upgraded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.infra.migrate import DatabaseNewerThanCode, unknown_revisions, upgrade
from bot.version import VERSION

ROOT = Path(__file__).resolve().parent.parent


def test_version_is_printed_and_named_in_the_changelog() -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == f"python -m bot {VERSION}"
    assert f"## {VERSION}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def _stamp_future_revision(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0999_from_a_newer_release')"))
    engine.dispose()


def test_upgrade_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.infra.db'}"
    upgrade(url)
    assert unknown_revisions(url) == []
    _stamp_future_revision(url)
    with pytest.raises(DatabaseNewerThanCode, match="0999_from_a_newer_release"):
        upgrade(url)


def test_db_upgrade_command_says_so_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.infra.db'}"
    upgrade(url)
    _stamp_future_revision(url)
    done = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "BOT_DATABASE_URL": url}, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith("error: the database is newer than this code")
    assert "Traceback" not in done.stderr
