"""`python -m bot outbox status` is read by county IT staff: Chinese states, and a token refusal names
the exact setting to change."""

import datetime as dt

from bot.cli import pushes as pushes_cli
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


def test_uncertain_rows_say_why_in_chinese() -> None:
    """`outbox uncertain` printed the sender's and WeChat's English as stored."""
    from bot.models import Delivery

    stopped = Delivery(id=7, key="report:3:status", openid="o_abc", payload={"parts_sent": 2}, last_errcode=None,
                       last_error="the sender stopped while this was at WeChat; it may have arrived, so it was not "
                                  "resent (requeue it to send again)")
    media = Delivery(id=8, key="broadcast:4", openid=None, audience={"all": True}, payload={}, last_errcode=40007,
                     last_error="invalid media_id hint: [aBcD0123] rid: 60b5a1f2-1a2b3c4d")
    assert pushes_cli.uncertain_line(stopped) == ("7\treport:3:status\to_abc\t发送时程序中断，可能已送达，未自动重发"
                                                  "（长消息已确认发出前 2 段，重发从第 3 段起）\n")
    line = pushes_cli.uncertain_line(media)
    assert line.endswith("\t微信里已找不到这个文件（媒体编号无效或已过期）（错误码 40007）\n")
    assert "invalid" not in line and "media_id" not in line


def test_an_uncertain_row_with_an_earlier_code_still_says_it_may_have_arrived() -> None:
    """A row that got "-1 system busy", was retried, and whose sender then died keeps last_errcode -1
    (recover_expired rewrites only the error): looking the code up first hid "可能已送达"."""
    from bot.models import Delivery

    stopped = Delivery(id=9, key="report:5:status", openid="o_abc", payload={}, last_errcode=-1,
                       last_error="the sender stopped while this was at WeChat; it may have arrived, so it was not "
                                  "resent (requeue it to send again)")
    line = pushes_cli.uncertain_line(stopped)
    assert line == ("9\treport:5:status\to_abc\t发送时程序中断，可能已送达，未自动重发"
                    "（微信系统繁忙，错误码 -1）\n")
