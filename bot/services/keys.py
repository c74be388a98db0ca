"""Key custody: `python -m bot keys check` and `python -m bot keys rotate`.

Every column sealed with the identity vault is listed in SEALED with the field name its
ciphertexts are bound to. `check` opens each stored value (or a sample of each column) and counts
what it could not open: after a restore, or before a key rotation, it tells whether the key in the
environment is the one the data was sealed with.

`rotate` re-seals every value of SEALED, and every sealed value in the store (STORE_SEALED), with
the new `[security] identity_key`, opening it with the key that sealed it (the new one or `[security] previous_identity_key`). What a rotation does to
each thing the identity key protects (README, Key custody):
- sealed columns (reports' openid, name, phone; drafts' name, phone; prize claimants' name, phone):
  re-sealed here, in batches committed one by one. A value records the key that sealed it
  (`v2:<key id>:`), so a run that was stopped continues where it stopped, and a value the running
  bot changed meanwhile (compare-and-set) is left as the bot wrote it.
- keyed hashes (owner hash, query-code hash, draw pseudonyms, report-notice keys, subscribe
  consents, sender tags): unchanged. Their keys (derived from the first identity key, and giving
  back neither it nor its AES key) are kept by the first rotation in the keyring (vault_keyring)
  sealed with the new key, and re-sealed by every later one. None of them needs recomputing, and
  what could not be recomputed (a query code stored only as its hash, an erased report's owner
  hash, a published draw list) keeps working with only the new key.
- values sealed in the store (STORE_SEALED: replies kept for WeChat's retries, a prize claim's
  contact between two messages): re-sealed here too, after the columns, with the same counts. Each
  is written back only if it still holds what was read (the store's compare-and-set), keeping its
  remaining time to live; a run continues where it stopped, as for the columns. The in-process
  store lives in the bot's own process and is emptied when it restarts with the new key: there is
  nothing in it for `keys rotate` to reach, nor anything left sealed with the old key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
from collections.abc import Callable

from sqlalchemy import ColumnElement, func, inspect, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.infra.db import Database
from bot.infra.store import Store
from bot.models import Report, ReportDraft
from bot.models.quiz import QuizPrize
from bot.models.vault import VaultKey
from bot.services.audit import audit
from bot.services.quiz.claims import CLAIM_FLOW, CLAIM_NAME, CLAIM_PHONE, NAME_FIELD, PHONE_FIELD
from bot.services.reports.identity import (
    HMAC_KEYS,
    REPLY_FIELD,
    SEALED_PREFIXES,
    IdentityError,
    IdentityVault,
    is_sealed,
    stored_hmac_keys,
)

log = logging.getLogger(__name__)

# (column, field the ciphertext is bound to). A new sealed column belongs here.
SEALED: tuple[tuple[InstrumentedAttribute, str], ...] = (
    (Report.openid_enc, "openid"),
    (Report.name_enc, "name"),
    (Report.phone_enc, "phone"),
    (ReportDraft.name_enc, "name"),
    (ReportDraft.phone_enc, "phone"),
    (QuizPrize.claimant_name, NAME_FIELD),
    (QuizPrize.claimant_phone, PHONE_FIELD),
)
ROTATE_ACTION, ROTATE_BEGIN_ACTION = "keys.rotate", "keys.rotate.begin"

# Conversation data the vault seals, by (flow, data key): a new sealed conversation value belongs here.
SEALED_CONVERSATION_DATA = {(CLAIM_FLOW, "name"): CLAIM_NAME, (CLAIM_FLOW, "phone"): CLAIM_PHONE}


def _kept_reply(value: str) -> list[tuple[str, str]]:
    return [(REPLY_FIELD, value)] if is_sealed(value) else []


def _conversation(value: str) -> list[tuple[str, str]]:
    saved = json.loads(value)
    flow = (saved.get("state") or "").split(":", 1)[0]
    data = saved.get("data") or {}
    return [(field, data[key]) for (in_flow, key), field in SEALED_CONVERSATION_DATA.items()
            if in_flow == flow and isinstance(data.get(key), str) and is_sealed(data[key])]


@dataclasses.dataclass(frozen=True)
class StoreSealed:
    """Values the vault seals into the store: the keys under `prefix`; `parts` gives each sealed
    token of a value with the field it is bound to."""

    prefix: str
    what: str
    parts: Callable[[str], list[tuple[str, str]]]


# Every store key whose value holds something sealed (bot/chat/pipeline.py, bot/chat/gate.py, handlers/prize_claim.py).
STORE_SEALED: tuple[StoreSealed, ...] = (
    StoreSealed("dedupe:", "replies kept for WeChat's retries", _kept_reply),
    StoreSealed("conv:", "conversations: a prize claim's contact", _conversation),
)


@dataclasses.dataclass(frozen=True)
class ColumnCheck:
    column: str
    checked: int
    unreadable: int


def column_name(column: InstrumentedAttribute) -> str:
    return f"{column.class_.__tablename__}.{column.key}"


def _sealed(column: InstrumentedAttribute) -> ColumnElement[bool]:
    return or_(*(column.like(prefix + "%") for prefix in SEALED_PREFIXES))


def check(session: Session, vault: IdentityVault, sample: int = 0) -> list[ColumnCheck]:
    """Open the sealed values of every column (the first `sample` of each, 0 = all)."""
    results = []
    for column, field in SEALED:
        query = select(column).where(_sealed(column)).order_by(column)
        if sample:
            query = query.limit(sample)
        checked = unreadable = 0
        for value in session.scalars(query):
            checked += 1
            try:
                vault.decrypt(field, value)
            except IdentityError:
                unreadable += 1
        results.append(ColumnCheck(column_name(column), checked, unreadable))
    results.append(_check_owner_hashes(session, vault, sample))
    return results


def _check_owner_hashes(session: Session, vault: IdentityVault, sample: int) -> ColumnCheck:
    """The keyed hashes' keys are the ones the reports were filed with: each report's owner hash is
    the hash of its sealed openid (else 我的举报 would find nothing)."""
    query = select(Report.owner, Report.openid_enc).where(Report.openid_enc.is_not(None)).order_by(Report.id)
    checked = wrong = 0
    for owner, sealed in session.execute(query.limit(sample) if sample else query):
        try:
            openid = vault.decrypt("openid", sealed)
        except IdentityError:
            continue  # counted with reports.openid_enc
        checked += 1
        wrong += openid is None or vault.owner(openid) != owner
    return ColumnCheck("reports.owner (keyed hash of the openid)", checked, wrong)


@dataclasses.dataclass
class ColumnRotation:
    column: str
    pending: int  # not sealed with the new key when the run began
    resealed: int = 0
    unreadable: int = 0  # opened with neither key: left as they are
    changed: int = 0  # changed by the running bot meanwhile: left as the bot wrote them


@dataclasses.dataclass
class Rotation:
    key_id: str
    columns: list[ColumnRotation]
    batches: int
    stored: list[ColumnRotation] = dataclasses.field(default_factory=list)  # STORE_SEALED's, when a store is given

    @property
    def unreadable(self) -> int:
        return sum(c.unreadable for c in self.columns + self.stored)

    def counts(self) -> dict[str, int]:
        parts = self.columns + self.stored
        return {"pending": sum(c.pending for c in parts), "resealed": sum(c.resealed for c in parts),
                "unreadable": self.unreadable, "changed_meanwhile": sum(c.changed for c in parts)}


Progress = Callable[[int, int, str], None]  # (batches done, batches in all, column)


def _pending(column: InstrumentedAttribute, vault: IdentityVault) -> ColumnElement[bool]:
    return _sealed(column) & ~column.like(vault.sealed_prefix + "%")


class RotationError(Exception):
    """The rotation cannot start; the message says what to do."""


def keep_hmac_keys(session: Session, vault: IdentityVault, now: dt.datetime) -> None:
    """The keyring holds the keyed hashes' keys sealed with the new key (first rotation: written)."""
    if not inspect(session.connection()).has_table(VaultKey.__tablename__):
        raise RotationError("the database has no keyring table yet: run `python -m bot db upgrade` first")
    stored = stored_hmac_keys(session.connection())
    if stored is None:
        _check_first_keys(session, vault)
        session.add(VaultKey(name=HMAC_KEYS, sealed=vault.sealed_hmac_keys(), updated_at=now))
    elif not stored.startswith(vault.sealed_prefix):
        session.execute(update(VaultKey).where(VaultKey.name == HMAC_KEYS)
                        .values(sealed=vault.sealed_hmac_keys(), updated_at=now))
    session.flush()


