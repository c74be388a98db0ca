"""Alembic, driven from code: `python -m bot db upgrade` and the test fixtures call this."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.config import PROJECT_ROOT, ConfigError
from bot.infra.db import ensure_sqlite_dir, make_engine


class DatabaseNewerThanCode(ConfigError):
    """The database carries a schema revision this code does not know: it was upgraded by a newer release."""


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def unknown_revisions(url: str) -> list[str]:
    """Revisions recorded in the database that this code's migrations do not contain."""
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()}
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return sorted(set(current) - known)


def upgrade(url: str) -> None:
    ensure_sqlite_dir(url)
    # Running old code's migrations on a newer schema would stamp it wrongly or fail half-way:
    # after a rollback of the code, restore the backup taken before the upgrade instead.
    newer = unknown_revisions(url)
    if newer:
        raise DatabaseNewerThanCode(
            f"the database is newer than this code (unknown schema revision {', '.join(newer)}): "
            "install the release that upgraded it, or restore the backup taken before that upgrade")
    # "heads": each feature's migrations hang off the foundation as their own branch.
    command.upgrade(alembic_config(url), "heads")
