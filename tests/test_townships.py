from __future__ import annotations

from pathlib import Path

import pytest

from bot.content import ContentError
from bot.services.townships import distance_m, load_townships

CONTENT = Path(__file__).resolve().parent.parent / "content"


def test_find_by_name_or_alias_and_nearest() -> None:
    towns = load_townships(CONTENT)
    assert towns.find("我在城关镇人民路").id == "chengguan"
    assert towns.find("北坡那边") .id == "beipo"
    assert towns.find("火星") is None
    assert towns.nearest(36.07, 113.14).id == "nanhe"


def test_distance_is_haversine() -> None:
    assert distance_m(36.0, 113.0, 36.0, 113.0) == 0
    assert 110_000 < distance_m(36.0, 113.0, 37.0, 113.0) < 112_000


def test_duplicate_id_is_named(tmp_path: Path) -> None:
    (tmp_path / "townships.toml").write_text(
        '[[township]]\nid="a"\nname="甲"\nlatitude=1\nlongitude=2\n[[township]]\nid="a"\nname="乙"\nlatitude=1\nlongitude=2\n',
        encoding="utf-8")
    with pytest.raises(ContentError, match="a: id: duplicate id"):
        load_townships(tmp_path)