def _check_first_keys(session: Session, vault: IdentityVault, sample: int = 5) -> None:
    """Before the first rotation the HMAC keys come from the previous key: it must be the key the
    reports were filed with (their owner hashes say so), or the keyring would keep wrong keys for good."""
    opened = 0
    for report in session.scalars(select(Report).where(Report.openid_enc.is_not(None)).order_by(Report.id)
                                  .limit(sample)):
        try:
            openid = vault.decrypt("openid", report.openid_enc)
        except IdentityError:
            continue
        if openid is None or vault.owner(openid) != report.owner:
            raise RotationError("previous_identity_key is not the key this deployment's reports were filed with "
                                "(their owner hashes do not match); nothing was changed")
        opened += 1
    if session.scalar(select(func.count()).select_from(Report).where(Report.openid_enc.is_not(None))) and not opened:
        raise RotationError("neither identity_key nor previous_identity_key opens the reports' sealed openids "
                            "(is previous_identity_key the key the data is sealed with?); nothing was changed")


def rotate(database: Database, vault: IdentityVault, now: dt.datetime, *, batch_size: int = 500,
           progress: Progress | None = None, store: Store | None = None) -> Rotation:
    """Re-seal every sealed value with the vault's current key: the columns, one commit a batch,
    then the store's values (when `store` is given). The vault must open what is sealed (its
    previous key) and carry the keyring's HMAC keys (vault_for)."""
    # The keyring and the audit of the start are committed before the first batch re-seals anything.
    with database.transaction() as session:
        keep_hmac_keys(session, vault, now)
        columns = [ColumnRotation(column_name(column), session.scalar(
            select(func.count()).select_from(column.class_).where(_pending(column, vault))) or 0)
            for column, _field in SEALED]
        waiting = [_store_pending(store, part, vault) for part in STORE_SEALED] if store is not None else []
        stored = [ColumnRotation(f"store {part.prefix}* ({part.what})", len(keys))
                  for part, keys in zip(STORE_SEALED, waiting, strict=False)]
        rotation = Rotation(vault.key_id, columns, sum(math.ceil(c.pending / batch_size) for c in columns + stored),
                            stored)
        # Audited as it begins too: a run that is stopped leaves its trace.
        audit(session, "cli", ROTATE_BEGIN_ACTION, f"key:{vault.key_id}", after={"pending": rotation.counts()["pending"]},
              now=now)
    done = 0

    def batch_done(part: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, max(done, rotation.batches), part)

    for (column, field), counts in zip(SEALED, columns, strict=True):
        last_id = 0
        while True:
            with database.transaction() as session:  # one transaction a batch: a stopped run keeps what it did
                batch = _reseal_batch(session, vault, column, field, counts, last_id, batch_size)
            if batch is None:
                break
            last_id = batch
            batch_done(counts.column)
    for part, keys, counts in zip(STORE_SEALED, waiting, stored, strict=False):
        for start in range(0, len(keys), batch_size):
            for key in keys[start:start + batch_size]:
                _reseal_stored(store, vault, part, key, counts)  # type: ignore[arg-type]
            batch_done(counts.column)
    with database.transaction() as session:
        audit(session, "cli", ROTATE_ACTION, f"key:{vault.key_id}", after=rotation.counts(), now=now)
    log.info("identity key rotation to key %s: %s", vault.key_id, rotation.counts())
    return rotation


