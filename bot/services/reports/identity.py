"""The reporter's identity at rest: encrypted openid, name and phone; a keyed HMAC of the openid.

Keys are derived from `[security] identity_key` (env BOT_SECURITY_IDENTITY_KEY) with HKDF-SHA256,
one per purpose, so the HMAC key cannot decrypt and the cipher key cannot be guessed from hashes.
Ciphertext is AES-256-GCM bound to the column it belongs in (associated data), so a name cannot be
pasted into the phone column. Nothing here logs a value.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config

if TYPE_CHECKING:
    from bot.runtime import Bot
from bot.models.reports import Report, ReportStatus

PREFIX = "v1:"
SENDER_TAG = "openid/sender"  # the purpose of Inbound.sender (dedupe keys, log lines)
FINAL_STATUSES = (ReportStatus.CLOSED, ReportStatus.REJECTED)


class IdentityError(Exception):
    """A ciphertext could not be decrypted (wrong key, or tampered)."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"safety-month-bot", info=purpose).derive(secret)


class IdentityVault:
    def __init__(self, identity_key: str) -> None:
        if not identity_key:
            raise ValueError("identity key is empty")
        secret = identity_key.encode("utf-8")
        self._aead = AESGCM(_derive(secret, b"reports/identity/aes-gcm/v1"))
        self._owner_key = _derive(secret, b"reports/owner/hmac/v1")
        self._code_key = _derive(secret, b"reports/query-code/hmac/v1")
        self._secret = secret
        self._tag_keys: dict[str, bytes] = {}
        self._sender_key = self._tag_key(SENDER_TAG)

    def encrypt(self, field: str, value: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), field.encode("ascii"))
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, field: str, token: str | None) -> str | None:
        if token is None:
            return None
        if not token.startswith(PREFIX):
            raise IdentityError(f"unknown ciphertext format in {field}")
        raw = base64.b64decode(token[len(PREFIX):])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], field.encode("ascii")).decode("utf-8")
        except InvalidTag:
            raise IdentityError(f"cannot decrypt {field} (wrong key?)") from None

    def owner(self, openid: str) -> str:
        """Finds a citizen's reports without storing (or decrypting) the openid."""
        return hmac.new(self._owner_key, openid.encode("utf-8"), hashlib.sha256).hexdigest()

    def code_hash(self, code: str) -> str:
        return hmac.new(self._code_key, code.upper().encode("utf-8"), hashlib.sha256).hexdigest()

    def code_matches(self, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.code_hash(code), stored)

    def open_if_sealed(self, field: str, value: str) -> str:
        """A value sealed by `encrypt`, opened; a plain one (kept before it was sealed) as it is."""
        return self.decrypt(field, value) if value.startswith(PREFIX) else value  # type: ignore[return-value]

    def keyed_tag(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 (hex) of `value` under a key of its own for `purpose`: what stands in for an
        openid (or a ticket) wherever one would be stored or logged. Without the identity key nobody
        can recompute it from a list of openids, and one purpose's tags say nothing about another's."""
        return hmac.digest(self._tag_key(purpose), value.encode("utf-8"), "sha256").hex()

    def sender(self, openid: str) -> str:
        """The short keyed stand-in for a message's sender in dedupe keys (stored beside reports'
        photos and quiz answers) and in log lines; 64 bits, one per citizen."""
        return hmac.digest(self._sender_key, openid.encode("utf-8"), "sha256").hex()[:16]

    def _tag_key(self, purpose: str) -> bytes:
        key = self._tag_keys.get(purpose)
        if key is None:
            key = self._tag_keys[purpose] = _derive(self._secret, f"tags/{purpose}/hmac/v1".encode("ascii"))
        return key


def vault_for(config: Config) -> IdentityVault:
    """Production requires a real key (config validation); dev and tests derive one from the token."""
    return IdentityVault(config.security.identity_key or "dev-only-identity:" + config.wechat.token)


def vault_of(bot: Bot) -> IdentityVault:
    """The process's vault, derived once per Bot (three key derivations) and shared by the report
    and prize-claim handlers and the console."""
    vault = bot.extensions.get("reports.vault")
    if vault is None:
        vault = bot.extensions["reports.vault"] = vault_for(bot.config)
    return vault


@dataclasses.dataclass(frozen=True)
class Identity:
    openid: str | None
    name: str | None
    phone: str | None
    anonymous: bool


def reveal(vault: IdentityVault, report: Report) -> Identity:
    return Identity(vault.decrypt("openid", report.openid_enc), vault.decrypt("name", report.name_enc),
                    vault.decrypt("phone", report.phone_enc), report.anonymous)


def reporter_openid(vault: IdentityVault, report: Report) -> str | None:
    """Where to send status notices; None once the contact data is erased."""
    return vault.decrypt("openid", report.openid_enc)


def erase_old_contacts(session: Session, now: dt.datetime, retention_days: int,
                       vault: IdentityVault | None = None) -> int:
    """Erase the name, phone and openid of reports closed more than `retention_days` ago; keep the report.
    With the vault, their notices' outbox rows (which held the openid as recipient) are deleted too.

    The owner HMAC stays, so the citizen still finds the report under 我的举报 (it cannot be turned
    back into an openid). Returns how many reports were erased.
    """
    from bot.services import notices  # it imports the reports' lifecycle, which imports this module

    cutoff = now - dt.timedelta(days=retention_days)
    reports = session.scalars(select(Report).where(
        Report.status.in_(FINAL_STATUSES), Report.closed_at <= cutoff, Report.contact_erased_at.is_(None)))
    count = 0
    for report in reports:
        report.openid_enc = report.name_enc = report.phone_enc = None
        report.contact_erased_at = now
        if vault is not None:
            notices.purge_report(session, vault, report)
        count += 1
    session.flush()
    return count
