"""Alembic, driven from code: `python -m bot db upgrade` and the test fixtures call this."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from bot.db import ensure_sqlite_dir
from bot.runtime import PROJECT_ROOT


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    ensure_sqlite_dir(url)
    # "heads": each feature's migrations hang off the foundation as their own branch.
    command.upgrade(alembic_config(url), "heads")
