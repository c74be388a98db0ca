"""Shared helpers for the hazard-report tests."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.models import Report, ReportDraft, ReportPhoto
from tests.wechat import Citizen

DESCRIPTION = "幸福小区3号楼一楼楼道里天天有人给电动车充电，旁边还堆着纸箱。"
STORED = DESCRIPTION  # stored as typed: NFKC is for matching only, a citizen's punctuation is kept
TICKET = re.compile(r"举报编号：(YH\d{8}-[A-Z0-9]{6})")
CODE = re.compile(r"查询码：([A-Z0-9]{8})")


def file_report(citizen: Citizen, *, category: str = "1", description: str = DESCRIPTION,
                location: tuple[float, float, str] | None = (36.195, 113.116, "城关镇人民路12号"),
                photos: int = 1, contact: str = "张三 13800138000",
                media_ids: list[str] | None = None) -> tuple[str, str]:
    """Walk the whole flow; returns (ticket, query code)."""
    citizen.dialog([("举报", "请选择隐患类别"), (category, "请描述隐患情况"), (description, "请发送隐患位置")])
    if location:
        assert "请上传现场照片" in citizen.location(*location).text
    else:
        assert "请上传现场照片" in citizen.says("跳过")
    media_ids = media_ids or [f"MEDIA_{i}" for i in range(photos)]
    for i, media_id in enumerate(media_ids):
        assert f"已收到第{i + 1}张" in citizen.image(media_id, f"http://mmbiz.example/{i}.jpg").text
    assert "请留下姓名和手机号" in citizen.says("完成")
    assert "请核对您的举报" in citizen.says(contact)
    reply = citizen.says("确认")
    assert "举报已提交" in reply, reply
    return TICKET.search(reply).group(1), CODE.search(reply).group(1)


def reports(session: Session) -> list[Report]:
    return list(session.scalars(select(Report).order_by(Report.id)))


def drafts(session: Session) -> list[ReportDraft]:
    return list(session.scalars(select(ReportDraft)))


def photos(session: Session) -> list[ReportPhoto]:
    return list(session.scalars(select(ReportPhoto).order_by(ReportPhoto.id)))


@contextlib.contextmanager
def failing_report_inserts() -> Iterator[None]:
    """Make every flush that would insert a report fail, as a database outage would."""

    def refuse(session: Session, _context: object, _instances: object) -> None:
        if any(isinstance(obj, Report) for obj in session.new):
            raise RuntimeError("database unavailable")

    event.listen(Session, "before_flush", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", refuse)


def forget_dedupe(store, citizen: Citizen) -> None:
    """The store loses the dedupe entry of the citizen's last message (as after a Redis restart)."""
    store.delete(citizen.last_dedupe_key())
