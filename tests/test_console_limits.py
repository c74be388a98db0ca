"""Oversized input in the console (issue 17 item 4): every length a form advertises is checked on
the server, paging arguments are bounded, numbers cannot overflow a column. The oracle is what the
templates advertise, read here from the template files themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from bot.console.limits import UNNAMED, label_of
from tests.console import ConsoleClient, add_staff
from tests.reports_helpers import file_report
from tests.wechat import Citizen

DEFAULT_FIELD_CAP = 1000  # for fields that advertise no maxlength (README, console)
MAX_PAGE = 10_000
TEMPLATES = Path(__file__).resolve().parent.parent / "bot" / "console" / "templates" / "console"
_FORM = re.compile(r"<form\b(.*?)>(.*?)</form>", re.S)
_FIELD = re.compile(r"<(?:input|textarea|select)\b([^>]*)>")


def advertised_fields() -> list[tuple[str, str, int | None]]:
    """(endpoint, field, maxlength or None) for every field of every POST form in the templates."""
    found = []
    for path in sorted(TEMPLATES.glob("*.html")):
        for attrs, body in _FORM.findall(path.read_text(encoding="utf-8")):
            action = re.search(r"url_for\('([^']+)'", attrs)
            if 'method="post"' not in attrs or action is None:
                continue
            for field in _FIELD.findall(body):
                name = re.search(r'name="(\w+)"', field)
                if name is None or name.group(1) == "csrf_token":
                    continue
                length = re.search(r'maxlength="(\d+)"', field)
                found.append((action.group(1), name.group(1), int(length.group(1)) if length else None))
    return sorted(set(found))


FIELDS = advertised_fields()


def test_the_templates_were_read() -> None:
    advertised = [f for f in FIELDS if f[2] is not None]
    assert len(advertised) >= 10 and ("console.report_note", "text", 1000) in advertised


@pytest.fixture
def admin(app) -> ConsoleClient:
    add_staff(app, "boss", "admin")
    console = ConsoleClient(app.test_client())
    assert console.login("boss").status_code == 302
    return console


# Forms whose view checks lengths itself, after the fields it needs first.
COMPLETE_FORMS = {"console.quiz_draw_create": {"title": "周抽奖", "prize": "灭火器", "winners": "1",
                                               "start": "2021-06-01", "end": "2021-06-01"}}


def url_of(app, endpoint: str) -> str:
    [rule] = list(app.url_map.iter_rules(endpoint))
    values = {name: 1 if isinstance(converter, IntegerConverter) else "X"
              for name, converter in rule._converters.items()}
    with app.test_request_context():
        return url_for(endpoint, **values)


@pytest.mark.parametrize("endpoint, field, maxlength", FIELDS, ids=[f"{e}.{f}" for e, f, _ in FIELDS])
def test_a_field_past_its_length_is_a_chinese_400(app, admin, endpoint: str, field: str, maxlength: int | None) -> None:
    """A Chinese 400 page, or the form's own Chinese error naming the length."""
    cap = maxlength or DEFAULT_FIELD_CAP
    response = admin.post(url_of(app, endpoint), COMPLETE_FORMS.get(endpoint, {}) | {field: "长" * (cap + 1)})
    if response.status_code == 302:  # the view refused it with a flashed form error
        text = admin.get(response.headers["Location"]).get_data(as_text=True)
        assert f"不能超过 {cap} 个字" in text, (endpoint, field)
        return
    assert response.status_code == 400, (endpoint, field)
    text = response.get_data(as_text=True)
    assert f"最多 {cap} 个字" in text and "操作未执行" in text


def test_a_broadcast_title_past_64_is_not_stored(app, admin) -> None:
    from bot.models import Broadcast

    form = {"kind": "text", "title": "防" * 65, "content": "明天有暴雨，请远离河道。", "audience": "all"}
    assert admin.post("/console/broadcasts/compose", form).status_code == 400
    with app.extensions["bot"].db.session() as s:
        assert s.query(Broadcast).count() == 0


@pytest.mark.parametrize("page", ["99999999999999999999", str(MAX_PAGE + 1), "abc", "0", "-1"])
@pytest.mark.parametrize("path", ["/console/reports", "/console/audit"])
def test_a_page_number_out_of_range_is_a_chinese_400(admin, path: str, page: str) -> None:
    response = admin.get(f"{path}?page={page}")
    assert response.status_code == 400
    assert "页码须是 1 到" in response.get_data(as_text=True)
    assert admin.get(f"{path}?page=2").status_code == 200


def test_a_long_query_argument_is_a_chinese_400(admin) -> None:
    response = admin.get("/console/audit?target=" + "x" * 201)
    assert response.status_code == 400 and "最多 200 个字" in response.get_data(as_text=True)


def test_a_reward_amount_too_large_for_its_column_is_a_form_error(app, admin, wechat) -> None:
    ticket, _ = file_report(Citizen(wechat, "o_reward"))
    response = admin.post(f"/console/reports/{ticket}/reward", {"eligible": "1", "amount": "9" * 30})
    # The field advertises 7 characters (issue 20): the length check answers before the view.
    assert response.status_code == 400 and "“金额”最多 7 个字" in response.get_data(as_text=True)
    response = admin.post(f"/console/reports/{ticket}/reward", {"eligible": "1", "amount": "9" * 7})
    assert response.status_code == 302


# Inputs a person types free text into; the others offer choices (or are hidden, or a date or a number).
TYPED = re.compile(r'type="(?:hidden|radio|checkbox|date|time|datetime-local|number|submit)"')


def test_every_typed_field_advertises_its_length() -> None:
    """Every field staff type into says how long it may be (issue 20): the server then checks that length
    (the test above), so nothing falls to the blanket cap unannounced."""
    unannounced = []
    for path in sorted(TEMPLATES.glob("*.html")):
        for _attrs, body in _FORM.findall(path.read_text(encoding="utf-8")):
            for field in re.findall(r"<(?:input|textarea)\b([^>]*)>", body):
                if TYPED.search(field) or 'name="csrf_token"' in field or "maxlength=" in field:
                    continue
                unannounced.append((path.name, re.search(r'name="(\w+)"', field).group(1)))
    assert unannounced == []


_NAMED = re.compile(r'<(?:input|textarea|select)\b[^>]*\bname="(\w+)"')


def test_every_field_a_template_names_is_refused_in_chinese() -> None:
    names = {n for path in TEMPLATES.glob("*.html") for n in _NAMED.findall(path.read_text(encoding="utf-8"))}
    names -= {"csrf_token"}
    assert len(names) >= 30
    unlabelled = sorted(n for n in names if label_of(n) == UNNAMED)
    assert unlabelled == []
    assert label_of("a_field_added_later") == UNNAMED  # never its code name


def test_a_too_long_filter_is_named_in_chinese(admin) -> None:
    page = admin.get("/console/audit?actor=" + "x" * 201).get_data(as_text=True)
    assert "“操作人”最多 200 个字" in page and "actor" not in page.split("<main", 1)[-1]
