"""The identity vault's keyring: secrets the vault needs that must outlive an identity key.

One row so far, `vault/hmac-keys`: the keys of every keyed hash (owner, query code, tags), sealed
with the current identity key (bot/services/reports/identity.py). Written by the first `python -m
bot keys rotate`; before that they are derived from the identity key itself.
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
