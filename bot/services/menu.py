"""The account's custom menu (`content/menu.toml`): validated against WeChat's limits, turned into
the JSON of `menu/create`, and cross-checked so that every CLICK key has a handler.

Limits (reference/domain.md §3.1 and WeChat's menu/create documentation): at most 3 top buttons,
at most 5 items under each; a top name at most 16 bytes, an item name at most 60 bytes; a key at
most 128 bytes; a view URL at most 1024 bytes.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from bot.content import ContentError, read_toml, require_text

MAX_TOP = 3
MAX_SUB = 5
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128
URL_BYTES = 1024
TYPES = ("click", "view")
FIELDS = {"name", "type", "key", "url", "sub_button", "example"}


@dataclasses.dataclass(frozen=True)
class MenuButton:
    name: str
    type: str = ""  # "click" | "view"; "" for a top button that opens its items
    key: str = ""
    url: str = ""
    sub: tuple[MenuButton, ...] = ()  # the items a top button opens
    label: str = ""  # "button 1 「安全月」", for error messages


@dataclasses.dataclass(frozen=True)
class Menu:
    path: Path
    buttons: tuple[MenuButton, ...]

    def clickable(self) -> list[MenuButton]:
        """Every CLICK button, top-level or item, in menu order."""
        out = []
        for button in self.buttons:
            for b in (button, *button.sub):
                if b.type == "click":
                    out.append(b)
        return out


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def load_menu(directory: Path) -> Menu:
    path = directory / "menu.toml"
    tops = read_toml(path).get("button")
    if not isinstance(tops, list) or not tops:
        raise ContentError(path, "[[button]]", "-", "no buttons")
    if len(tops) > MAX_TOP:
        raise ContentError(path, "[[button]]", "-", f"{len(tops)} top buttons; WeChat allows at most {MAX_TOP}")
    buttons = []
    for i, top in enumerate(tops, 1):
        label = f"button {i}"
        if not isinstance(top, dict):
            raise ContentError(path, label, "-", "must be a table")
        name = require_text(path, label, top, "name")
        label = f"button {i} 「{name}」"
        if _bytes(name) > TOP_NAME_BYTES:
            raise ContentError(path, label, "name", f"{_bytes(name)} bytes; a top button's name may have at most "
                                                    f"{TOP_NAME_BYTES} (about 5 Chinese characters)")
        subs = top.get("sub_button", [])
        if not isinstance(subs, list):
            raise ContentError(path, label, "sub_button", "must be a list of [[button.sub_button]] tables")
        if subs:
            if "type" in top or "key" in top or "url" in top:
                raise ContentError(path, label, "type", "a button with items opens them; give it no type, key or url")
            if len(subs) > MAX_SUB:
                raise ContentError(path, label, "sub_button", f"{len(subs)} items; WeChat allows at most {MAX_SUB}")
            items = []
            for j, sub in enumerate(subs, 1):
                sub_label = f"button {i}.{j}"
                if not isinstance(sub, dict):
                    raise ContentError(path, sub_label, "-", "must be a table")
                sub_name = require_text(path, sub_label, sub, "name")
                sub_label = f"button {i}.{j} 「{sub_name}」"
                if _bytes(sub_name) > SUB_NAME_BYTES:
                    raise ContentError(path, sub_label, "name",
                                       f"{_bytes(sub_name)} bytes; an item's name may have at most {SUB_NAME_BYTES}")
                if "sub_button" in sub:
                    raise ContentError(path, sub_label, "sub_button", "items cannot have items of their own")
                items.append(_action(path, sub_label, sub, sub_name))
            buttons.append(MenuButton(name=name, sub=tuple(items), label=label))
        else:
            buttons.append(_action(path, label, top, name))
    return Menu(path, tuple(buttons))


def _action(path: Path, label: str, data: dict[str, Any], name: str) -> MenuButton:
    unknown = set(data) - FIELDS
    if unknown:
        raise ContentError(path, label, sorted(unknown)[0], "unknown field")
    kind = data.get("type")
    if kind not in TYPES:
        raise ContentError(path, label, "type", f"must be one of {', '.join(TYPES)} (got {kind!r})")
    if kind == "click":
        key = require_text(path, label, data, "key")
        if _bytes(key) > KEY_BYTES:
            raise ContentError(path, label, "key", f"{_bytes(key)} bytes; a key may have at most {KEY_BYTES}")
        return MenuButton(name=name, type=kind, key=key, label=label)
    url = require_text(path, label, data, "url")
    if not re.match(r"https?://[^\s/]+", url):
        raise ContentError(path, label, "url", "must be an http:// or https:// URL")
    if _bytes(url) > URL_BYTES:
        raise ContentError(path, label, "url", f"{_bytes(url)} bytes; a URL may have at most {URL_BYTES}")
    return MenuButton(name=name, type=kind, url=url, label=label)


def _button_json(button: MenuButton) -> dict[str, Any]:
    if button.sub:
        return {"name": button.name, "sub_button": [_button_json(b) for b in button.sub]}
    if button.type == "click":
        return {"type": "click", "name": button.name, "key": button.key}
    return {"type": "view", "name": button.name, "url": button.url}


def build_menu_payload(menu: Menu) -> dict[str, Any]:
    """The body of WeChat's `menu/create`: {"button": [{"name", "sub_button": [{"type", "name", "key"|"url"}]}]}."""
    return {"button": [_button_json(b) for b in menu.buttons]}


def menu_keys_have_handlers(content: Any, dispatcher: Any, config: Any) -> list[str]:
    """CROSS_CHECK: a CLICK key no handler answers would leave the citizen's tap unanswered."""
    handled = dispatcher.menu_keys()
    menu: Menu = content.menu
    return [str(ContentError(menu.path, b.label, "key", f"CLICK key {b.key!r} has no handler"))
            for b in menu.clickable() if b.key not in handled]
