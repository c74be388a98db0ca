"""Articles (图文) as WeChat takes them for a mass send: what they may hold, and how they reach the
draft box.

An article is a cover image file (in content/), a title, a digest, a body and an optional source
link ("阅读原文"). To go out it becomes: the cover as permanent image material
(`material/add_material`), the article in the draft box (`draft/add`), then a mass send of
`mpnews` with the draft's media_id. Limits are those of "Add draft"
(doc/service/api/draftbox/draftmanage/api_draft_add) and "Upload permanent material"
(doc/service/api/material/permanent/api_addmaterial); they are checked where staff write the
article (`content check`, the console), so that a send never fails for them.
"""

from __future__ import annotations

import hashlib
import html
import logging
from pathlib import Path
from typing import Any

from bot.infra.store import Store
from bot.wechat.api import WeChatAPIError

log = logging.getLogger(__name__)

TITLE_MAX = 32        # "标题，总长度不超过32个字"
AUTHOR_MAX = 16       # "作者，总长度不超过16个字"
DIGEST_MAX = 128      # "图文消息的摘要，总长度不超过128个字"
BODY_MAX_CHARS = 20000                # "必须少于2万字符，小于1M"
BODY_MAX_BYTES = 1024 * 1024
SOURCE_URL_MAX_BYTES = 1024           # "原文地址，大小不可超过1 kb"
# The current permanent-material page allows 10 MB images; earlier revisions (and the WxJava wiki)
# said 2 MB. Covers are small: the stricter limit, and only JPEG/PNG (both revisions accept them).
COVER_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_AUTHOR = "县应急管理局"
COVER_CACHE_SECONDS = 30 * 24 * 3600  # an uploaded cover is reused; forgetting it costs one upload
INVALID_MEDIA_ID = 40007


def cover_type(content: bytes) -> str | None:
    """"jpeg" / "png" by the file's magic bytes, else None (a renamed GIF or text file is not a cover)."""
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def cover_problem(path: Path) -> str | None:
    """Why this file cannot be an article's cover (in Chinese), or None."""
    if not path.is_file():
        return f"封面图片 {path.name} 不存在"
    size = path.stat().st_size
    if size == 0 or size > COVER_MAX_BYTES:
        return f"封面图片 {path.name} 有 {size} 字节，须在 1 字节到 {COVER_MAX_BYTES // (1024 * 1024)} MB 之间"
    if cover_type(path.read_bytes()[:16]) is None:
        return f"封面图片 {path.name} 不是 JPEG 或 PNG 图片"
    return None


def text_problems(*, title: str, digest: str, body: str, author: str = "", source_url: str = "") -> list[str]:
    """Why WeChat's draft box would refuse this article (in Chinese); empty when it fits."""
    problems = []
    if not title.strip():
        problems.append("标题不能为空")
    elif len(title) > TITLE_MAX:
        problems.append(f"标题最多 {TITLE_MAX} 字（现在 {len(title)} 字）")
    if len(author) > AUTHOR_MAX:
        problems.append(f"作者最多 {AUTHOR_MAX} 字（现在 {len(author)} 字）")
    if len(digest) > DIGEST_MAX:
        problems.append(f"摘要最多 {DIGEST_MAX} 字（现在 {len(digest)} 字）")
    content = body_html(body)
    if not body.strip():
        problems.append("正文不能为空")
    elif len(content) >= BODY_MAX_CHARS or len(content.encode("utf-8")) >= BODY_MAX_BYTES:
        problems.append(f"正文太长：须少于 {BODY_MAX_CHARS} 字符且小于 1 MB")
    if source_url and not source_url.startswith(("https://", "http://")):
        problems.append("原文链接须以 http:// 或 https:// 开头")
    elif len(source_url.encode("utf-8")) > SOURCE_URL_MAX_BYTES:
        problems.append("原文链接不能超过 1 KB")
    return problems


def body_html(body: str) -> str:
    """Staff write plain text, a blank line between paragraphs; WeChat takes HTML. Escaped, so no
    markup (and no script, which the draft box would strip anyway) comes from the text."""
    paragraphs = [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br/>") + "</p>" for p in paragraphs)


def article(*, title: str, digest: str, body: str, cover: str, source_url: str = "",
            author: str = DEFAULT_AUTHOR) -> dict[str, Any]:
    """The outbox's form of an article (`{"type": "news", "articles": [this]}`); `cover` is a path under
    content/. "description" and "url" are the digest and source link, as customer-service news takes them."""
    return {"title": title, "description": digest, "url": source_url, "content": body, "cover": cover,
            "author": author}


def needs_draft(payload: dict[str, Any]) -> bool:
    return payload.get("type") == "news" and not payload["articles"][0].get("media_id")


def to_draft(api: Any, store: Store, content_dir: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Upload the cover, put the article in the draft box; returns the payload for `mpnews`."""
    first = payload["articles"][0]
    cover = _cover_path(content_dir, first)
    draft = {"title": first["title"], "author": first.get("author") or DEFAULT_AUTHOR,
             "digest": first.get("description", ""), "content": body_html(first.get("content") or
                                                                           first.get("description", "")),
             "content_source_url": first.get("url", ""), "need_open_comment": 0, "only_fans_can_comment": 0}
    try:
        media_id = api.add_draft([{**draft, "thumb_media_id": _cover_media_id(api, store, cover)}])
    except WeChatAPIError as exc:
        if exc.errcode != INVALID_MEDIA_ID:
            raise
        # The remembered cover is gone (deleted in the WeChat admin's material library): upload it again.
        store.delete(_cover_key(api, cover.read_bytes()))
        media_id = api.add_draft([{**draft, "thumb_media_id": _cover_media_id(api, store, cover)}])
    log.info("article %r is in the draft box as %s", first["title"], media_id)
    return {"type": "news", "articles": [{**first, "media_id": media_id}]}


def _cover_path(content_dir: Path, first: dict[str, Any]) -> Path:
    name = first.get("cover") or "covers/default.png"
    path = (content_dir / name).resolve()
    if content_dir.resolve() not in path.parents:
        raise ValueError(f"cover {name!r} is outside the content directory")
    return path


def _cover_key(api: Any, content: bytes) -> str:
    return f"wechat:material:{api.app_id}:{hashlib.sha256(content).hexdigest()}"


def _cover_media_id(api: Any, store: Store, path: Path) -> str:
    """The cover's permanent media id, uploaded once per image (the library holds 100,000 images)."""
    content = path.read_bytes()
    key = _cover_key(api, content)
    known = store.get(key)
    if known:
        return known
    media_id = api.add_image_material(path.name, content)["media_id"]
    store.set(key, media_id, ttl=COVER_CACHE_SECONDS)
    return media_id
