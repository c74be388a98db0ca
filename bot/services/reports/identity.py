"""The reporter's identity at rest: encrypted openid, name and phone; a keyed HMAC of the openid.

Keys are derived with HKDF-SHA256, one per purpose, so the HMAC key cannot decrypt and the cipher
key cannot be guessed from hashes. Ciphertext is AES-256-GCM bound to the column it belongs in
(associated data), so a name cannot be pasted into the phone column. Nothing here logs a value.

Two secrets, so that the identity key can be rotated (`python -m bot keys rotate`, bot/services/keys.py):
- the sealing key, `[security] identity_key` (env BOT_SECURITY_IDENTITY_KEY): its AES key seals and
  opens every value. A value sealed now reads `v2:<key id>:...`, the id a fingerprint of the key that
  sealed it; `v1:...` (sealed before key ids) is tried with each key given. During a rotation
  `[security] previous_identity_key` opens what the old key sealed.
- the HMAC keys of every keyed hash: reports' owner hash, query-code hashes, keyed tags (draw
  pseudonyms, report-notice keys in the outbox, subscribe consents) and sender tags (dedupe keys,
  log lines). They are derived from the first identity key the deployment had, and a rotation does
  not change them: a query code is stored only as its hash, an erased report keeps only its owner
  hash, a published draw list shows pseudonyms, so none of them could be recomputed under new keys.
  The first rotation keeps them in the database (table vault_keyring), sealed with the new identity
  key; they are HKDF outputs, so they give back neither the old key nor its AES key, and an old
  backup stays closed to whoever holds only the new key.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, create_engine, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot.config import Config
from bot.models.reports import Report, ReportStatus
from bot.models.vault import VaultKey

PREFIX = "v1:"  # sealed before key ids; which key sealed it is not recorded
KEYED_PREFIX = "v2:"  # v2:<key id>:<base64 nonce + ciphertext>
SEALED_PREFIXES = (PREFIX, KEYED_PREFIX)
HMAC_KEYS = "vault/hmac-keys"  # the keyring row (and the field its ciphertext is bound to)
SENDER_TAG = "openid/sender"  # the purpose of Inbound.sender (dedupe keys, log lines)
REPLY_FIELD = "dedupe-reply"  # a reply kept in the store for WeChat's retries (bot/chat/pipeline.py)
# Every purpose of keyed_tag: the first rotation keeps each one's key (a purpose missing here would
# get another key after it, and its stored tags would no longer match).
TAG_PURPOSES = (SENDER_TAG, "quiz/draw-entry", "outbox/report-notice", "openid/subscribe-consent")
_OWNER_INFO, _CODE_INFO = b"reports/owner/hmac/v1", b"reports/query-code/hmac/v1"
FINAL_STATUSES = (ReportStatus.CLOSED, ReportStatus.REJECTED)


class IdentityError(Exception):
    """A ciphertext could not be decrypted (wrong key, or tampered)."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"safety-month-bot", info=purpose).derive(secret)


def is_sealed(value: str | None) -> bool:
    return value is not None and value.startswith(SEALED_PREFIXES)


def key_id(identity_key: str) -> str:
    """The public fingerprint a sealed value carries of the key that sealed it (derived, so it
    tells nothing of the key)."""
    return _derive(identity_key.encode("utf-8"), b"vault/key-id/v1")[:4].hex()


class _SealingKey:
    def __init__(self, identity_key: str) -> None:
        self.id = key_id(identity_key)
        self.prefix = f"{KEYED_PREFIX}{self.id}:"
        self.aead = AESGCM(_derive(identity_key.encode("utf-8"), b"reports/identity/aes-gcm/v1"))

    def open(self, field: str, raw: bytes) -> str | None:
        try:
            return self.aead.decrypt(raw[:12], raw[12:], field.encode("ascii")).decode("utf-8")
        except InvalidTag:
            return None


def _tag_info(purpose: str) -> bytes:
    return f"tags/{purpose}/hmac/v1".encode("ascii")


