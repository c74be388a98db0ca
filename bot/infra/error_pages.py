"""Error pages in Chinese with a way back, for the pages people read: the console and the simulator.

Flask answers an unknown address (404), a wrong method (405), an oversized form (413) and a crash
(500) with Werkzeug's English pages, which bureau staff cannot read and which offer no way back. Here
every HTTP error under /console and /simulator gets a Chinese page (or, for the simulator's own
fetch() API, a Chinese JSON message). Everything else, above all /wechat, keeps Werkzeug's answer
untouched: WeChat's servers need the webhook's status codes and bodies exactly as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:  # the Bot only as a type: infra sits below the app that wires it
    from bot.runtime import Bot


# Title and explanation per status, in words a non-technical member of staff understands.
MESSAGES: dict[int, tuple[str, str]] = {
    400: ("请求有误", "提交的内容不完整或格式不对，操作未执行。请返回上一页检查后重试。"),
    403: ("没有权限", "您的账号没有打开此页面或执行此操作的权限。如需权限，请联系管理员。"),
    404: ("页面不存在", "没有找到这个页面或记录，可能地址有误，或记录已被删除。"),
    405: ("操作方式不对", "这个地址不支持这样打开或提交。请从页面上的按钮或链接进入，不要直接输入地址。"),
    413: ("提交的内容太大", "提交的文字或文件超过了系统允许的大小，操作未执行。请删减内容或换一个较小的文件后重试。"),
    429: ("操作太频繁", "短时间内操作次数过多，请稍等几分钟再试。"),
    500: ("系统暂时出错", "操作未能完成，请稍后重试。如果一再出现，请联系技术人员。"),
}
FALLBACK = ("出现错误", "操作未能完成，请返回上一页重试。")
PREFIXES = ("/console", "/simulator")


def message_for(code: int) -> tuple[str, str]:
    return MESSAGES.get(code, MESSAGES[500] if code >= 500 else FALLBACK)


def own_description(exc: HTTPException) -> str | None:
    """The text passed to abort() when one was (the simulator's are Chinese), not Werkzeug's default."""
    default = type(exc).description
    return exc.description if exc.description and exc.description != default else None


def back_link() -> str | None:
    """The page the person came from, when it is on this site (never an outside address)."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host or parts.scheme not in ("http", "https"):
        return None
    if parts.path == request.path:
        return None
    return referrer


def _served(path: str) -> bool:
    """Whether the part this address belongs to runs here (no simulator in production: a plain 404)."""
    blueprint = path.split("/", 2)[1]
    return blueprint in current_app.blueprints


def chinese_error(exc: HTTPException) -> Any:
    """The handler for every HTTP error: a Chinese page under /console and /simulator, else Werkzeug's."""
    path = request.path
    if not path.startswith(PREFIXES) or not _served(path):
        return exc
    code = exc.code or 500
    title, message = message_for(code)
    if path.startswith("/simulator/api/"):
        response = jsonify(error=own_description(exc) or message, status=code)
        response.status_code = code
        return response
    if path.startswith("/simulator"):
        body = render_template("simulator/error.html", code=code, title=title,
                               message=own_description(exc) or message, back=back_link())
    else:
        body = render_template("console/error.html", code=code, title=title, message=message, back=back_link())
    response = Response(body, code, mimetype="text/html")
    valid_methods = getattr(exc, "valid_methods", None)
    if valid_methods:  # a 405 names what the address does accept, as Werkzeug's own answer does
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def init_app(app: Flask, bot: Bot) -> None:
    app.register_error_handler(HTTPException, chinese_error)
