"""Near-duplicate questions: the same fact asked twice (often in different files) makes a round
lopsided and a full-marks contest easier for some than for others.

Stems are compared by the cosine of their character bigrams, each weighted by its IDF over the
bank, so quiz boilerplate ("下列做法正确的是") counts for little and the words of the fact count for
much. `content check` flags every pair at or above THRESHOLD unless the two share a `group` (the
round picker then never puts both in one round) or one lists the other in `distinct_from` (staff
checked that they ask different facts).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.services.quiz.bank import Question

# Tuned on the 2021 bank: the nine same-fact pairs of issue 18 that share their wording score
# 0.41-1.00; the highest pair of different facts 0.46 (both "预防儿童…，下列做法正确的是"), so a few
# different-fact pairs above the line are allow-listed rather than missing a same-fact pair below it.
THRESHOLD = 0.40

_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def stem_bigrams(text: str) -> set[str]:
    plain = _NOT_TEXT.sub("", text)
    return {plain[i:i + 2] for i in range(len(plain) - 1)} or {plain}


@dataclasses.dataclass(frozen=True)
class Pair:
    first: Question
    second: Question
    similarity: float


def similar_pairs(questions: Sequence[Question], threshold: float = THRESHOLD) -> list[Pair]:
    """Every pair of questions whose stems are at least `threshold` alike, most alike first."""
    grams = [stem_bigrams(q.text) for q in questions]
    df = Counter(g for text in grams for g in text)
    n = len(questions)
    idf = {g: math.log((n + 1) / count) for g, count in df.items()}
    norms = [math.sqrt(sum(idf[g] ** 2 for g in text)) for text in grams]
    pairs = []
    for i, j in itertools.combinations(range(n), 2):
        shared = grams[i] & grams[j]
        if not shared or not norms[i] or not norms[j]:
            continue
        similarity = sum(idf[g] ** 2 for g in shared) / (norms[i] * norms[j])
        if similarity >= threshold:
            pairs.append(Pair(questions[i], questions[j], round(similarity, 2)))
    pairs.sort(key=lambda p: (-p.similarity, p.first.id, p.second.id))
    return pairs


def accepted(pair: Pair) -> bool:
    """Grouped (never in one round) or allow-listed as different facts."""
    a, b = pair.first, pair.second
    return (bool(a.group) and a.group == b.group) or b.id in a.distinct_from or a.id in b.distinct_from


def check_near_duplicates(content: Any, _dispatcher: Any, _config: Any) -> list[str]:
    bank = content.quiz
    problems = [f"content/quiz: {p.first.id} ({p.first.file}) and {p.second.id} ({p.second.file}): stems "
                f"{p.similarity:.2f} alike (at least {THRESHOLD}): if they ask the same fact, keep one or give "
                f"both the same group; if not, list the other in distinct_from"
                for p in similar_pairs(bank.questions) if not accepted(p)]
    known = {q.id for q in bank.questions}
    for question in bank.questions:
        problems += [f"content/quiz/{question.file}: {question.id}: distinct_from: no question {other!r}"
                     for other in question.distinct_from if other not in known]
    return problems
