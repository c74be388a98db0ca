"""`python -m bot backup DIR` and `restore DIR`: the database, the evidence files and a manifest (never the keys)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()


def _folder_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="the backup's folder")


@commands.add("backup", "back up the database, the evidence files and a manifest into a new folder (never the keys)",
              _folder_arg)
def backup(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from bot.clock import SystemClock
    from bot.infra.backup import backup as write_backup
    from bot.services.reports.evidence import photo_dir

    manifest = write_backup(config, Path(args.folder), SystemClock().now(), photo_dir(config))
    sys.stdout.write(f"backup written to {args.folder}: {manifest.database}, schema {', '.join(manifest.schema_revisions)}"
                     f", {len(manifest.files)} files\n")
    return 0


@commands.add("restore", "restore a backup into an empty database and photo store, then bring the schema up to date",
              _folder_arg)
def restore(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from bot.infra.backup import restore as read_backup
    from bot.services.reports.evidence import photo_dir

    manifest = read_backup(config, Path(args.folder), photo_dir(config))
    sys.stdout.write(f"restored the backup of {manifest.created_at} (release {manifest.version}); "
                     "run `python -m bot keys check` to see the identity key opens it\n")
    return 0
