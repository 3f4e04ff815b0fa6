"""Contextual word vectors: the mean of a word's sub-token states from a model's encoder, in a sentence.

A pre-trained encoder gives the same word different vectors in different contexts; :data:`SENSES` holds
words of the embedded corpus in two senses each, and :func:`sense_separation` measures how much closer the
vectors of one sense are to each other than to those of the other sense.
"""

from __future__ import annotations

import itertools
import re

import torch
import torch.nn.functional as F

from denoise.errors import DenoiseError
from denoise.finetune.backbone import Backbone
from denoise.tasks.framing import frame
from denoise.tasks.text import TaskTokenizer

# word -> two senses, three sentences each (in the English of the embedded corpus).
SENSES = {
    "bear": (
        [
            "The bear came out of the wood and tore them.",
            "He slew a lion and a bear.",
            "The cow and the bear shall feed.",
        ],
        ["I cannot bear this burden alone.", "She shall bear a son.", "How can I bear such grief?"],
    ),
    "lie": (
        [
            "Thou shalt not lie to thy neighbour.",
            "Do not lie to me, my lord.",
            "He that speaketh a lie shall perish.",
        ],
        [
            "Let him lie down in the grass.",
            "I will lie down in peace and sleep.",
            "There shall the beasts lie down.",
        ],
    ),
    "fair": (
        ["She is fair and lovely to look upon.", "A fair maid with golden hair.", "Thou art fair, my love."],
        ["It is not fair that he should suffer.", "Give me fair judgement, I pray.", "Is this fair dealing?"],
    ),
    "light": (
        ["God said, Let there be light.", "The light shineth in darkness.", "Put out the light, and then."],
        ["My burden is light.", "A light heart lives long.", "The box was light enough to carry."],
    ),
}


def word_index(words: list[str], word: str) -> int:
    target = word.lower()
    for i, candidate in enumerate(words):
        if re.sub(r"^\W+|\W+$", "", candidate).lower() == target:
            return i
    raise DenoiseError(f"the word {word!r} does not occur in {' '.join(words)!r}")


@torch.no_grad()
def contextual_vectors(
    backbone: Backbone, tok: TaskTokenizer, sentences: list[str], word: str
) -> torch.Tensor:
    """``[len(sentences), d]``: the mean final state of ``word``'s sub-tokens (its first occurrence) in each."""
    backbone.eval()
    vectors = []
    device = next(backbone.parameters()).device
    for sentence in sentences:
        words = sentence.split()
        index = word_index(words, word)
        ids, owners = tok.encode_words(words)
        input_ids, types = frame(tok, ids)
        positions = [len(tok.prefix) + i for i, owner in enumerate(owners) if owner == index]
        inputs = torch.tensor([input_ids], device=device)
        states = backbone(inputs, torch.ones_like(inputs), torch.tensor([types], device=device))[0]
        vectors.append(states[positions].mean(0))
    return torch.stack(vectors)


def cosine_matrix(vectors: torch.Tensor, centre: bool = False) -> torch.Tensor:
    """Cosine similarities; ``centre`` first removes the vectors' mean (what every occurrence of the word
    shares), leaving what the contexts add."""
    vectors = vectors.float()
    if centre:
        vectors = vectors - vectors.mean(0, keepdim=True)
    normal = F.normalize(vectors, dim=-1)
    return normal @ normal.T


def sense_separation(backbone: Backbone, tok: TaskTokenizer, senses: dict = SENSES) -> dict[str, dict]:
    """Per word: the mean cosine similarity of its centred vectors within a sense and across the two senses
    (a model that tells the senses apart scores within above across)."""
    report = {}
    for word, (first, second) in senses.items():
        vectors = contextual_vectors(backbone, tok, first + second, word)
        similarity = cosine_matrix(vectors, centre=True)
        n = len(first)
        within = [
            float(similarity[i, j])
            for group in (range(n), range(n, 2 * n))
            for i, j in itertools.combinations(group, 2)
        ]
        across = [float(similarity[i, j]) for i in range(n) for j in range(n, 2 * n)]
        report[word] = {"within": sum(within) / len(within), "across": sum(across) / len(across)}
    return report
