"""Command line: `python -m bot --help` lists everything."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.config import Config, ConfigError, load_config
from bot.content import ContentError
from bot.observability import configure_logging
from bot.version import VERSION

if TYPE_CHECKING:
    from bot.db import Database
    from bot.services.reports.identity import IdentityVault

log = logging.getLogger("bot.cli")

# Subcommands added by features: (name, help, configure(parser), run(args, config) -> int).
COMMANDS: list[tuple[str, str, Callable, Callable]] = []


def command(name: str, help: str, configure: Callable = lambda p: None) -> Callable:
    def register(run: Callable) -> Callable:
        COMMANDS.append((name, help, configure, run))
        return run

    return register


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)


@command("serve", "run the server under gunicorn (production entry point)", _serve_args)
def serve(args: argparse.Namespace, config: Config) -> int:
    from bot.server import run_gunicorn

    if args.workers > 1 and not config.redis.url:
        raise ConfigError("--workers > 1 needs [redis] url: the in-process store cannot be shared between workers")
    _upgrade_sqlite(config)
    return run_gunicorn(args.host, args.port, args.workers, json_logs=config.server.mode == "production")


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["upgrade"])


@command("db", "database migrations: `db upgrade` brings the schema up to date", _db_args)
def db(args: argparse.Namespace, config: Config) -> int:
    from bot.migrate import upgrade

    upgrade(config.database.url)
    log.info("database is up to date")
    return 0


def _folder_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="the backup's folder")


@command("backup", "back up the database, the evidence files and a manifest into a new folder (never the keys)",
         _folder_arg)
def backup(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from bot.backup import backup as write_backup
    from bot.clock import SystemClock
    from bot.services.reports.evidence import photo_dir

    manifest = write_backup(config, Path(args.folder), SystemClock().now(), photo_dir(config))
    sys.stdout.write(f"backup written to {args.folder}: {manifest.database}, schema {', '.join(manifest.schema_revisions)}"
                     f", {len(manifest.files)} files\n")
    return 0


@command("restore", "restore a backup into an empty database and photo store, then bring the schema up to date",
         _folder_arg)
def restore(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from bot.backup import restore as read_backup
    from bot.services.reports.evidence import photo_dir

    manifest = read_backup(config, Path(args.folder), photo_dir(config))
    sys.stdout.write(f"restored the backup of {manifest.created_at} (release {manifest.version}); "
                     "run `python -m bot keys check` to see the identity key opens it\n")
    return 0


def _keys_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["check", "rotate"])
    p.add_argument("--sample", type=int, default=0, help="check: open only the first N values of each column (0 = all)")
    p.add_argument("--batch", type=int, default=500, help="rotate: values re-sealed per committed batch")


@command("keys", "identity key custody: `keys check` opens every sealed contact with the configured key; "
         "`keys rotate` re-seals them with a new identity_key while previous_identity_key is still given",
         _keys_args)
def keys(args: argparse.Namespace, config: Config) -> int:
    from bot.db import Database
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
    from bot.keys import check

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
    from bot.keys import RotationError, rotate
    from bot.runtime import default_clock
    from bot.store import RedisStore, StoreError

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


def _content_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["check"])


@command("content", "content/: `content check` validates every file", _content_args)
def content(args: argparse.Namespace, config: Config) -> int:
    from bot.checks import check_content

    problems = check_content(config)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    if problems:
        return 1
    sys.stdout.write("content OK\n")
    return 0


def _upgrade_sqlite(config: Config) -> None:
    # The embedded default must work on a fresh machine with no extra step.
    if config.database.url.startswith("sqlite"):
        from bot.migrate import upgrade

        upgrade(config.database.url)


def build_parser() -> argparse.ArgumentParser:
    import bot.cli_commands  # noqa: F401 - registers the features' subcommands

    parser = argparse.ArgumentParser(prog="python -m bot", description="Safety Month Bot (安全生产月公众号后台)")
    parser.add_argument("--config", help="config file (default: env BOT_CONFIG or config.toml)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text, configure, run in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        # One JSON object a line in production; gunicorn's workers inherit this from the master.
        configure_logging(config.server.mode)
        return int(args.run(args, config) or 0)
    except (ConfigError, ContentError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2



def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--today", help="the simulated campaign day, YYYY-MM-DD, from 09:00 (default: the campaign's "
                                   "first day), or a moment, YYYY-MM-DDTHH:MM")


@command("demo", "everything in one process: server, simulator, fake WeChat API, scheduler (SQLite, in-process store)",
         _demo_args)
def demo(args: argparse.Namespace, config: Config) -> int:
    from bot.demo import run_demo

    return run_demo(config, args.host, args.port, args.today)