@dataclasses.dataclass(frozen=True)
class HmacKeys:
    """The keys of every keyed hash. Derived from the identity key until the first rotation, which
    keeps them in the keyring: HKDF outputs, which give back neither the key they came from nor its
    AES key (an old backup stays closed to whoever holds only the new key). A purpose registered
    after that rotation derives from `spare`, random and kept with them."""

    owner: bytes
    code: bytes
    tags: dict[str, bytes]
    spare: bytes | None = None

    @classmethod
    def derive(cls, identity_key: str) -> HmacKeys:
        secret = identity_key.encode("utf-8")
        return cls(_derive(secret, _OWNER_INFO), _derive(secret, _CODE_INFO),
                   {purpose: _derive(secret, _tag_info(purpose)) for purpose in TAG_PURPOSES})

    def tag(self, purpose: str) -> bytes:
        if purpose not in TAG_PURPOSES:
            raise ValueError(f"keyed-tag purpose {purpose!r} is not in identity.TAG_PURPOSES")
        key = self.tags.get(purpose)
        if key is None:
            if self.spare is None:
                raise ValueError(f"no key for keyed-tag purpose {purpose!r}")
            key = _derive(self.spare, _tag_info(purpose))
        return key

    def to_json(self) -> str:
        b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
        return json.dumps({"owner": b64(self.owner), "code": b64(self.code), "spare": b64(self.spare or os.urandom(32)),
                           "tags": {purpose: b64(key) for purpose, key in self.tags.items()}}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HmacKeys:
        data = json.loads(text)
        raw = base64.b64decode
        return cls(raw(data["owner"]), raw(data["code"]), {p: raw(k) for p, k in data["tags"].items()},
                   raw(data["spare"]))


class IdentityVault:
    """Seals with `identity_key`; opens what it or `previous_key` sealed. The keyed hashes use
    `hmac_keys` (the keyring's, see vault_for), else those of the previous key during a first
    rotation, else those of the identity key itself (a deployment that never rotated)."""

    def __init__(self, identity_key: str, previous_key: str = "", hmac_keys: HmacKeys | None = None) -> None:
        if not identity_key:
            raise ValueError("identity key is empty")
        if previous_key == identity_key:
            raise ValueError("the previous identity key is the identity key")
        self._current = _SealingKey(identity_key)
        self._keys = [self._current] + ([_SealingKey(previous_key)] if previous_key else [])
        self._hmac = hmac_keys or HmacKeys.derive(previous_key or identity_key)
        self._sender_key = self._hmac.tag(SENDER_TAG)

    @property
    def key_id(self) -> str:
        """The id of the key new values are sealed with."""
        return self._current.id

    @property
    def sealed_prefix(self) -> str:
        """How every value sealed with the current key begins."""
        return self._current.prefix

    def encrypt(self, field: str, value: str) -> str:
        nonce = os.urandom(12)
        sealed = self._current.aead.encrypt(nonce, value.encode("utf-8"), field.encode("ascii"))
        return self._current.prefix + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, field: str, token: str | None) -> str | None:
        if token is None:
            return None
        if token.startswith(KEYED_PREFIX):
            kid, _, body = token[len(KEYED_PREFIX):].partition(":")
            candidates = [key for key in self._keys if key.id == kid]
        elif token.startswith(PREFIX):
            body, candidates = token[len(PREFIX):], self._keys
        else:
            raise IdentityError(f"unknown ciphertext format in {field}")
        raw = base64.b64decode(body)
        for key in candidates:
            opened = key.open(field, raw)
            if opened is not None:
                return opened
        raise IdentityError(f"cannot decrypt {field} (wrong key?)")

    def sealed_hmac_keys(self) -> str:
        """The keyed hashes' keys, sealed with the current key: what the keyring keeps (bot/services/keys.py)."""
        return self.encrypt(HMAC_KEYS, self._hmac.to_json())

    def owner(self, openid: str) -> str:
        """Finds a citizen's reports without storing (or decrypting) the openid."""
        return hmac.new(self._hmac.owner, openid.encode("utf-8"), hashlib.sha256).hexdigest()

    def code_hash(self, code: str) -> str:
        return hmac.new(self._hmac.code, code.upper().encode("utf-8"), hashlib.sha256).hexdigest()

    def code_matches(self, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.code_hash(code), stored)

    def open_if_sealed(self, field: str, value: str) -> str:
        """A value sealed by `encrypt`, opened; a plain one (kept before it was sealed) as it is."""
        return self.decrypt(field, value) if is_sealed(value) else value  # type: ignore[return-value]

    def keyed_tag(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 (hex) of `value` under a key of its own for `purpose`: what stands in for an
        openid (or a ticket) wherever one would be stored or logged. Without the identity key nobody
        can recompute it from a list of openids, and one purpose's tags say nothing about another's."""
        return hmac.digest(self._hmac.tag(purpose), value.encode("utf-8"), "sha256").hex()

    def sender(self, openid: str) -> str:
        """The short keyed stand-in for a message's sender in dedupe keys (stored beside reports'
        photos and quiz answers) and in log lines; 64 bits, one per citizen."""
        return hmac.digest(self._sender_key, openid.encode("utf-8"), "sha256").hex()[:16]



def open_hmac_keys(identity_key: str, previous_key: str, sealed: str) -> HmacKeys:
    """The keyring's keys, opened with either key given."""
    return HmacKeys.from_json(IdentityVault(identity_key, previous_key).decrypt(HMAC_KEYS, sealed) or "")


def stored_hmac_keys(connection: Connection) -> str | None:
    """The keyring's sealed HMAC keys; None before the first rotation (or before migration 0018)."""
    if not inspect(connection).has_table(VaultKey.__tablename__):
        return None
    return connection.scalar(select(VaultKey.sealed).where(VaultKey.name == HMAC_KEYS))


def build_vault(identity_key: str, previous_key: str, connection: Connection) -> IdentityVault:
    sealed = stored_hmac_keys(connection)
    keys = open_hmac_keys(identity_key, previous_key, sealed) if sealed else None
    return IdentityVault(identity_key, previous_key, keys)


def vault_for(config: Config, session: Session | None = None) -> IdentityVault:
    """Production requires a real key (config validation); dev and tests derive one from the token.
    The HMAC keys are read from the keyring through `session`, or else a connection of its own that
    takes no lock (SQLite: the caller may hold the write lock meanwhile)."""
    identity_key = config.security.identity_key or "dev-only-identity:" + config.wechat.token
    previous = config.security.previous_identity_key
    if session is not None:
        return build_vault(identity_key, previous, session.connection())
    engine = create_engine(config.database.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return build_vault(identity_key, previous, connection)
    finally:
        engine.dispose()


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
