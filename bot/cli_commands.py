"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""
import bot.console.cli  # noqa: F401,E402
