"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""

import bot.console.cli
import bot.menu
import bot.services.quiz.cli
import bot.services.reports.cli
import bot.understanding_cli  # noqa: F401 - understanding build
from bot import pushes_cli  # noqa: F401
