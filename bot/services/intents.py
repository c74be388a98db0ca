"""What a citizen wants, learned from examples (`content/intents/<intent>.txt`, one message a line).

The model is a character n-gram TF-IDF + multinomial logistic regression trained with scikit-learn
at build time (`python -m bot understanding build`, bot/services/intent_training.py) and written as
text to `content/generated/intents.json`. Serving never imports scikit-learn (~120 MB, 1.5 s per
process): `IntentModel` recomputes the same probabilities from the weights with a few dict lookups
over the n-grams of one message (tests/test_intents.py holds the two equal).

A message is folded first (traditional → simplified by OpenCC, lower case, digits as 0, no spaces or
punctuation) so that 參加競賽 and 参加竞赛 are one message to the model.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import unicodedata
from operator import add
from pathlib import Path
from typing import Any

from bot.content import ContentError
from bot.services.script import to_simplified

INTENTS = ("help", "greeting", "quiz", "leaderboard", "my_score", "prize", "report", "hazard_statement",
           "my_reports", "ticket_query", "events", "township", "knowledge", "emergency", "out_of_scope")
EXAMPLES_DIR = "intents"
WEIGHTS_FILE = Path("generated") / "intents.json"
BUILD_COMMAND = "python -m bot understanding build"
MIN_EXAMPLES = 80  # per intent: fewer leaves the classifier guessing from a handful of words
NGRAMS = (1, 3)
START, END = "^", "$"  # mark the message's edges: "吗$" and "^我要" say more than 吗 and 我要


@functools.cache
def _dropped() -> dict[int, None]:
    """Spaces, punctuation and control characters (built once, on first use)."""
    return {cp: None for cp in range(0x3100) if unicodedata.category(chr(cp))[0] in "PZC"} | {
        cp: None for cp in range(0xFE10, 0x10000) if unicodedata.category(chr(cp))[0] in "PZC"}


_DIGITS = str.maketrans("123456789", "000000000")


def fold(text: str) -> str:
    """The message as the model reads it: simplified, lower case, digits as 0, no spaces or punctuation."""
    return to_simplified(text).lower().translate(_dropped()).translate(_DIGITS)


def grams(folded: str) -> list[str]:
    """Character n-grams of a folded message with its edges marked (the analyzer at build time too)."""
    marked = START + folded + END
    low, high = NGRAMS
    out = []
    for n in range(low, high + 1):
        out.extend(marked[i:i + n] for i in range(len(marked) - n + 1))
    return out


# --- the examples ---------------------------------------------------------------------------------

def read_examples(directory: Path) -> dict[str, list[str]]:
    """intent -> its example messages, validated: known intents only, each with MIN_EXAMPLES or more,
    no example that folds to nothing, none twice (within or across intents)."""
    folder = directory / EXAMPLES_DIR
    if not folder.is_dir():
        raise ContentError(folder, "-", "-", "folder not found")
    examples: dict[str, list[str]] = {}
    seen: dict[str, tuple[str, int]] = {}
    for path in sorted(folder.glob("*.txt")):
        intent = path.stem
        if intent not in INTENTS:
            raise ContentError(path, intent, "file name", f"unknown intent (known: {', '.join(INTENTS)})")
        lines = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            key = fold(text)
            if not key:
                raise ContentError(path, f"line {number}", "example", "only spaces or punctuation")
            if key in seen:
                other, at = seen[key]
                raise ContentError(path, f"line {number}", "example",
                                   f"“{text}” is already an example of {other} (line {at})")
            seen[key] = (intent, number)
            lines.append(text)
        examples[intent] = lines
    for intent in INTENTS:
        count = len(examples.get(intent, ()))
        if count < MIN_EXAMPLES:
            raise ContentError(folder / f"{intent}.txt", intent, "examples",
                               f"{count} examples, at least {MIN_EXAMPLES} needed")
    return {intent: examples[intent] for intent in INTENTS}


def examples_digest(examples: dict[str, list[str]]) -> str:
    """What the weights were learned from: the examples' text, intent by intent."""
    digest = hashlib.sha256()
    for intent in INTENTS:
        digest.update(f"\x1e{intent}\x1f".encode())
        digest.update("\x1f".join(examples[intent]).encode())
    return digest.hexdigest()


