"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""

from bot import pushes_cli  # noqa: F401,E402
