"""Backups: the database, the evidence files and a manifest — never the keys.

`python -m bot backup DIR` writes into a new folder:
- `database.pgdump` (PostgreSQL: `pg_dump --format=custom`) or `database.sqlite3` (SQLite's online
  backup API, consistent while the service runs);
- `evidence/`: the photo store ([reports] photo_dir) as it is;
- `manifest.json`: the release, the schema revisions, a checksum of content/, and a SHA-256 of
  every file, so a restore can tell a whole backup from a damaged one.

The identity key and the other secrets are not in it: sealed contacts stay sealed in the dump, and
a backup without the key reveals no reporter. `python -m bot restore DIR` loads one into an empty
database (and an empty photo store), then brings the schema up to date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.config import PROJECT_ROOT, Config, ConfigError
from bot.infra.db import make_engine
from bot.infra.migrate import alembic_config, upgrade
from bot.version import VERSION

MANIFEST = "manifest.json"
EVIDENCE = "evidence"
FORMAT = 1


class BackupError(ConfigError):
    """A backup that cannot be written or restored, said in one line."""


@dataclasses.dataclass(frozen=True)
class Manifest:
    format: int
    version: str
    created_at: str
    database: str  # "postgresql" | "sqlite"
    schema_revisions: list[str]
    content_sha256: str
    files: dict[str, str]  # path inside the backup → SHA-256

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            return cls(**raw)
        except FileNotFoundError:
            raise BackupError(f"{folder} holds no {MANIFEST}: not a backup of this program") from None
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{folder / MANIFEST} is damaged ({exc.__class__.__name__})") from None


def backup(config: Config, folder: Path, now: dt.datetime, photos: Path) -> Manifest:
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: give each backup a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    url = config.database.url
    kind = _kind(url)
    if kind == "sqlite":
        _sqlite_copy(_sqlite_path(url), folder / "database.sqlite3")
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={folder / 'database.pgdump'}"],
             url, "pg_dump")
    if photos.is_dir():
        shutil.copytree(photos, folder / EVIDENCE)
    manifest = Manifest(FORMAT, VERSION, now.isoformat(), kind, current_revisions(url),
                        content_checksum(PROJECT_ROOT / config.content.dir), _checksums(folder))
    (folder / MANIFEST).write_text(json.dumps(dataclasses.asdict(manifest), ensure_ascii=False, indent=2),
                                   encoding="utf-8")
    return manifest


def restore(config: Config, folder: Path, photos: Path) -> Manifest:
    manifest = Manifest.read(folder)
    _verify(folder, manifest)
    url = config.database.url
    if manifest.database != _kind(url):
        raise BackupError(f"this backup is of a {manifest.database} database; [database] url is {_kind(url)}")
    newer = sorted(set(manifest.schema_revisions) - known_revisions(url))
    if newer:
        raise BackupError(f"the backup is newer than this code (schema revision {', '.join(newer)}): "
                          f"restore it with release {manifest.version} or later")
    if table_names(url):
        raise BackupError("the database is not empty: restore only into a new, empty database")
    if photos.is_dir() and any(photos.iterdir()):
        raise BackupError(f"the photo store {photos} is not empty: restore into an empty one")
    if manifest.database == "sqlite":
        _sqlite_copy(folder / "database.sqlite3", _sqlite_path(url))
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", str(folder / "database.pgdump")],
             url, "pg_restore")
    if (folder / EVIDENCE).is_dir():
        shutil.copytree(folder / EVIDENCE, photos, dirs_exist_ok=True)
    upgrade(url)  # a backup of an older release comes up to this code's schema
    return manifest


def current_revisions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def known_revisions(url: str) -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()}


def table_names(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def content_checksum(folder: Path) -> str:
    """One SHA-256 over content/'s files (names and bytes), to tell which content a backup ran with."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _checksums(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): _sha256(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != MANIFEST}


def _verify(folder: Path, manifest: Manifest) -> None:
    if manifest.format != FORMAT:
        raise BackupError(f"backup format {manifest.format} is not one this release reads ({FORMAT})")
    found = _checksums(folder)
    missing = sorted(set(manifest.files) - set(found))
    changed = sorted(name for name, digest in manifest.files.items() if name in found and found[name] != digest)
    if missing or changed:
        names = ", ".join((missing + changed)[:3])
        raise BackupError(f"the backup is damaged: {len(missing)} files missing, {len(changed)} changed ({names})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _kind(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError("backups support SQLite and PostgreSQL databases only")


def _sqlite_path(url: str) -> Path:
    path = Path(url.split("///", 1)[1])
    return path if path.is_absolute() else PROJECT_ROOT / path


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the service writes (WAL included)."""
    if not source.exists():
        raise BackupError(f"database file {source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _run(argv: list[str], url: str, what: str) -> None:
    """pg_dump / pg_restore on the configured database; its password goes by the environment
    (PGPASSWORD), never on a command line that `ps` shows."""
    parsed = sa.engine.make_url(url)
    env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
    target = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        done = subprocess.run([*argv, f"--dbname={target}"], capture_output=True, text=True, timeout=3600, env=env)
    except FileNotFoundError:
        raise BackupError(f"{what} is not installed (Debian: apt-get install postgresql-client)") from None
    if done.returncode != 0:
        # pg_dump's own message names the database and the problem; it never prints the password.
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed: {last}")
