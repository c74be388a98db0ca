"""`python -m bot understanding build`: regenerate the files learned from content (the emergency
pinyin table, the intent model's weights).

They are text in the repo (content/generated/), so serving needs neither pypinyin nor scikit-learn;
content check refuses them when they are stale against their sources.
"""

from __future__ import annotations

import argparse
import logging

from bot.cli.base import Commands
from bot.config import Config

commands = Commands()

log = logging.getLogger(__name__)


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["build"])


@commands.add("understanding", "`understanding build` regenerates content/generated/ (emergency pinyin, intent weights)",
              _args)
def understanding(args: argparse.Namespace, config: Config) -> int:
    from bot.runtime import content_dir
    from bot.services.emergencies import write_pinyin
    from bot.services.intent_training import write_weights

    for path in (write_pinyin(content_dir(config)), write_weights(content_dir(config))):
        log.info("wrote %s", path)
    return 0
