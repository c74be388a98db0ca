"""The dispatcher refuses, when it is built, a rule that can never match (bot/chat/routing.py)."""

from __future__ import annotations

import pytest

from bot.chat.routing import Dispatcher, Router, UnreachableRule, all_of, any_of, kind, menu_key, text_in
from handlers import ROUTERS


def take_photo(msg, ctx):
    return "收到照片"


def keep_photo_elsewhere(msg, ctx):
    return "照片已保存"


def take_text(msg, ctx):
    return "收到"


def _router(*rules) -> Router:
    router = Router("errand")
    for matchers, state, handler in rules:
        router.on(*matchers, state=state)(handler)
    return router


def test_a_rule_an_earlier_rule_at_the_same_state_always_takes_first_is_refused() -> None:
    router = _router(((kind("image", "video"),), "errand:photos", take_photo),
                     ((kind("image"),), ("errand:photos", "errand:place"), keep_photo_elsewhere))
    with pytest.raises(UnreachableRule, match=r"keep_photo_elsewhere can never match at errand:photos: every image "
                                           r"message is taken first by .*take_photo"):
        Dispatcher([router])


def test_rules_that_take_every_kind_between_them_shadow_a_later_one() -> None:
    router = _router(((kind("image"),), "errand:photos", take_photo),
                     ((any_of(kind("video"), text_in("完成")),), "errand:photos", take_text),
                     ((kind("image", "video"),), "errand:photos", keep_photo_elsewhere))
    with pytest.raises(UnreachableRule, match="keep_photo_elsewhere"):
        Dispatcher([router])


def test_an_entry_point_after_one_that_takes_everything_is_refused() -> None:
    router = Router("errand")
    router.on()(take_text)  # no matcher: anything
    router.on(menu_key("ERRAND"))(take_photo)
    with pytest.raises(UnreachableRule, match="take_photo can never match at no step"):
        Dispatcher([router])


def has_caption(msg, ctx):
    return bool(msg.text)


def test_a_rule_an_earlier_one_takes_only_sometimes_is_kept() -> None:
    # text_in takes some texts, kind("text") no voice, all_of(kind, a function) only some images.
    Dispatcher([_router(((text_in("完成"),), "errand:photos", take_text),
                        ((kind("text"),), "errand:photos", take_photo),
                        ((all_of(kind("image"), has_caption),), "errand:place", take_text),
                        ((kind("text", "voice"),), "errand:photos", keep_photo_elsewhere),
                        ((kind("image"),), "errand:place", keep_photo_elsewhere))])


def test_a_rule_no_message_can_match_is_refused() -> None:
    with pytest.raises(UnreachableRule, match="take_text can never match at errand:place: no message is of every kind"):
        Dispatcher([_router(((all_of(kind("image"), text_in("完成")),), "errand:place", take_text))])


def test_the_same_rule_at_another_state_is_a_rule_of_its_own() -> None:
    Dispatcher([_router(((kind("image"),), "errand:photos", take_photo),
                        ((kind("image"),), "errand:place", keep_photo_elsewhere))])


def test_the_live_dispatcher_has_no_rule_that_can_never_match() -> None:
    Dispatcher(ROUTERS)  # a photo at report:photos is take_photo's; keep_media_elsewhere is for the other steps
