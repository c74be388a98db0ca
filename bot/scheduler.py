"""Kept for APScheduler's job table only: rows written before 0.7.0 name `bot.scheduler:run_job`.

The scheduler lives in bot/background/scheduler.py; its start replaces every row with the new
name, but a row read before that (a second process, a console page) must still resolve.
"""

from bot.background.scheduler import run_job

__all__ = ["run_job"]
