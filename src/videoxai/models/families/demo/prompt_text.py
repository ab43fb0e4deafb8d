"""CoOp-style class text embeddings: learned context vectors + class-name words → tiny text transformer.

Prompt of class ``k``: ``<sos> ctx_1 .. ctx_n  word_1 .. word_m <eos> <pad>...``.
The context vectors are shared by all classes (or one set per class); a
causal transformer reads the prompt and the ``<eos>`` feature, projected,
is the class embedding (as in CLIP).

Initialisation matters on the demo: class-word embeddings start larger than
the context and special tokens. With equal, small initialisations every
class prompt is dominated by the shared tokens, all class embeddings start at
cosine ≈ 0.99 and training sits at loss ln K.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from videoxai.models.families.demo.tokenizer import EOS, PAD, SOS, SPECIALS, WordTokenizer

DEFAULT_TEMPLATE = "a video of a person {}."


def fallback_vectors(words: Sequence[str], width: int, std: float) -> torch.Tensor:
    """Fixed embeddings ``(len(words), width)`` for words outside a word vocabulary.

    Each row is drawn from a generator seeded by the word's sha256: the same
    on every machine and run, independent of the global RNG, and what an
    untrained vocabulary entry would hold (a random vector at the word-init
    scale). Template words a demo model never saw get these; a checkpoint's
    learned weights are untouched.
    """
    out = torch.empty(len(words), width)
    for i, word in enumerate(words):
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little") >> 1
        out[i] = torch.randn(width, generator=torch.Generator().manual_seed(seed)) * std
    return out


def embed_tokens(embedding: nn.Embedding, ids: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
    """Token embeddings where ids ``>= vocab size`` index ``extra`` (see :func:`fallback_vectors`)."""
    if extra.shape[0] == 0:  # the learned-prompt path: exactly the plain lookup
        return embedding(ids)
    return F.embedding(ids, torch.cat([embedding.weight, extra.to(embedding.weight)]))


class HandcraftedPrompts:
    """Mixin: ``set_handcrafted_prompts`` for a text side whose ``set_class_names`` reads ``handcrafted``/``template``.

    Switching is transactional: a template the model cannot tokenize leaves
    the previous prompts in place.
    """

    handcrafted: bool
    template: str
    class_names: list[str]

    def set_handcrafted_prompts(self, on: bool = True, template: str | None = None) -> None:
        """Use a fixed template (e.g. ``"a video of a person {}."``) instead of the learned context."""
        if template is not None and "{}" not in template:
            raise ValueError(f"a prompt template needs a '{{}}' where the class name goes, got {template!r}")
        before = (self.handcrafted, self.template)
        self.handcrafted, self.template = bool(on), template or self.template
        try:
            self.set_class_names(self.class_names)  # type: ignore[attr-defined]
        except ValueError:
            self.handcrafted, self.template = before  # leave the model as it was
            raise


@dataclass(frozen=True)
class PromptTextConfig:
    """Hyper-parameters of :class:`PromptTextEncoder`."""

    n_ctx: int = 4
    class_specific_context: bool = False
    width: int = 64
    layers: int = 1
    heads: int = 4
    embed_dim: int = 64
    max_words: int = 12
    context_init_std: float = 0.02
    word_init_std: float = 1.0
    norm_first: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class PromptTextEncoder(HandcraftedPrompts, nn.Module):
    """Computes one embedding per class name from learned context + word tokens."""

    def __init__(
        self,
        cfg: PromptTextConfig,
        tokenizer: WordTokenizer,
        class_names: Sequence[str],
    ):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.seq_len = 1 + cfg.n_ctx + cfg.max_words + 1
        self.token_embedding = nn.Embedding(tokenizer.vocab_size, cfg.width)
        with torch.no_grad():
            self.token_embedding.weight.normal_(0.0, cfg.word_init_std)
            self.token_embedding.weight[: len(SPECIALS)].normal_(0.0, cfg.context_init_std)
        n_sets = len(class_names) if cfg.class_specific_context else 1
        self.context = nn.Parameter(torch.randn(n_sets, cfg.n_ctx, cfg.width) * cfg.context_init_std)
        self.positional = nn.Parameter(torch.randn(self.seq_len, cfg.width) * 0.01)
        layer = nn.TransformerEncoderLayer(
            cfg.width,
            cfg.heads,
            2 * cfg.width,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=cfg.norm_first,
        )
        self.transformer = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        self.projection = nn.Linear(cfg.width, cfg.embed_dim, bias=False)
        self.register_buffer(
            "causal_mask",
            nn.Transformer.generate_square_subsequent_mask(self.seq_len),
            persistent=False,
        )
        self.handcrafted = False
        self.template = DEFAULT_TEMPLATE
        self.set_class_names(class_names)

    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Re-tokenize for a (possibly different) class list; learned context is kept.

        A class-name word the tokenizer never saw would make that class's
        embedding uninformative, so this raises. A handcrafted template's
        words carry no class information: those outside the vocabulary get
        fixed per-word vectors (:func:`fallback_vectors`), so any template
        runs on any demo checkpoint.
        """
        unknown = self.tokenizer.unknown_words(class_names)
        if unknown:
            raise ValueError(
                f"the class names contain words this model's tokenizer has never seen: {unknown}; a word-level "
                "demo text encoder cannot embed new class words (use a CLIP-backbone model, or a demo model "
                "trained with those words in its vocabulary)"
            )
        if self.cfg.class_specific_context and len(class_names) != self.context.shape[0]:
            raise ValueError(
                f"class-specific context was learned for {self.context.shape[0]} classes, got {len(class_names)}"
            )
        ids = torch.full((len(class_names), self.seq_len), PAD, dtype=torch.long)
        eos_at = torch.empty(len(class_names), dtype=torch.long)
        extra: dict[str, int] = {}  # template words outside the vocabulary
        for k, name in enumerate(class_names):
            if self.handcrafted:  # "<sos> a video of a person move right <eos>": no learned context
                words = self.tokenizer.encode_open(self.template.format(name), extra)[: self.seq_len - 2]
                row = [SOS] + words + [EOS]
            else:
                words = self.tokenizer.encode(name)[: self.cfg.max_words]
                row = [SOS] + [PAD] * self.cfg.n_ctx + words + [EOS]
            if not words:
                raise ValueError(f"class name {name!r} has no words")
            ids[k, : len(row)] = torch.tensor(row)
            eos_at[k] = len(row) - 1
        device = self.token_embedding.weight.device
        oov = fallback_vectors(list(extra), self.cfg.width, self.cfg.word_init_std)
        self.register_buffer("token_ids", ids.to(device), persistent=False)
        self.register_buffer("eos_at", eos_at.to(device), persistent=False)
        self.register_buffer("oov_embedding", oov.to(device), persistent=False)
        self.class_names = list(class_names)

    def forward(self) -> torch.Tensor:
        """Class embeddings ``(K, embed_dim)`` (not normalised)."""
        k = self.token_ids.shape[0]
        x = embed_tokens(self.token_embedding, self.token_ids, self.oov_embedding)
        if not self.handcrafted:
            ctx = self.context.expand(k, -1, -1)
            x = torch.cat([x[:, :1], ctx, x[:, 1 + self.cfg.n_ctx :]], dim=1)
        x = x + self.positional
        x = self.transformer(x, mask=self.causal_mask, is_causal=True)
        x = self.norm(x[torch.arange(k, device=x.device), self.eos_at])
        return self.projection(x)
