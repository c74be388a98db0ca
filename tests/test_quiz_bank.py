"""The question bank loader: the shipped bank loads; every broken question is named by file, id and field."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.services.quiz.bank import CATEGORIES, load_bank

ROOT = Path(__file__).resolve().parent.parent

GOOD = '''
[[question]]
id = "t-001"
category = "fire"
kind = "single"
text = "火警电话是？"
options = ["110", "119"]
answer = "B"
explanation = "119。"
source = "《消防法》"
'''


def write(tmp_path: Path, name: str, body: str) -> Path:
    (tmp_path / "quiz").mkdir(exist_ok=True)
    (tmp_path / "quiz" / name).write_text(body, encoding="utf-8")
    return tmp_path


def test_shipped_bank_loads_with_stable_unique_ids() -> None:
    bank = load_bank(ROOT / "content")
    assert len(bank) >= 12
    assert len({q.id for q in bank.questions}) == len(bank)
    assert {q.category for q in bank.questions} <= set(CATEGORIES)
    assert bank.get("basics-006").answer == "ABD"


@pytest.mark.parametrize(("change", "field", "problem"), [
    (('answer = "B"', 'answer = "C"'), "answer", "not among the options"),
    (('kind = "single"', 'kind = "multiple"'), "answer", "two or more"),
    (('explanation = "119。"', 'explanation = "  "'), "explanation", "empty"),
    (('kind = "single"', 'kind = "essay"'), "kind", "unknown kind"),
    (('category = "fire"', 'category = "weather"'), "category", "unknown category"),
    (('kind = "single"', 'kind = "truefalse"'), "options", "no options"),
    (('options = ["110", "119"]', 'options = ["110"]'), "options", "2 to 6"),
    (('source = "《消防法》"', 'sauce = "《消防法》"'), "sauce", "unknown field"),
])
def test_broken_questions_are_named(tmp_path: Path, change: tuple[str, str], field: str, problem: str) -> None:
    write(tmp_path, "fire.toml", GOOD.replace(*change))
    with pytest.raises(ContentError) as caught:
        load_bank(tmp_path)
    err = caught.value
    assert (Path(err.file).name, err.entry, err.field) == ("fire.toml", "t-001", field)
    assert problem in err.problem


def test_truefalse_answers_are_dui_or_cuo(tmp_path: Path) -> None:
    body = GOOD.replace('kind = "single"', 'kind = "truefalse"').replace('options = ["110", "119"]\n', "")
    write(tmp_path, "a.toml", body.replace('answer = "B"', 'answer = "对"'))
    assert load_bank(tmp_path).get("t-001").answer == "对"
    write(tmp_path, "a.toml", body)
    with pytest.raises(ContentError, match="answer"):
        load_bank(tmp_path)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD)
    with pytest.raises(ContentError) as caught:
        load_bank(tmp_path)
    assert (Path(caught.value.file).name, caught.value.entry, caught.value.field) == ("b.toml", "t-001", "id")
    assert "a.toml" in caught.value.problem


def test_content_check_names_the_problem(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "quiz" / "zz.toml").write_text(GOOD.replace('answer = "B"', 'answer = "F"'), encoding="utf-8")
    env = {"BOT_CONTENT_DIR": str(content), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bot", "content", "check"], capture_output=True, text=True,
                         cwd=ROOT, env=env)
    assert out.returncode == 1
    assert "zz.toml: t-001: answer:" in out.stderr
