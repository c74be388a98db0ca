"""Training the intent model with scikit-learn: a build step and the bench, never a serving process.

`build_weights` fits char n-gram TF-IDF + multinomial logistic regression on content/intents/,
chooses the confidence threshold and the ambiguity margin by stratified k-fold cross-validation of
those examples (out-of-fold probabilities only: the thresholds never see the message they judge),
and returns the weights as JSON-ready data. Weights are rounded to WEIGHT_DIGITS significant digits
to keep the file small; the model scikit-learn scores with is given the same rounded weights, so the
lean scorer (bot/services/intents.py) and scikit-learn agree on what is served.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from bot.services.intents import (
    BUILD_COMMAND,
    EXAMPLES_DIR,
    INTENTS,
    NGRAMS,
    WEIGHTS_FILE,
    examples_digest,
    fold,
    grams,
    labelled,
    read_examples,
)

C = 10.0  # inverse regularisation: short messages need the rare n-gram to count (chosen by cross-validation)
MIN_DF = 2  # an n-gram seen in one example only is noise (and a third of the file)
FOLDS = 5
SEED = 0
WEIGHT_DIGITS = 6
# Acting on a wrong intent costs more than asking; a question whose choices hold the right one
# still helps. The thresholds maximise this over the out-of-fold predictions.
COST_WRONG = 2.0
GAIN_ASKED_RIGHT = 0.4
CONFIDENCES = [x / 100 for x in range(20, 91, 2)]
MARGINS = [x / 100 for x in range(0, 41, 2)]
# Danger now must not be missed: the safety net's bar is the highest P(emergency) that, with emergency
# among the three likeliest intents, still reaches this share of the emergency examples out of fold
# (the classifier's own top-1 recall is lower).
NET_RECALL = 0.99
NET_BARS = [x / 100 for x in range(1, 51)]


def analyzer(text: str) -> list[str]:
    return grams(fold(text))


def pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=MIN_DF),
                         LogisticRegression(C=C, max_iter=5000))


def _round(value: float) -> float:
    return float(f"{value:.{WEIGHT_DIGITS}g}")


def fit(texts: list[str], labels: list[str]) -> Any:
    """The fitted pipeline, its weights rounded as they are served (classes in INTENTS order)."""
    import numpy as np

    model = pipeline().fit(texts, labels)
    vectorizer, classifier = model.steps[0][1], model.steps[1][1]
    order = [list(classifier.classes_).index(intent) for intent in INTENTS]
    classifier.classes_ = np.array(INTENTS)
    classifier.coef_ = np.vectorize(_round)(classifier.coef_[order])
    classifier.intercept_ = np.vectorize(_round)(classifier.intercept_[order])
    vectorizer.idf_ = np.vectorize(_round)(vectorizer.idf_)
    return model


@dataclasses.dataclass(frozen=True)
class CrossValidation:
    texts: list[str]
    labels: list[str]
    probabilities: Any  # out-of-fold, rows in `texts` order, columns in INTENTS order


def cross_validate(texts: list[str], labels: list[str], folds: int = FOLDS, seed: int = SEED) -> CrossValidation:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(texts), len(INTENTS)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, labels):
        model = fit([texts[i] for i in train], [labels[i] for i in train])
        probabilities[test] = model.predict_proba([texts[i] for i in test])
    return CrossValidation(texts, labels, probabilities)


def choose_thresholds(cv: CrossValidation) -> dict[str, float]:
    import numpy as np

    truth = np.array([INTENTS.index(label) for label in cv.labels])
    order = np.argsort(-cv.probabilities, axis=1)
    first = cv.probabilities[np.arange(len(truth)), order[:, 0]]
    second = cv.probabilities[np.arange(len(truth)), order[:, 1]]
    right = order[:, 0] == truth
    in_top3 = (order[:, :3] == truth[:, None]).any(axis=1)
    best = None
    for confidence in CONFIDENCES:
        for margin in MARGINS:
            acted = (first >= confidence) & (first - second >= margin)
            value = (acted & right).sum() - COST_WRONG * (acted & ~right).sum() + GAIN_ASKED_RIGHT * (~acted & in_top3).sum()
            if best is None or value > best[0]:
                best = (value, confidence, margin)
    assert best is not None
    column = INTENTS.index("emergency")
    in_top3 = (order[:, :3] == column).any(axis=1)
    emergency = truth == column
    net = max(bar for bar in NET_BARS if bar == NET_BARS[0]
              or ((cv.probabilities[:, column] >= bar) & in_top3)[emergency].mean() >= NET_RECALL)
    return {"confidence": best[1], "margin": best[2], "emergency_net": net}


def build_weights(directory: Path) -> dict[str, Any]:
    examples = read_examples(directory)
    texts, labels = labelled(examples)
    thresholds = choose_thresholds(cross_validate(texts, labels))
    model = fit(texts, labels)
    vectorizer, classifier = model.steps[0][1], model.steps[1][1]
    features = {}
    for gram, column in sorted(vectorizer.vocabulary_.items()):
        features[gram] = [float(vectorizer.idf_[column]), *(float(c) for c in classifier.coef_[:, column])]
    return {
        "comment": f"Generated from content/{EXAMPLES_DIR}/ by `{BUILD_COMMAND}`; do not edit.",
        "examples_sha256": examples_digest(examples),
        "model": {"features": f"char {NGRAMS[0]}-{NGRAMS[1]} grams, sublinear tf-idf, l2", "classifier":
                  f"multinomial logistic regression C={C}", "cv_folds": FOLDS, "weight_digits": WEIGHT_DIGITS},
        "intents": list(INTENTS),
        "thresholds": thresholds,
        "intercept": [float(v) for v in classifier.intercept_],
        "features": features,
    }


def write_weights(directory: Path) -> Path:
    path = directory / WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build_weights(directory)
    # One feature a line: diffs stay readable when staff add examples.
    head = {k: v for k, v in data.items() if k != "features"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "features": {']
    items = list(data["features"].items())
    for n, (gram, row) in enumerate(items):
        lines.append(json.dumps(gram, ensure_ascii=False) + ": " + json.dumps(row) + ("," if n < len(items) - 1 else ""))
    lines.append("}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
