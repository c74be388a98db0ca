"""A WeRoBot echo app: the most widely used Python WeChat framework, answering every text with a fixed reply.

    gunicorn 'bench.apps.werobot_echo:app'
"""

from __future__ import annotations

import os

from werobot import WeRoBot

robot = WeRoBot(token=os.environ.get("BENCH_TOKEN", "bench-token"),
                encoding_aes_key=os.environ.get("BENCH_AES_KEY", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"),
                app_id=os.environ.get("BENCH_APP_ID", "wxbench000000001"))
robot.config["SESSION_STORAGE"] = False


@robot.handler
def echo(message):
    return "收到"


app = robot.wsgi
