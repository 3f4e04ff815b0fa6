"""Word counts of texts, and two models fitted on them in seconds, for the baselines that need no
pre-training (:meth:`denoise.tasks.kind.Kind.baseline`): a multinomial naive Bayes classifier and ridge
regression (its penalty chosen on a held-out fifth of the training documents).

A text's features are its lowercased word tokens (letters, digits and underscores, with one inner
apostrophe kept: ``it's``, ``n't``). A sentence pair's words are marked by side, ``a:word`` and ``b:word``: a
word says something else in a hypothesis than in a premise (negation words in a hypothesis signal
contradiction), and counting each word once per side keeps naive Bayes from counting the same evidence
twice, as unmarked copies beside the marked ones would.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Hashable, Sequence

import torch

from denoise.errors import DenoiseError

_WORD = re.compile(r"\w+(?:'\w+)?")


def words(text: str) -> list[str]:
    """The lowercased word tokens of ``text``."""
    return _WORD.findall(text.lower())


def word_counts(text: str, pair: str | None = None) -> Counter[str]:
    """The features of a text, or of a pair with each side's words prefixed ``a:`` and ``b:``."""
    if pair is None:
        return Counter(words(text))
    return Counter([f"a:{word}" for word in words(text)] + [f"b:{word}" for word in words(pair)])


def _check_training(documents: Sequence[Counter], targets: Sequence, what: str) -> None:
    if len(documents) != len(targets):
        raise DenoiseError(f"{len(documents)} documents but {len(targets)} {what}; give one for each")
    if not documents:
        raise DenoiseError(f"no training documents to fit {what} on; fill the training split")


class NaiveBayes:
    """Multinomial naive Bayes with Laplace (add-``smoothing``) estimates of each class's word
    probabilities. Words never seen in training are ignored; ties go to the class first in sorted order."""

    def __init__(self, documents: Sequence[Counter], labels: Sequence[Hashable], smoothing: float = 1.0):
        _check_training(documents, labels, "labels")
        if smoothing <= 0:
            raise DenoiseError(f"smoothing {smoothing} must be above 0 (1 is Laplace's)")
        self.classes = sorted(set(labels))
        class_counts = Counter(labels)
        self.log_priors = [math.log(class_counts[c] / len(labels)) for c in self.classes]
        per_class = {c: Counter() for c in self.classes}
        for document, label in zip(documents, labels):
            per_class[label].update(document)
        vocabulary = set().union(*per_class.values())
        denominators = [sum(per_class[c].values()) + smoothing * len(vocabulary) for c in self.classes]
        self.log_likelihoods = {
            word: [math.log((per_class[c][word] + smoothing) / d) for c, d in zip(self.classes, denominators)]
            for word in vocabulary
        }

    def log_joint(self, document: Counter) -> list[float]:
        """log P(class) + log P(document | class) for each class, up to the multinomial coefficient."""
        scores = list(self.log_priors)
        for word, count in document.items():
            likelihoods = self.log_likelihoods.get(word)
            if likelihoods is not None:
                scores = [s + count * x for s, x in zip(scores, likelihoods)]
        return scores

    def posterior(self, document: Counter) -> dict[Hashable, float]:
        """P(class | document) for each class."""
        scores = self.log_joint(document)
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        return {c: w / total for c, w in zip(self.classes, weights)}

    def predict(self, documents: Sequence[Counter]) -> list[Hashable]:
        predictions = []
        for document in documents:
            scores = self.log_joint(document)
            predictions.append(self.classes[scores.index(max(scores))])
        return predictions


class RidgeRegression:
    """Least squares on word counts with an L2 ``penalty`` on the word weights (not on the intercept),
    over the ``max_features`` words found in most training documents (ties in alphabetical order). With
    no words, it predicts the training mean.

    With ``penalty=None`` the penalty is the one of ``PENALTIES`` that, fitted on four fifths of the
    training documents (a fixed shuffle), predicts the other fifth with the least squared error; the final
    fit uses every document. Fewer than ``MIN_HELD_OUT`` held-out documents: a penalty of 1."""

    CHUNK = 1024  # documents per block of the count matrix while fitting
    PENALTIES = (0.1, 1.0, 10.0, 100.0)
    MIN_HELD_OUT = 5

    def __init__(
        self,
        documents: Sequence[Counter],
        targets: Sequence[float],
        penalty: float | None = None,
        max_features: int = 2048,
    ):
        _check_training(documents, targets, "targets")
        if penalty is not None and penalty <= 0:
            raise DenoiseError(f"penalty {penalty} must be above 0")
        frequency = Counter(word for document in documents for word in document)
        kept = sorted(frequency, key=lambda word: (-frequency[word], word))[:max_features]
        self.index = {word: i for i, word in enumerate(kept)}
        order = list(range(len(documents)))
        random.Random(0).shuffle(order)
        held = len(order) // 5 if penalty is None and len(order) // 5 >= self.MIN_HELD_OUT else 0
        fitted, held_out = (
            self._normal_equations([documents[i] for i in part], [targets[i] for i in part])
            for part in (order[held:], order[:held])
        )
        self.penalty = penalty or (self._best_penalty(fitted, held_out) if held else 1.0)
        gram, moments, _ = (a + b for a, b in zip(fitted, held_out))
        solution = self._solve(gram, moments, self.penalty)
        self.weights = {word: float(solution[i]) for word, i in self.index.items()}
        self.intercept = float(solution[-1])

    def _design(self, documents: Sequence[Counter]) -> torch.Tensor:
        """The count matrix, one row per document, with a last column of ones (the intercept)."""
        design = torch.zeros(len(documents), len(self.index) + 1, dtype=torch.float64)
        design[:, -1] = 1.0
        for row, document in enumerate(documents):
            for word, count in document.items():
                if word in self.index:
                    design[row, self.index[word]] = count
        return design

    def _normal_equations(self, documents: Sequence[Counter], targets: Sequence[float]) -> tuple:
        """``X^T X``, ``X^T y`` and ``y^T y`` for the count matrix ``X`` of ``documents``, summed over chunks
        of them (so that ``X`` is never held whole)."""
        size = len(self.index) + 1
        gram = torch.zeros(size, size, dtype=torch.float64)
        moments = torch.zeros(size, dtype=torch.float64)
        y = torch.tensor([float(target) for target in targets], dtype=torch.float64)
        for start in range(0, len(documents), self.CHUNK):
            design = self._design(documents[start : start + self.CHUNK])
            gram += design.T @ design
            moments += design.T @ y[start : start + self.CHUNK]
        return gram, moments, y @ y

    @staticmethod
    def _solve(gram: torch.Tensor, moments: torch.Tensor, penalty: float) -> torch.Tensor:
        """The weights (the intercept last) minimising squared error plus ``penalty`` times their squares."""
        ridge = torch.full((gram.shape[0],), penalty, dtype=torch.float64)
        ridge[-1] = 0.0  # the intercept is not shrunk
        return torch.linalg.solve(gram + torch.diag(ridge), moments)

    def _best_penalty(self, fitted: tuple, held_out: tuple) -> float:
        """The penalty of least held-out squared error, ``y^T y - 2 w^T X^T y + w^T X^T X w``."""
        gram, moments, squares = held_out

        def error(penalty: float) -> float:
            w = self._solve(fitted[0], fitted[1], penalty)
            return float(squares - 2 * w @ moments + w @ gram @ w)

        return min(self.PENALTIES, key=error)

    def predict(self, documents: Sequence[Counter]) -> list[float]:
        return [
            self.intercept + sum(count * self.weights.get(word, 0.0) for word, count in document.items())
            for document in documents
        ]
