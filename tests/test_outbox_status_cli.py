"""`python -m bot outbox status` is read by county IT staff: Chinese states, and a token refusal names
the exact setting to change."""

import datetime as dt

from bot import pushes_cli
from bot.wechat.api import TokenPause


def test_states_are_chinese_with_the_stored_value_kept() -> None:
    out = pushes_cli.status_lines({"pending": 1, "uncertain": 2})
    assert out == "待发送\tpending\t1\n不确定是否送达\tuncertain\t2\n"
    assert pushes_cli.status_lines({}) == "发送队列为空\n"


class _Api:
    def __init__(self, errcode: int) -> None:
        now = dt.datetime(2021, 6, 1, 9, 0)
        self._pause = TokenPause(errcode=errcode, errmsg="invalid appsecret", since=now,
                                 until=now + dt.timedelta(minutes=5))

    def token_pause(self) -> TokenPause:
        return self._pause


def test_a_refused_secret_names_the_setting_and_the_variable() -> None:
    line = pushes_cli.token_pause_line(_Api(40125))
    assert "[wechat] app_secret" in line and "BOT_WECHAT_APP_SECRET" in line and "已暂停发送" in line


def test_a_whitelist_refusal_points_to_the_platform_not_a_setting() -> None:
    line = pushes_cli.token_pause_line(_Api(40164))
    assert "IP 白名单" in line and "BOT_" not in line
