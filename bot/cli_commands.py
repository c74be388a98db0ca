"""Imports the modules whose subcommands `python -m bot` offers (each registers with @command)."""

import bot.console.cli  # noqa: F401,E402
import bot.menu  # noqa: F401 - menu show|sync
import bot.services.quiz.cli  # noqa: F401,E402
import bot.services.reports.cli  # noqa: E402, F401 - reports list|show|status|export|overdue
import bot.understanding_cli  # noqa: F401,E402 - understanding build
from bot import pushes_cli  # noqa: F401,E402
