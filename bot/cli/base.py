"""What every command module shares: its list of subcommands, and the embedded default's schema step.

A module of `bot.cli` declares `commands = Commands()` and decorates each subcommand with
`@commands.add(name, help, configure)`; `bot.cli` lists the modules. Nothing here imports a command
module, so the modules never import the root that lists them.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

from bot.config import Config

Run = Callable[[argparse.Namespace, Config], int]


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Run


class Commands(list[Command]):
    """One module's subcommands, in the order `python -m bot --help` shows them."""

    def add(self, name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None
            ) -> Callable[[Run], Run]:
        def register(run: Run) -> Run:
            self.append(Command(name, help, configure, run))
            return run

        return register


def upgrade_sqlite(config: Config) -> None:
    # The embedded default must work on a fresh machine with no extra step.
    if config.database.url.startswith("sqlite"):
        from bot.infra.migrate import upgrade

        upgrade(config.database.url)