# --- serving --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Guess:
    """The intents best first with their probabilities, and whether the first is sure enough to act on."""

    ranked: tuple[tuple[str, float], ...]
    sure: bool

    @property
    def intent(self) -> str:
        return self.ranked[0][0]

    @property
    def confidence(self) -> float:
        return self.ranked[0][1]


def probability_of(guess: Guess, intent: str) -> float:
    return next(p for name, p in guess.ranked if name == intent)


class IntentModel:
    def __init__(self, data: dict[str, Any]) -> None:
        self.intents: tuple[str, ...] = tuple(data["intents"])
        self.confidence: float = data["thresholds"]["confidence"]
        self.margin: float = data["thresholds"]["margin"]
        self.emergency_net: float = data["thresholds"]["emergency_net"]
        self._intercept = tuple(data["intercept"])
        # gram -> (idf, idf × coefficient of each intent): the product is the only per-gram work.
        self._idf: dict[str, float] = {}
        self._rows: dict[str, tuple[float, ...]] = {}
        for gram, (idf, *coefficients) in data["features"].items():
            self._idf[gram] = idf
            self._rows[gram] = tuple(idf * c for c in coefficients)
        # A message is guessed once, though routing and its handler may ask in separate contexts.
        self.guess = functools.lru_cache(maxsize=1024)(self._guess)

    def probabilities(self, text: str) -> list[float]:
        """P(intent | text) in the order of `intents`, as scikit-learn's predict_proba computes it:
        sublinear tf × idf, l2-normalised, linear scores, softmax."""
        counts: dict[str, int] = {}
        for gram in grams(fold(text)):
            if gram in self._rows:
                counts[gram] = counts.get(gram, 0) + 1
        scores = list(self._intercept)
        if counts:
            sums = [0.0] * len(scores)
            squares = 0.0
            for gram, count in counts.items():
                if count == 1:  # most n-grams of a short message: tf is 1, a plain sum is enough
                    squares += self._idf[gram] ** 2
                    sums = list(map(add, sums, self._rows[gram]))
                    continue
                tf = 1.0 + math.log(count)
                squares += (tf * self._idf[gram]) ** 2
                sums = [s + tf * r for s, r in zip(sums, self._rows[gram], strict=True)]
            norm = math.sqrt(squares)
            scores = [i + s / norm for s, i in zip(sums, self._intercept, strict=True)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def may_be_danger(self, text: str) -> bool:
        """Emergency among the three likeliest intents, at or above the safety net's bar (chosen for
        recall by the build, so it is sometimes a false alarm)."""
        ranked = self.guess(text).ranked
        return any(name == "emergency" and p >= self.emergency_net for name, p in ranked[:3])

    def _guess(self, text: str) -> Guess:
        ranked = sorted(zip(self.intents, self.probabilities(text), strict=True), key=lambda p: -p[1])
        first, second = ranked[0][1], ranked[1][1]
        sure = first >= self.confidence and first - second >= self.margin and self._has_evidence(text)
        return Guess(tuple(ranked), sure)

    def _has_evidence(self, text: str) -> bool:
        """Some n-gram besides the edge marks is known: without one ("咕咕咕") the probabilities are
        the intercepts alone, a prior that says nothing about this message."""
        return any(gram in self._rows for gram in grams(fold(text)) if gram not in (START, END))


def load_intents(directory: Path) -> IntentModel:
    """The served model; refuses weights learned from other examples than those in content/intents."""
    digest = examples_digest(read_examples(directory))
    path = directory / WEIGHTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(path, "-", "-", f"missing: run `{BUILD_COMMAND}`") from None
    except json.JSONDecodeError as exc:
        raise ContentError(path, "-", "-", f"not valid JSON ({exc}): run `{BUILD_COMMAND}`") from None
    if data.get("examples_sha256") != digest:
        raise ContentError(path, "-", "examples_sha256", f"stale against content/{EXAMPLES_DIR}/: run `{BUILD_COMMAND}`")
    if tuple(data.get("intents", ())) != INTENTS:
        raise ContentError(path, "-", "intents", f"not the intents the code knows: run `{BUILD_COMMAND}`")
    return IntentModel(data)


def labelled(examples: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(texts, intents) flattened in a stable order, for training and cross-validation."""
    texts: list[str] = []
    labels: list[str] = []
    for intent in INTENTS:
        texts.extend(examples[intent])
        labels.extend([intent] * len(examples[intent]))
    return texts, labels
