"""The identity vault's keyring: secrets the vault needs that must outlive an identity key.

One row so far, `vault/hmac-root`: the secret every keyed hash (owner, query code, tags) derives
from, sealed with the current identity key (bot/services/reports/identity.py). Written by the
first `python -m bot keys rotate`; before that the identity key itself is the root.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class VaultKey(Base):
    __tablename__ = "vault_keyring"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)  # sealed with the identity key; never a secret in clear
    updated_at: Mapped[dt.datetime]
