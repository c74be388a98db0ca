"""Signature checks, AES decryption of pushes and encryption of replies.

Protocol: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
and (safe mode) .../Message_Management/Message_encryption_and_decryption_instructions.html.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.wechat.inbound import MalformedMessage, parse_xml


class BadSignature(Exception):
    """signature or msg_signature does not match (→ 403)."""


class PlaintextRefused(Exception):
    """A plaintext push in safe mode (→ 403)."""


class NotEncrypted(MalformedMessage):
    """A push said to be encrypted carries no Encrypt field (→ 400; 403 in safe mode)."""


class WrongApp(Exception):
    """An AES payload encrypted for another AppID (→ 400)."""


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Gateway:
    token: str
    app_id: str
    encoding_aes_key: str = ""

    def check_signature(self, signature: str, timestamp: str, nonce: str) -> None:
        expected = sign(self.token, timestamp, nonce)
        if not hmac.compare_digest(expected, signature or ""):
            raise BadSignature("signature")

    @functools.cached_property
    def _crypto(self) -> PrpCrypto:
        """Built once: its cipher is immutable and makes a fresh context per call, so threads share it."""
        return PrpCrypto(base64.b64decode(self.encoding_aes_key + "="))

    def decrypt(self, body: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext XML inside a safe-mode (or compatible-mode) push; plaintext fields are ignored."""
        if not self.encoding_aes_key:
            raise MalformedMessage("encrypted push but no encoding_aes_key configured")
        return self.decrypt_fields(parse_xml(body), msg_signature, timestamp, nonce)

    def decrypt_fields(self, envelope: dict, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext XML inside an envelope already parsed (its other fields do not count)."""
        encrypted = envelope.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise NotEncrypted("no Encrypt field")
        if not hmac.compare_digest(sign(self.token, timestamp, nonce, encrypted), msg_signature or ""):
            raise BadSignature("msg_signature")
        try:
            return self._crypto.decrypt(encrypted, self.app_id)
        except InvalidAppIdException:
            raise WrongApp("payload for another AppID") from None
        except Exception as exc:  # bad base64, padding or length: the payload is damaged
            raise MalformedMessage(f"cannot decrypt: {type(exc).__name__}") from None

    def encrypt_payload(self, xml: str) -> str:
        """The AES payload of `xml` for this AppID: what an Encrypt field holds (replies and pushes alike)."""
        return self._crypto.encrypt(xml, self.app_id).decode("ascii")

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        """A reply's encrypted envelope, signed (MsgSignature) at `timestamp` with the push's nonce."""
        encrypted = self.encrypt_payload(xml)
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")
