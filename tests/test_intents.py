"""The intent model: its examples are valid, its weights are current, and the lean scorer that serves
them computes what scikit-learn computes from the same weights."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.services.intents import (
    EXAMPLES_DIR,
    INTENTS,
    MIN_EXAMPLES,
    WEIGHTS_FILE,
    IntentModel,
    fold,
    labelled,
    load_intents,
    read_examples,
)
from tests.understanding_cases import CASES

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"


@pytest.fixture(scope="module")
def examples() -> dict[str, list[str]]:
    return read_examples(CONTENT)


@pytest.fixture(scope="module")
def weights() -> dict:
    return json.loads((CONTENT / WEIGHTS_FILE).read_text(encoding="utf-8"))


def test_every_intent_has_enough_examples(examples: dict[str, list[str]]) -> None:
    assert set(examples) == set(INTENTS)
    assert all(len(lines) >= MIN_EXAMPLES for lines in examples.values())
    assert sum(len(lines) for lines in examples.values()) >= 1500


def test_no_example_is_a_message_of_the_old_table(examples: dict[str, list[str]]) -> None:
    """tests/understanding_cases.py stays out of training, so it still measures something."""
    table = {fold(text) for text, _ in CASES}
    copied = [text for lines in examples.values() for text in lines if fold(text) in table]
    assert not copied, copied


def test_the_weights_are_learned_from_the_examples_as_they_are() -> None:
    load_intents(CONTENT)  # raises ContentError when content/intents changed since the last build


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT / EXAMPLES_DIR, target / EXAMPLES_DIR)
    (target / "generated").mkdir()
    shutil.copy(CONTENT / WEIGHTS_FILE, target / WEIGHTS_FILE)
    return target


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_an_added_example_makes_the_weights_stale(tmp_path: Path) -> None:
    content = _copy(tmp_path)
    _append(content / EXAMPLES_DIR / "quiz.txt", "来几道题让我练练手吧")
    with pytest.raises(ContentError, match="stale.*understanding build"):
        load_intents(content)


@pytest.mark.parametrize(("file", "line", "problem"), [
    ("quiz.txt", "排行榜前十名是谁", "already an example of leaderboard"),
    ("quiz.txt", "。。。", "only spaces or punctuation"),
])
def test_content_check_names_a_bad_example(tmp_path: Path, file: str, line: str, problem: str) -> None:
    content = _copy(tmp_path)
    if "leaderboard" in problem:
        _append(content / EXAMPLES_DIR / "leaderboard.txt", line)
    _append(content / EXAMPLES_DIR / file, line)
    with pytest.raises(ContentError, match=problem):
        read_examples(content)


def test_content_check_refuses_an_unknown_intent_and_too_few_examples(tmp_path: Path) -> None:
    content = _copy(tmp_path)
    (content / EXAMPLES_DIR / "weather.txt").write_text("今天下雨吗\n", encoding="utf-8")
    with pytest.raises(ContentError, match="unknown intent"):
        read_examples(content)
    (content / EXAMPLES_DIR / "weather.txt").unlink()
    prize = content / EXAMPLES_DIR / "prize.txt"
    prize.write_text("\n".join(prize.read_text(encoding="utf-8").splitlines()[:40]) + "\n", encoding="utf-8")
    with pytest.raises(ContentError, match=f"at least {MIN_EXAMPLES}"):
        read_examples(content)


def _sklearn_from(weights: dict):
    """scikit-learn's own TF-IDF and logistic regression, given the served weights instead of fitting."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from bot.services.intent_training import analyzer

    grams = list(weights["features"])
    table = np.array([weights["features"][g] for g in grams])
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, vocabulary={g: i for i, g in enumerate(grams)})
    vectorizer.idf_ = table[:, 0]
    classifier = LogisticRegression()
    classifier.classes_ = np.array(weights["intents"])
    classifier.coef_ = table[:, 1:].T.copy()
    classifier.intercept_ = np.array(weights["intercept"])
    return make_pipeline(vectorizer, classifier)


def test_the_lean_scorer_equals_scikit_learn_on_every_example(examples: dict[str, list[str]], weights: dict) -> None:
    texts, _ = labelled(examples)
    texts += [text for text, _ in CASES] + ["", "😀", "ABC", "參加競賽", "   "]
    expected = _sklearn_from(weights).predict_proba(texts)
    lean = IntentModel(weights)
    worst = max(abs(a - b) for text, row in zip(texts, expected, strict=True)
                for a, b in zip(lean.probabilities(text), row, strict=True))
    assert worst < 1e-9


def test_the_weights_file_is_scikit_learns_fit_of_the_examples(examples: dict[str, list[str]], weights: dict) -> None:
    """A fresh fit predicts what the committed weights predict (rounding aside)."""
    from bot.services.intent_training import fit

    texts, labels = labelled(examples)
    fresh = fit(texts, labels).predict_proba(texts)
    served = IntentModel(weights)
    worst = max(abs(a - b) for text, row in zip(texts, fresh, strict=True)
                for a, b in zip(served.probabilities(text), row, strict=True))
    assert worst < 1e-3


def test_a_serving_process_never_imports_scikit_learn() -> None:
    code = ("import sys; from bot.content import load_content; c = load_content('content'); "
            "c.intents.guess('给我来一套题'); "
            "assert not any(m == 'sklearn' or m.startswith(('sklearn.', 'scipy', 'numpy')) for m in sys.modules), "
            "[m for m in sys.modules if m.startswith(('sklearn', 'scipy', 'numpy'))]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_message_sharing_no_ngram_with_any_example_is_never_sure() -> None:
    # Only the edge marks match: the probabilities are the intercepts, the same for every such message.
    model = load_intents(CONTENT)
    for text in ("咕咕咕", "嘻嘻嘻"):
        assert not model.guess(text).sure
    assert model.guess("我要答题").sure