def _stale_parts(part: StoreSealed, value: str | None, vault: IdentityVault) -> list[tuple[str, str]]:
    """The value's sealed tokens not sealed with the current key."""
    if value is None:
        return []
    try:
        parts = part.parts(value)
    except (ValueError, AttributeError):  # not a value this part knows (not JSON, not an object)
        return []
    return [(field, token) for field, token in parts if not token.startswith(vault.sealed_prefix)]


def _store_pending(store: Store, part: StoreSealed, vault: IdentityVault) -> list[str]:
    """The keys of `part` holding a value not sealed with the current key, as the run begins."""
    return [key for key in store.scan(part.prefix) if _stale_parts(part, store.get(key), vault)]


def _reseal_stored(store: Store, vault: IdentityVault, part: StoreSealed, key: str, counts: ColumnRotation) -> None:
    value = store.get(key)
    stale = _stale_parts(part, value, vault)
    if not stale:  # expired, dropped or rewritten by the running bot since the run began
        counts.changed += 1
        return
    try:
        opened = [(token, vault.decrypt(field, token) or "", field) for field, token in stale]
    except IdentityError:
        counts.unreadable += 1
        return
    resealed = value
    for token, plain, field in opened:  # a sealed token (base64) appears once, verbatim, in its value
        resealed = resealed.replace(token, vault.encrypt(field, plain))  # type: ignore[union-attr]
    # Compare-and-set, keeping the key's time to live: what the bot wrote meanwhile stays as it wrote it.
    if store.replace_if_equals(key, value, resealed):  # type: ignore[arg-type]
        counts.resealed += 1
    else:
        counts.changed += 1


def _reseal_batch(session: Session, vault: IdentityVault, column: InstrumentedAttribute, field: str,
                  counts: ColumnRotation, after_id: int, size: int) -> int | None:
    """Re-seal the next batch of the column after row `after_id`; the batch's last row id, or None
    when nothing is left."""
    model = column.class_
    rows = session.execute(select(model.id, column).where(_pending(column, vault), model.id > after_id)
                           .order_by(model.id).limit(size)).all()
    for row_id, value in rows:
        try:
            opened = vault.decrypt(field, value)
        except IdentityError:
            counts.unreadable += 1
            continue
        # Compare-and-set: a value the bot rewrote since it was read stays as the bot wrote it.
        written = session.execute(update(model).where(model.id == row_id, column == value)
                                  .values({column.key: vault.encrypt(field, opened or "")})
                                  .execution_options(synchronize_session=False))
        if written.rowcount == 1:
            counts.resealed += 1
        else:
            counts.changed += 1
    return rows[-1][0] if rows else None
