"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""

import bot.services.quiz.cli  # noqa: F401
