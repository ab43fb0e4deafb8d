"""A word-level tokenizer built from class names: works offline, stored in ``config.json``.

The demo's tiny text encoder needs no BPE vocabulary: every class-name word
is a token. Class names are split the way UCF101 writes them
(``ApplyEyeMakeup`` → ``apply eye makeup``; ``_``, ``-`` and spaces too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

SPECIALS = ("<pad>", "<sos>", "<eos>", "<unk>")
PAD, SOS, EOS, UNK = range(len(SPECIALS))

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_words(name: str) -> list[str]:
    """Lower-case words of a class name (CamelCase, snake_case, kebab-case or spaced)."""
    words: list[str] = []
    for part in re.split(r"[\s_\-.,/]+", name):
        words.extend(w.lower() for w in _CAMEL.findall(part))
    return words


@dataclass
class WordTokenizer:
    """Maps words to ids; ids ``0..3`` are ``<pad> <sos> <eos> <unk>``."""

    words: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {w: i + len(SPECIALS) for i, w in enumerate(self.words)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> WordTokenizer:
        seen: dict[str, None] = {}
        for t in texts:
            for w in split_words(t):
                seen.setdefault(w, None)
        return cls(list(seen))

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.words)

    def encode(self, text: str) -> list[int]:
        """Word ids of ``text`` (unknown words become ``<unk>``)."""
        return [self._index.get(w, UNK) for w in split_words(text)]

    def encode_open(self, text: str, extra: dict[str, int]) -> list[int]:
        """Word ids of ``text``; a word outside the vocabulary gets id ``vocab_size + j``.

        ``extra`` collects those words (word → id, in order of first
        appearance, shared across calls), so a caller can give each one a
        fixed embedding instead of the uninformative ``<unk>``.
        """
        ids = []
        for w in split_words(text):
            i = self._index.get(w)
            ids.append(i if i is not None else extra.setdefault(w, self.vocab_size + len(extra)))
        return ids

    def unknown_words(self, texts: Iterable[str]) -> list[str]:
        return sorted({w for t in texts for w in split_words(t) if w not in self._index})

    def to_dict(self) -> dict:
        return {"type": "word", "specials": list(SPECIALS), "words": list(self.words)}

    @classmethod
    def from_dict(cls, d: dict) -> WordTokenizer:
        if d.get("type") != "word" or list(d.get("specials", [])) != list(SPECIALS):
            raise ValueError(f"not a word tokenizer description: {d!r:.200}")
        return cls(list(d["words"]))
