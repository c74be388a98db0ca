"""`python -m bot keys check|rotate`: identity key custody from the command line (the work is in bot.services.keys)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli.base import Commands
from bot.config import Config, ConfigError

if TYPE_CHECKING:
    from bot.infra.db import Database
    from bot.services.reports.identity import IdentityVault

commands = Commands()


def _keys_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["check", "rotate"])
    p.add_argument("--sample", type=int, default=0, help="check: open only the first N values of each column (0 = all)")
    p.add_argument("--batch", type=int, default=500, help="rotate: values re-sealed per committed batch")


@commands.add("keys", "identity key custody: `keys check` opens every sealed contact with the configured key; "
              "`keys rotate` re-seals them with a new identity_key while previous_identity_key is still given",
              _keys_args)
def keys(args: argparse.Namespace, config: Config) -> int:
    from bot.infra.db import Database
    from bot.services.reports.identity import IdentityError, vault_for

    if not config.security.identity_key:
        raise ConfigError("missing required value [security] identity_key (env BOT_SECURITY_IDENTITY_KEY)")
    if args.action == "rotate" and not config.security.previous_identity_key:
        raise ConfigError("keys rotate needs the key the data is sealed with now as [security] previous_identity_key "
                          "(env BOT_SECURITY_PREVIOUS_IDENTITY_KEY) and the new key as identity_key")
    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    database = Database(config.database.url)
    try:
        with database.session() as session:
            try:
                vault = vault_for(config, session)
            except IdentityError:
                sys.stderr.write("error: neither identity_key nor previous_identity_key opens the vault's keyring "
                                 "(table vault_keyring, written by the last `keys rotate`): configure the key "
                                 "of the last rotation\n")
                return 1
        return _keys_check(database, vault, args.sample) if args.action == "check" else \
            _keys_rotate(database, vault, config, args.batch)
    finally:
        database.dispose()


def _keys_check(database: Database, vault: IdentityVault, sample: int) -> int:
    from bot.services.keys import check

    with database.session() as session:
        results = check(session, vault, sample)
    *sealed, owners = results
    for result in sealed:
        sys.stdout.write(f"{result.column}: {result.checked - result.unreadable} of {result.checked} opened\n")
    sys.stdout.write(f"{owners.column}: {owners.checked - owners.unreadable} of {owners.checked} match\n")
    unreadable = sum(r.unreadable for r in sealed)
    if unreadable:
        sys.stderr.write(f"error: {unreadable} sealed values do not open with the configured identity key\n")
        return 1
    if owners.unreadable:
        sys.stderr.write(f"error: {owners.unreadable} reports' owner hashes do not match their openid: the keyed "
                         "hashes' keys are not the ones the reports were filed with (我的举报 would not find them)\n")
        return 1
    sys.stdout.write("the identity key opens every sealed value checked\n")
    return 0


def _keys_rotate(database: Database, vault: IdentityVault, config: Config, batch: int) -> int:
    from bot.infra.store import RedisStore, StoreError
    from bot.runtime import default_clock
    from bot.services.keys import RotationError, rotate

    def progress(done: int, total: int, column: str) -> None:
        sys.stdout.write(f"batch {done} of {total} done ({column})\n")
        sys.stdout.flush()

    sys.stdout.write(f"re-sealing every sealed value with identity key {vault.key_id} "
                     f"(safe to stop and run again: it continues where it stopped)\n")
    store = RedisStore(config.redis.url) if config.redis.url else None
    if store is None:
        sys.stdout.write("no [redis] url: the in-process store lives in the bot's own process and was emptied when "
                         "it restarted with the new key; nothing in it to re-seal\n")
    try:
        rotation = rotate(database, vault, default_clock(config).now(), batch_size=batch, progress=progress,
                          store=store)
    except RotationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except StoreError as exc:
        sys.stderr.write(f"error: Redis did not answer ({exc}); run `keys rotate` again when it is back "
                         "(it continues where it stopped)\n")
        return 1
    finally:
        if store is not None:
            store.close()
    for column in rotation.columns + rotation.stored:
        sys.stdout.write(f"{column.column}: {column.resealed} of {column.pending} re-sealed\n")
    counts = rotation.counts()
    if counts["changed_meanwhile"]:
        sys.stdout.write(f"{counts['changed_meanwhile']} values were changed by the running bot meanwhile (or expired); "
                         "run `keys rotate` again to be sure they are sealed with the new key\n")
    if rotation.unreadable:
        sys.stderr.write(f"error: {rotation.unreadable} sealed values open with neither identity_key nor "
                         "previous_identity_key; they were left as they are (is previous_identity_key right?)\n")
        return 1
    sys.stdout.write(f"done: every sealed value is sealed with identity key {vault.key_id}; run `keys check` with "
                     "only the new key, then remove previous_identity_key and restart the services\n")
    return 0
