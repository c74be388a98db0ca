"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""

import bot.menu  # noqa: F401 - menu show|sync
