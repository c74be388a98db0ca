"""Backups and key custody: a backup restores into an empty database with its sealed contacts,
holds no secret and no contact in clear, and refuses what would lose or mix data (issue 19 items 3-4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from bot.infra.backup import MANIFEST, BackupError, backup, restore
from bot.infra.db import Database
from bot.models import Report
from bot.services.keys import check
from bot.services.reports.identity import vault_for
from tests.reports_helpers import file_report
from tests.services import PG_ADMIN_URL
from tests.settings import make_config

ROOT = Path(__file__).resolve().parent.parent
CONTACT_NAME, CONTACT_PHONE = "张三", "13800138000"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return tmp_path / "photos"


@pytest.fixture
def config(database_url: str, photos: Path):
    return make_config(database_url, reports={"photo_dir": str(photos)},
                       security={"identity_key": "identity-key-of-the-backup-tests-0123456789"})


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the run's kind to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'bot.infra.db'}"
        return
    name = f"smb_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _filed(citizen, photos: Path) -> str:
    ticket, _code = file_report(citizen, contact=f"{CONTACT_NAME} {CONTACT_PHONE}")
    photos.mkdir(parents=True, exist_ok=True)
    (photos / f"{ticket}-1.jpg").write_bytes(b"\xff\xd8\xff\xe0 evidence")
    return ticket


def test_a_backup_restores_with_its_sealed_contact(config, citizen, clock, photos, empty_database,
                                                   tmp_path: Path) -> None:
    ticket = _filed(citizen, photos)
    folder = tmp_path / "backup"
    manifest = backup(config, folder, clock.now(), photos)
    assert manifest.schema_revisions and manifest.content_sha256 and f"evidence/{ticket}-1.jpg" in manifest.files

    restored = config.replace(database={"url": empty_database})
    restored_photos = tmp_path / "restored-photos"
    restore(restored, folder, restored_photos)

    database = Database(empty_database)
    try:
        with database.session() as session:
            report = session.scalars(select(Report).where(Report.ticket == ticket)).one()
            vault = vault_for(restored)
            assert vault.decrypt("name", report.name_enc) == CONTACT_NAME
            assert vault.decrypt("phone", report.phone_enc) == CONTACT_PHONE
            assert all(result.unreadable == 0 for result in check(session, vault))
            assert sum(result.checked for result in check(session, vault)) >= 3
    finally:
        database.dispose()
    assert (restored_photos / f"{ticket}-1.jpg").read_bytes() == b"\xff\xd8\xff\xe0 evidence"


def test_a_backup_holds_no_key_and_no_contact_in_clear(config, citizen, clock, photos, tmp_path: Path) -> None:
    _filed(citizen, photos)
    folder = tmp_path / "backup"
    backup(config, folder, clock.now(), photos)
    secrets = [config.security.identity_key, config.wechat.app_secret, config.wechat.token,
               config.wechat.encoding_aes_key, config.server.secret_key]
    assert all(secrets)
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a secret is in {path.name}"
            for clear in (CONTACT_NAME, CONTACT_PHONE):
                assert clear.encode() not in data, f"a sealed contact is in clear in {path.name}"


def test_restore_refuses_a_database_that_is_not_empty(config, citizen, clock, photos, tmp_path: Path) -> None:
    _filed(citizen, photos)
    folder = tmp_path / "backup"
    backup(config, folder, clock.now(), photos)
    with pytest.raises(BackupError, match="not empty"):
        restore(config, folder, tmp_path / "other-photos")


def test_restore_refuses_a_damaged_or_newer_backup(config, citizen, clock, photos, empty_database,
                                                   tmp_path: Path) -> None:
    _filed(citizen, photos)
    target = config.replace(database={"url": empty_database})
    damaged = tmp_path / "damaged"
    backup(config, damaged, clock.now(), photos)
    evidence = next((damaged / "evidence").iterdir())
    evidence.write_bytes(b"changed")
    with pytest.raises(BackupError, match="damaged"):
        restore(target, damaged, tmp_path / "p1")

    newer = tmp_path / "newer"
    backup(config, newer, clock.now(), photos)
    manifest = json.loads((newer / MANIFEST).read_text(encoding="utf-8"))
    manifest["schema_revisions"].append("0999_from_a_newer_release")
    (newer / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BackupError, match="newer than this code"):
        restore(target, newer, tmp_path / "p2")


def test_backup_refuses_a_folder_in_use(config, clock, photos, tmp_path: Path) -> None:
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "something").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backup(config, folder, clock.now(), photos)


def _keys_check(config, key: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOT_DATABASE_URL": config.database.url, "BOT_SECURITY_IDENTITY_KEY": key}
    return subprocess.run([sys.executable, "-m", "bot", "keys", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_keys_check_tells_a_wrong_key(config, citizen, photos) -> None:
    _filed(citizen, photos)
    right = _keys_check(config, config.security.identity_key)
    assert right.returncode == 0, right.stderr
    assert "reports.name_enc: 1 of 1 opened" in right.stdout
    wrong = _keys_check(config, "another-key-that-sealed-nothing-here")
    assert wrong.returncode == 1
    assert "do not open with the configured identity key" in wrong.stderr
