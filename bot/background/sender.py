"""The sender: delivers due outbox rows to WeChat, with a lease, bounded concurrency and a rate cap.

A row's life: `pending` → claimed (`sending`, lease_until, lease_owner, attempts + 1, committed
before any call) → the call → `sent` / `failed` / `undeliverable` / back to `pending` with a later
not_before (transient error) — written only if this sender still holds the lease.

What a crash can and cannot do (the guarantee, stated exactly):
- Nothing is lost: every push is a row before it is sent; a claimed row whose sender died keeps
  `sending` until its lease expires, and is then settled by `recover_expired`.
- Nothing is sent twice: a row whose lease expired may have reached WeChat (the sender can die
  after WeChat accepted the message and before the row was marked), and WeChat's customer-service,
  template and subscribe APIs have no idempotency key. Such a row becomes `uncertain` and is never
  resent automatically; staff see it (`python -m bot outbox uncertain`) and may requeue it.
  Mass sends carry a `clientmsgid` made from the row (WeChat dedupes it for 24 hours) and tag
  changes are idempotent, so those rows simply go back to `pending`.
- The `uncertain` set after a crash is at most the rows in flight (≤ sender_concurrency) plus
  results not yet written (flushed every FLUSH_SECONDS); a graceful stop (SIGTERM, Ctrl-C)
  finishes the calls in flight and leaves none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update

from bot.clock import Clock
from bot.config import Config
from bot.infra.db import Database
from bot.infra.store import Store
from bot.models import Citizen, Delivery, DeliveryStatus
from bot.services import articles, notice_templates
from bot.services import subscribe_consents as consents
from bot.services import tags as tag_service
from bot.services.reports.identity import IdentityVault, vault_for
from bot.services.service_window import Window, active_since
from bot.wechat.api import (
    ANSWER_LOST,
    BUSY,
    CONNECT_FAILED,
    RATE_LIMITED,
    TOKEN_ERRORS,
    TokenUnavailable,
    WeChatAPI,
    WeChatAPIError,
)
from bot.wechat.replies import split_text

log = logging.getLogger(__name__)

T = Delivery.__table__

# Errors that say nothing about the message itself: try again later.
TRANSIENT = {BUSY, CONNECT_FAILED, *RATE_LIMITED, *TOKEN_ERRORS}
OUT_OF_WINDOW = {45015, 45047}
NOT_FOLLOWING = {43004}
MASS_QUOTA = 45028
CLIENT_MSG_ID_EXISTS = 45065
CLIENT_MSG_ID_TOO_FAST = 45066
DAILY_QUOTA = 45009
# Batch Sends, clientmsgid: a sendall retried with the same clientmsgid within a minute answers 45066
# ("请间隔1分钟重试"), so a mass send whose answer was lost is first retried a minute later.
MASS_RETRY_GAP = dt.timedelta(seconds=60)
# mass/get's msg_status values that mean the earlier send (named by a 45065) is real.
MASS_GOING = {"SEND_SUCCESS", "SENDING"}
PREVIEW_QUOTA_NOTE = "今天的群发预览次数已用完（微信每天最多 100 次），请明天再预览"
# Purposes whose calls may be repeated without harm.
IDEMPOTENT_PURPOSES = {"township_tag"}
# Template and subscribe messages are for service notices only, never broadcasts (2023 template
# message rules: 模板消息仅用于服务通知, no marketing); the others go as customer-service messages or not at all.
SERVICE_NOTICES = frozenset(notice_templates.PURPOSES)
TEMPLATE_DEDUPE = dt.timedelta(minutes=10)
FLUSH_SECONDS = 0.02
FLUSH_ROWS = 200


@dataclasses.dataclass(frozen=True)
class Recipient:
    """What the sender needs of a Citizen (a plain row: ORM objects cost too much per delivery)."""

    openid: str
    last_interaction_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    township: str | None
    window_event_at: dt.datetime | None = None
    window_event_kind: str | None = None

    @property
    def is_following(self) -> bool:
        return self.unsubscribed_at is None

    @property
    def window(self) -> Window:
        return Window(self.last_interaction_at, self.window_event_at, self.window_event_kind,
                      following=self.is_following)


@dataclasses.dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    openid: str | None
    audience: dict[str, Any] | None
    purpose: str
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime | None = None
    result: dict[str, Any] | None = None
    citizen: Recipient | None = None  # read in the claim's transaction: the 48-hour window, following
    # The citizen's allowance has room for this row as a customer-service message (decided at the
    # claim, in id order, counting what was sent and what is in flight: service_window.py).
    custom_allowed: bool = False
    # Bound for a template message: when its first try began (client_msg_id dedupes for 10 minutes).
    template_since: dt.datetime | None = None

    @property
    def idempotent(self) -> bool:
        return self.audience is not None or self.purpose in IDEMPOTENT_PURPOSES

    @property
    def mass_key(self) -> str:
        """What the clientmsgid is made from: the row's key and creation time, so that a new row with a
        reused key (after a database reset) never collides with a send WeChat still remembers."""
        created = self.created_at.isoformat() if self.created_at else ""
        return f"{self.key}|{created}"


@dataclasses.dataclass
class Outcome:
    id: int
    status: str
    channel: str | None = None
    errcode: int | None = None
    error: str | None = None
    msg_id: str | None = None
    not_before: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    uncount: bool = False  # the attempt never reached WeChat's message API: give it back


class RateLimiter:
    """A token bucket shared by the sender's threads: at most `rate` calls a second (burst of 1 s)."""

    def __init__(self, rate: float, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self._tokens = rate
        self._last = monotonic()
        self._monotonic, self._sleep = monotonic, sleep
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self._lock:
                now = self._monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait_for = (1 - self._tokens) / self.rate
            self._sleep(wait_for)


class Sender:
    def __init__(self, db: Database, api: WeChatAPI, store: Store, clock: Clock, config: Config,
                 townships: Any = None, owner: str | None = None) -> None:
        self.db, self.api, self.store, self.clock, self.config = db, api, store, clock, config
        self.townships = townships
        self.owner = owner or f"sender-{uuid.uuid4().hex[:12]}"
        self.concurrency = max(1, config.push.sender_concurrency)
        self.lease = dt.timedelta(seconds=config.push.lease_seconds)
        self.limiter = RateLimiter(config.push.rate_per_second)
        self._is_pg = db.engine.dialect.name == "postgresql"
        self._vault: IdentityVault | None = None

    @property
    def vault(self) -> IdentityVault:
        """Read once, at the first 订阅通知: consents are kept by a keyed hash of the openid."""
        if self._vault is None:
            self._vault = vault_for(self.config)
        return self._vault

    @classmethod
    def from_bot(cls, bot: Any, owner: str | None = None) -> Sender:
        return cls(bot.db, bot.extensions["api"], bot.store, bot.clock, bot.config,
                   townships=getattr(bot.content, "townships", None), owner=owner)

    # --- the database side ----------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due rows: marked `sending` under this sender's lease and committed."""
        now = self.clock.now()
        due = (select(T.c.id).where(T.c.status == DeliveryStatus.PENDING, T.c.not_before <= now)
               # Order by not_before alone: it is what ix_deliveries_due (status, not_before) yields, so
               # the LIMIT stops early; a tie-break on id made every claim sort all due rows.
               .order_by(T.c.not_before).limit(limit))
        if self._is_pg:
            due = due.with_for_update(skip_locked=True)  # several senders never wait for each other
        # On SQLite the engine begins every transaction with BEGIN IMMEDIATE: one writer at a time,
        # so this single UPDATE ... RETURNING is the compare-and-set.
        stmt = (update(T).where(T.c.id.in_(due.scalar_subquery()))
                .values(status=DeliveryStatus.SENDING, lease_until=now + self.lease, lease_owner=self.owner,
                        attempts=T.c.attempts + 1, channel=None)
                .returning(T.c.id, T.c.key, T.c.openid, T.c.audience, T.c.purpose, T.c.payload, T.c.attempts,
                           T.c.created_at, T.c.result))
        with self.db.engine.begin() as conn:
            rows = conn.execute(stmt).all()
            # In the same transaction: if this read fails, the claim is rolled back with it, and
            # no row is judged "outside the window" for want of its citizen.
            citizens = self._citizens(conn, {row.openid for row in rows if row.openid})
            personal = [row for row in rows if row.openid and row.audience is None and _is_message(row.payload)]
            sent = self._custom_sent(conn, {row.openid for row in personal}, {row.id for row in rows}, now)
            allowed = _allot(sorted(personal, key=lambda r: r.id), citizens, sent, now)
            since = self._bind_templates(conn, [r for r in personal if r.id not in allowed], now)
        return sorted((Claimed(*row, citizen=citizens.get(row.openid or ""), custom_allowed=row.id in allowed,
                               template_since=since.get(row.id)) for row in rows), key=lambda c: c.id)

    def _bind_templates(self, conn: Any, rows: list[Any], now: dt.datetime) -> dict[int, dt.datetime]:
        """Mark the rows that will go as template messages (channel "template", and when their first
        try began, kept across retries): recovery may then send them again within client_msg_id's
        10 minutes instead of calling them uncertain."""
        if self.config.wechat.account_type != "service":
            return {}
        since: dict[int, dt.datetime] = {}
        for row in rows:
            if row.purpose not in SERVICE_NOTICES or notice_templates.configured(self.config.push, row.purpose,
                                                                                 "template") is None:
                continue
            result = dict(row.result or {})
            first = dt.datetime.fromisoformat(result["template_since"]) if "template_since" in result else now
            result["template_since"] = first.isoformat()
            conn.execute(update(T).where(T.c.id == row.id).values(channel="template", result=result))
            since[row.id] = first
        return since

    @staticmethod
    def _custom_sent(conn: Any, openids: set[str], claimed: set[int], now: dt.datetime) -> dict[str, list[dt.datetime]]:
        """Customer-service messages each citizen was sent in the last 48 hours, plus their rows some
        other sender holds right now (counted as sent now: they may be)."""
        if not openids:
            return {}
        found: dict[str, list[dt.datetime]] = {openid: [] for openid in openids}
        rows = conn.execute(select(T.c.id, T.c.openid, T.c.status, T.c.sent_at, T.c.payload).where(
            T.c.openid.in_(openids),
            or_(and_(T.c.status == DeliveryStatus.SENT, T.c.channel == "custom", T.c.sent_at >= active_since(now)),
                T.c.status == DeliveryStatus.SENDING)))
        for row in rows:
            if row.id not in claimed:
                # A long text sent in parts spent one message of the allowance per part.
                messages = max(1, int((row.payload or {}).get("parts_sent", 1))) if row.status == DeliveryStatus.SENT else 1
                found[row.openid].extend([row.sent_at if row.status == DeliveryStatus.SENT else now] * messages)
        return found

    @staticmethod
    def _citizens(conn: Any, openids: set[str]) -> dict[str, Recipient]:
        if not openids:
            return {}
        table = Citizen.__table__
        found = conn.execute(select(table.c.openid, table.c.last_interaction_at, table.c.unsubscribed_at,
                                    table.c.township, table.c.window_event_at, table.c.window_event_kind)
                             .where(table.c.openid.in_(openids)))
        return {r.openid: Recipient(*r) for r in found}

    def record(self, outcomes: list[Outcome]) -> int:
        """Write results; a row whose lease this sender lost is left alone. Returns rows written."""
        if not outcomes:
            return 0
        stmt = (update(T).where(and_(T.c.id == bindparam("b_id"), T.c.lease_owner == self.owner,
                                     T.c.status == DeliveryStatus.SENDING))
                .values(status=bindparam("b_status"), channel=bindparam("b_channel"),
                        last_errcode=bindparam("b_errcode"), last_error=bindparam("b_error"),
                        wechat_msg_id=bindparam("b_msg_id"), sent_at=bindparam("b_sent_at"),
                        not_before=bindparam("b_not_before"), lease_until=None, lease_owner=None,
                        attempts=T.c.attempts - bindparam("b_uncount")))
        now = self.clock.now()
        params = [{"b_id": o.id, "b_status": o.status, "b_channel": o.channel, "b_errcode": o.errcode,
                   "b_error": o.error, "b_msg_id": o.msg_id, "b_sent_at": o.sent_at,
                   "b_not_before": o.not_before or now, "b_uncount": int(o.uncount)} for o in outcomes]
        with self.db.engine.begin() as conn:
            result = conn.execute(stmt, params)
        written = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(outcomes)
        if written < len(outcomes):
            log.warning("%d results not written: their lease had passed to recovery", len(outcomes) - written)
        return written

    def recover_expired(self) -> int:
        """Settle rows whose sender died: idempotent ones go back to pending, the others become uncertain."""
        now = self.clock.now()
        expired = and_(T.c.status == DeliveryStatus.SENDING, T.c.lease_until < now)
        # Audience rows have no openid (a JSON column holds "null", not NULL, so test openid).
        idempotent = or_(T.c.openid.is_(None), T.c.purpose.in_(IDEMPOTENT_PURPOSES))
        with self.db.engine.begin() as conn:
            retried = conn.execute(update(T).where(expired, idempotent).values(
                status=DeliveryStatus.PENDING, not_before=now, lease_until=None, lease_owner=None)).rowcount
            # A template message carries client_msg_id: within its 10 minutes, sending again is safe.
            templates = conn.execute(select(T.c.id, T.c.result).where(expired, ~idempotent, T.c.channel == "template"))
            fresh = [r.id for r in templates if template_retry_allowed((r.result or {}).get("template_since"), now)]
            if fresh:
                retried += conn.execute(update(T).where(T.c.id.in_(fresh)).values(
                    status=DeliveryStatus.PENDING, not_before=now, lease_until=None, lease_owner=None)).rowcount
            doubtful = conn.execute(update(T).where(expired, ~idempotent).values(
                status=DeliveryStatus.UNCERTAIN, lease_until=None, lease_owner=None,
                last_error="the sender stopped while this was at WeChat; it may have arrived, so it "
                           "was not resent (requeue it to send again)")).rowcount
        if retried or doubtful:
            log.warning("recovered expired leases: %d requeued (idempotent), %d uncertain", retried, doubtful)
        return retried + doubtful

    # --- one delivery -----------------------------------------------------------------------------

    def deliver(self, row: Claimed) -> Outcome:
        """Send one claimed row; never raises."""
        citizen = row.citizen
        try:
            if row.payload.get("type") == "tag":
                return self._tag(row, citizen)
            if row.audience is not None:
                return self._mass(row)
            if row.payload.get("via") == "preview":
                return self._preview(row)
            return self._personal(row, citizen)
        except WeChatAPIError as exc:
            return self._failure(row, None, exc)
        except (ValueError, FileNotFoundError, IsADirectoryError) as exc:
            # Raised before any call: the message itself cannot go (a mass text WeChat would refuse,
            # an article whose cover file is missing). Retrying would not change it.
            log.warning("delivery %s cannot be sent: %s", row.key, exc)
            return Outcome(row.id, DeliveryStatus.FAILED, error=f"cannot be sent: {exc}"[:500])
        except Exception as exc:
            log.exception("delivery %s failed unexpectedly", row.key)
            if row.idempotent:
                return self._retry(row, None, None, f"unexpected error: {type(exc).__name__}")
            # We cannot tell whether the call happened; do not risk sending it twice.
            return Outcome(row.id, DeliveryStatus.UNCERTAIN, error=f"unexpected error: {exc!r}"[:500])

    def _personal(self, row: Claimed, citizen: Recipient | None) -> Outcome:
        now = self.clock.now()
        if citizen is not None and not citizen.is_following:
            return Outcome(row.id, DeliveryStatus.UNDELIVERABLE, error="the citizen unfollowed the account")
        window_note = citizen.window.why_closed(now) if citizen is not None \
            else "对方从未给公众号发过消息，客服消息无法送达（只有用户发消息后的 48 小时内可以发送）"
        if citizen is not None and row.custom_allowed:
            parts = custom_parts(row.payload)
            done = int(row.payload.get("parts_sent", 0))
            try:
                for number in range(done, len(parts)):
                    self.limiter.acquire()
                    self.api.send_custom(row.openid, parts[number])  # type: ignore[arg-type]
                    if len(parts) > 1:
                        done = self._save_progress(row, number + 1)
                return Outcome(row.id, DeliveryStatus.SENT, channel="custom", sent_at=self.clock.now())
            except WeChatAPIError as exc:
                if exc.errcode not in OUT_OF_WINDOW:
                    return self._failure(row, "custom", exc)
                if done:  # some parts are with the citizen: the rest cannot go another way
                    return Outcome(row.id, DeliveryStatus.UNDELIVERABLE, channel="custom", errcode=exc.errcode,
                                   error=f"已发出 {len(parts)} 段中的前 {done} 段；其余各段被微信拒收"
                                         f"（{exc.errcode}：{exc.errmsg}）")
                window_note = (f"微信拒收客服消息（{exc.errcode}：" +
                               ("已超出 48 小时时限" if exc.errcode == 45015 else "客服消息条数已用完") + "）")
        if row.purpose not in SERVICE_NOTICES:
            return Outcome(row.id, DeliveryStatus.UNDELIVERABLE, error=f"{window_note}；这类消息不能改用模板消息发送")
        if self.config.wechat.account_type == "service":
            template = notice_templates.configured(self.config.push, row.purpose, "template")
            if template is not None:
                return self._call(row, "template", lambda: self.api.send_template(
                    row.openid, template.template_id, template.data(notice_fields(row.payload)),  # type: ignore[arg-type]
                    first_url(row.payload), client_msg_id=template_client_msg_id(row.key)))
            subscribe = notice_templates.configured(self.config.push, row.purpose, "subscribe")
            if subscribe is not None:
                return self._subscribe(row, subscribe, window_note)
        return Outcome(row.id, DeliveryStatus.UNDELIVERABLE,
                       error=f"{window_note}；本公众号没有配置模板消息或订阅通知，无法在窗口外通知")

    def _subscribe(self, row: Claimed, template: notice_templates.Template, window_note: str) -> Outcome:
        """A 订阅通知, only with the citizen's consent (one-time consents are used up by the send); a
        43101 answer withdraws the consent we recorded (bot/services/subscribe_consents.py)."""
        long_term = notice_templates.long_term(self.config.push, row.purpose)
        key = consents.citizen_key(self.vault, row.openid)  # type: ignore[arg-type]
        with self.db.engine.begin() as conn:
            taken = consents.take(conn, key, template.template_id, self.clock.now(), long_term=long_term)
        if not taken:
            return Outcome(row.id, DeliveryStatus.UNDELIVERABLE, error=f"{window_note}；{consents.NO_CONSENT}")
        outcome = self._call(row, "subscribe", lambda: self.api.send_subscribe(
            row.openid, template.template_id, template.data(notice_fields(row.payload))))  # type: ignore[arg-type]
        if outcome.errcode == consents.REFUSED_BY_WECHAT:
            with self.db.engine.begin() as conn:
                consents.refused(conn, key, template.template_id, self.clock.now())
            return Outcome(row.id, DeliveryStatus.UNDELIVERABLE, channel="subscribe", errcode=outcome.errcode,
                           error=f"{window_note}；{consents.REFUSED}")
        if outcome.status not in (DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN) and not long_term:
            with self.db.engine.begin() as conn:  # WeChat sent nothing: the one-time consent is still there
                consents.give_back(conn, key, template.template_id, self.clock.now())
        return outcome

    def _save_progress(self, row: Claimed, parts_sent: int) -> int:
        """Write how many parts of a long text have gone, before the next is sent: after a crash or a
        retry the row goes on from there and never sends a part twice (only while this sender holds it)."""
        payload = {**row.payload, "parts_sent": parts_sent}
        with self.db.engine.begin() as conn:
            conn.execute(update(T).where(T.c.id == row.id, T.c.lease_owner == self.owner,
                                         T.c.status == DeliveryStatus.SENDING).values(payload=payload))
        row.payload["parts_sent"] = parts_sent
        return parts_sent

    def _mass(self, row: Claimed) -> Outcome:
        audience = dict(row.audience or {})
        if "township" in audience:
            township = self.townships.get(audience["township"]) if self.townships else None
            if township is None:
                return Outcome(row.id, DeliveryStatus.FAILED, error=f"unknown township {audience['township']!r}")
            tag_id = tag_service.ensure_tag(self.db, self.api, self.store, township.id, township.name,
                                            self.clock.now())
            audience = {"tag_id": tag_id}
        payload = self._sendable(row)
        self.limiter.acquire()
        try:
            result = self.api.mass_send(audience, payload, row.mass_key)
        except WeChatAPIError as exc:
            if exc.errcode == CLIENT_MSG_ID_EXISTS:
                return self._confirm_earlier(row, exc)
            if exc.errcode == CLIENT_MSG_ID_TOO_FAST:
                return Outcome(row.id, DeliveryStatus.PENDING, channel="mass", errcode=exc.errcode,
                               error=f"WeChat asked to wait a minute ({exc.errcode} {exc.errmsg})",
                               not_before=self.clock.now() + MASS_RETRY_GAP, uncount=True)
            raise
        return Outcome(row.id, DeliveryStatus.SENT, channel="mass", msg_id=str(result.get("msg_id", "")),
                       sent_at=self.clock.now())

    def _sendable(self, row: Claimed) -> dict[str, Any]:
        """The payload as the mass API takes it: an article is put in the draft box first (each try
        makes its own draft: a draft that went out has left the draft box)."""
        if not articles.needs_draft(row.payload):
            return row.payload
        from bot.runtime import content_dir

        return articles.to_draft(self.api, self.store, content_dir(self.config), row.payload)

    def _confirm_earlier(self, row: Claimed, exc: WeChatAPIError) -> Outcome:
        """45065: WeChat has a send with this clientmsgid from the last 24 hours. It counts as ours only
        once mass/get confirms the msg_id it names (field reports show 45065 for ids never sent)."""
        msg_id = str(exc.data.get("msg_id") or "")
        if not msg_id:
            return self._retry(row, "mass", exc.errcode, f"{exc.errcode} {exc.errmsg} without a msg_id")
        try:
            status = str(self.api.mass_status(msg_id).get("msg_status", ""))
        except WeChatAPIError as check:
            return self._retry(row, "mass", exc.errcode,
                               f"{exc.errcode}: earlier send {msg_id} not confirmed ({check.errcode} {check.errmsg})")
        if status in MASS_GOING:
            return Outcome(row.id, DeliveryStatus.SENT, channel="mass", msg_id=msg_id, sent_at=self.clock.now())
        return Outcome(row.id, DeliveryStatus.FAILED, channel="mass", errcode=exc.errcode, msg_id=msg_id,
                       error=f"WeChat already has this send ({msg_id}) and says {status or 'nothing'}; "
                             f"it cannot be sent again with the same id within 24 hours")

    def _preview(self, row: Claimed) -> Outcome:
        payload = {**self._sendable(row), "via": "preview"}
        outcome = self._call(row, "preview", lambda: self.api.mass_preview(row.openid, payload))
        if outcome.errcode == DAILY_QUOTA:
            # Previews have their own 100-a-day quota: retrying today is no use.
            return Outcome(row.id, DeliveryStatus.FAILED, channel="preview", errcode=DAILY_QUOTA,
                           error=PREVIEW_QUOTA_NOTE)
        return outcome

    def _tag(self, row: Claimed, citizen: Recipient | None) -> Outcome:
        """Bring the citizen's WeChat tags in line with their township *now* (not the one in the
        payload): two quick changes processed out of order still end with the right tag."""
        if self.townships is None:
            return Outcome(row.id, DeliveryStatus.FAILED, error="no townships in content")
        current = self.townships.get(citizen.township or "") if citizen is not None else None
        previous = self.townships.get(row.payload.get("previous") or "")
        if previous is not None and (current is None or previous.id != current.id):
            old_tag = tag_service.known_tag_id(self.db, previous.id)
            if old_tag is not None:
                self.api.untag_users(old_tag, [row.openid])  # type: ignore[list-item]
        if current is not None:
            tag_id = tag_service.ensure_tag(self.db, self.api, self.store, current.id, current.name,
                                            self.clock.now())
            self.api.tag_users(tag_id, [row.openid])  # type: ignore[list-item]
        return Outcome(row.id, DeliveryStatus.SENT, channel="tag", sent_at=self.clock.now())

    def _call(self, row: Claimed, channel: str, call: Callable[[], dict[str, Any]]) -> Outcome:
        self.limiter.acquire()
        try:
            result = call()
        except WeChatAPIError as exc:
            return self._failure(row, channel, exc)
        msg_id = result.get("msgid") or result.get("msg_id")
        return Outcome(row.id, DeliveryStatus.SENT, channel=channel, msg_id=str(msg_id) if msg_id else None,
                       sent_at=self.clock.now())

    def _failure(self, row: Claimed, channel: str | None, exc: WeChatAPIError) -> Outcome:
        reason = f"{exc.errcode} {exc.errmsg}"
        if isinstance(exc, TokenUnavailable):
            # No access token, so nothing was sent: the row waits for the pause to end, attempt not counted.
            return Outcome(row.id, DeliveryStatus.PENDING, channel=channel, errcode=exc.errcode,
                           # Staff read this text; WeChat's English errmsg is in the API client's log.
                           error=f"暂缓发送：微信拒绝发放接口调用凭证（错误码 {exc.errcode}），暂停结束后自动重试",
                           not_before=exc.until, uncount=True)
        if exc.errcode == ANSWER_LOST:
            retry_at = self.clock.now() + dt.timedelta(seconds=min(10 * 2 ** (row.attempts - 1), 3600))
            if row.idempotent or (channel == "template" and template_retry_allowed(
                    row.template_since.isoformat() if row.template_since else None, retry_at)):
                return self._retry(row, channel, exc.errcode, reason)
            return Outcome(row.id, DeliveryStatus.UNCERTAIN, channel=channel, errcode=exc.errcode,
                           error=f"no answer from WeChat; it may have arrived, so it was not resent ({reason})")
        if exc.errcode in TRANSIENT:
            return self._retry(row, channel, exc.errcode, reason)
        if exc.errcode in NOT_FOLLOWING:
            return Outcome(row.id, DeliveryStatus.UNDELIVERABLE, channel=channel, errcode=exc.errcode,
                           error=f"the citizen does not follow the account ({reason})")
        if exc.errcode == MASS_QUOTA:
            reason = f"the account's mass-send quota is used up ({reason})"
        return Outcome(row.id, DeliveryStatus.FAILED, channel=channel, errcode=exc.errcode, error=reason)

    def _retry(self, row: Claimed, channel: str | None, errcode: int | None, reason: str) -> Outcome:
        if row.attempts >= self.config.push.max_attempts:
            return Outcome(row.id, DeliveryStatus.FAILED, channel=channel, errcode=errcode,
                           error=f"gave up after {row.attempts} attempts: {reason}")
        delay = dt.timedelta(seconds=min(10 * 2 ** (row.attempts - 1), 3600))
        if row.audience is not None:
            delay = max(delay, MASS_RETRY_GAP)  # a sendall retried sooner only earns 45066
        return Outcome(row.id, DeliveryStatus.PENDING, channel=channel, errcode=errcode, error=reason,
                       not_before=self.clock.now() + delay)

    # --- loops ----------------------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> int:
        """Claim one batch, deliver it concurrently, record the results. Returns rows handled."""
        self.recover_expired()
        if self.api.token_pause() is not None:
            return 0  # every row stays pending, untouched, until the token endpoint is tried again
        rows = self.claim(limit or self.concurrency * 4)
        if not rows:
            return 0
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="sender") as pool:
            outcomes = list(pool.map(self.deliver, rows))
        self.record(outcomes)
        return len(rows)

    def drain(self, max_batches: int = 1000) -> int:
        """Deliver everything due now (tests, CLI `outbox send`)."""
        total = 0
        for _ in range(max_batches):
            handled = self.run_once()
            if not handled:
                break
            total += handled
        return total

    def run(self, stop: threading.Event, idle_wait: float = 0.5, recover_every: float = 5.0) -> None:
        """The long-running loop: keep up to `concurrency` calls in flight until `stop` is set."""
        log.info("sender %s started: concurrency %d, rate cap %s/s", self.owner, self.concurrency,
                 self.config.push.rate_per_second)
        inflight: dict[Future[Outcome], int] = {}
        done: list[Outcome] = []
        last_flush = last_recover = 0.0
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="sender") as pool:
            while not stop.is_set() or inflight:
                claimed = 0
                if not stop.is_set() and len(inflight) <= self.concurrency // 2:
                    if time.monotonic() - last_recover >= recover_every:
                        self._safely(self.recover_expired)
                        last_recover = time.monotonic()
                    if self.api.cooling_down() or self.api.token_pause() is not None:
                        stop.wait(1.0)
                    else:
                        rows = self._safely(lambda: self.claim(self.concurrency - len(inflight))) or []
                        for row in rows:
                            inflight[pool.submit(self.deliver, row)] = row.id
                        claimed = len(rows)
                if inflight:
                    finished, _ = wait(list(inflight), timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
                    for future in finished:
                        inflight.pop(future)
                        done.append(future.result())
                if done and (not inflight or len(done) >= FLUSH_ROWS or time.monotonic() - last_flush >= FLUSH_SECONDS):
                    batch, done = done, []
                    if self._safely(lambda batch=batch: self.record(batch)) is None:
                        done = batch + done  # the database hiccuped: keep them and try again
                    last_flush = time.monotonic()
                if not inflight and not claimed and not done:
                    stop.wait(idle_wait)
        log.info("sender %s stopped", self.owner)

    def _safely(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception:
            log.exception("sender %s: database step failed; will retry", self.owner)
            time.sleep(0.5)
            return None


def _is_message(payload: dict[str, Any]) -> bool:
    """A row that would go as a customer-service message (not a tag change or a mass preview)."""
    return payload.get("type") != "tag" and payload.get("via") != "preview"


def _allot(rows: list[Any], citizens: dict[str, Recipient], sent: dict[str, list[dt.datetime]],
           now: dt.datetime) -> set[int]:
    """Ids of the rows the citizens' allowances have room for, taken in order."""
    allowed: set[int] = set()
    for row in rows:
        citizen = citizens.get(row.openid)
        if citizen is not None and citizen.window.may_send(now, sent.setdefault(row.openid, [])):
            sent[row.openid].append(now)
            allowed.add(row.id)
    return allowed


def custom_parts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A customer-service text longer than one message allows, as its parts in order; other payloads whole."""
    if payload.get("type") != "text":
        return [payload]
    return [{**payload, "content": part} for part in split_text(payload["content"])]


def summary(payload: dict[str, Any]) -> str:
    if payload.get("type") == "text":
        return payload["content"]
    if payload.get("type") == "news":
        return payload["articles"][0].get("title", "")
    return ""


def first_url(payload: dict[str, Any]) -> str:
    if payload.get("type") == "news":
        return payload["articles"][0].get("url", "")
    return ""


def notice_fields(payload: dict[str, Any]) -> dict[str, str]:
    """What a template's keywords may say: the notice's fields, or its text as the note."""
    return dict(payload.get("notice") or {"note": summary(payload)})


def template_client_msg_id(key: str) -> str:
    """template/send's client_msg_id: the same row always sends the same id (32 hex characters)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def template_retry_allowed(since: str | None, at: dt.datetime) -> bool:
    """Whether a send at `at` still falls inside client_msg_id's 10 minutes from the first try
    (发送模板消息: "对于同一个openid + client_msg_id, 只发送一条消息,10分钟有效"), with a minute's margin."""
    if not since:
        return False
    return at - dt.datetime.fromisoformat(since) < TEMPLATE_DEDUPE - dt.timedelta(minutes=1)
