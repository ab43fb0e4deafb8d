"""Prompt-tuning's text side: tokenized class names, CoOp prompt assembly, its two text encoder paths.

Learned prompts (ContextLearners.py:77-104, CoOp.py:190-208): each class name
is tokenized verbatim (``Playing_Guitar`` as written) by CLIP's tokenizer,
padded to the longest, and embedded by ``clip.text_model.embeddings``, so its
tokens carry the position embeddings of their *unshifted* positions. The
prompt is ``[BOS, ctx_1..ctx_n, class tokens.., EOS, pads..]``; the context
vectors get no position embedding. The text encoder then runs with **no
causal and no padding mask** and **no final_layer_norm**; the feature is the
token at ``mask.sum() - 1`` (the EOS), projected by ``text_projection``.

Hand-crafted prompts (``use-handcrafted-prompts``, ContextLearners.py:65-123):
``f"{regularisation-text} {class}"`` through CLIP's standard text path
(``get_text_features``: causal and padding masks, final LayerNorm, first-EOS
pooling, projection).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from videoxai.models.families.prompt_tuning.layers import causal_bias, encoder_layer


class OpenClipTokenizer:
    """CLIP's BPE from open_clip's bundled vocabulary, for a backbone that ships no tokenizer files.

    Same ids as Hugging Face's CLIP tokenizer for ordinary text; pads with
    ``<|endoftext|>`` as the openai checkpoints' tokenizer does.
    """

    def __init__(self) -> None:
        from open_clip.tokenizer import SimpleTokenizer

        self._tok = SimpleTokenizer()
        self.bos, self.eos = self._tok.sot_token_id, self._tok.eot_token_id

    def __call__(self, texts: Sequence[str], **_: Any) -> dict[str, torch.Tensor]:
        rows = [[self.bos, *self._tok.encode(t), self.eos] for t in texts]
        n = max(len(r) for r in rows)
        ids = torch.full((len(rows), n), self.eos, dtype=torch.long)
        mask = torch.zeros(len(rows), n, dtype=torch.long)
        for k, r in enumerate(rows):
            ids[k, : len(r)] = torch.tensor(r)
            mask[k, : len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def load_tokenizer(clip: nn.Module) -> Any:
    """The tokenizer saved with the backbone (as prompt-tuning's ``CLIPProcessor``), offline.

    A ``CLIPModel`` built from a config (no folder, no Hub id) has none: it
    gets open_clip's bundled CLIP BPE instead.
    """
    name = getattr(clip, "name_or_path", "") or ""
    if not name:
        return OpenClipTokenizer()
    from transformers import AutoTokenizer

    why = ""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as e:
        tokenizer, why = None, f" ({e})"
    # transformers 5 builds an empty-vocabulary CLIP tokenizer, silently, where the files are missing
    if tokenizer is None or len(tokenizer) < 1000:
        raise FileNotFoundError(
            f"the tokenizer of CLIP backbone {name!r} is not available offline (prompt-tuning tokenizes class "
            f"names with it): it must sit beside the model (vocab.json, merges.txt, tokenizer_config.json) in "
            f"that folder or in the Hugging Face cache ($HF_HOME/hub){why}"
        )
    return tokenizer


def tokenize(tokenizer: Any, texts: Sequence[str], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (K, L) int64 and attention mask (K, L) int32, right-padded to the longest, as prompt-tuning."""
    if hasattr(tokenizer, "padding_side"):
        tokenizer.padding_side = "right"
    out = tokenizer(list(texts), padding=True, return_tensors="pt", add_special_tokens=True)
    return out["input_ids"].to(device, torch.long), out["attention_mask"].to(device, torch.int32)


def prompt_embeddings(
    clip: nn.Module, context: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[BOS, ctx.., class tokens..]`` embeddings (K, n+L, D) and their mask (K, n+L) float."""
    tokens = clip.text_model.embeddings(input_ids=ids)  # token + position embeddings of positions 0..L-1
    k, n = ids.shape[0], context.shape[0]
    ctx = context.unsqueeze(0).expand(k, -1, -1)
    embeds = torch.cat([tokens[:, :1], ctx.to(tokens.dtype), tokens[:, 1:]], dim=1)
    full_mask = torch.cat([torch.ones(k, n, device=mask.device), mask], dim=1)
    return embeds, full_mask


def last_real_token(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Rows of ``hidden`` (N, L, D) at ``mask.sum() - 1`` (N, L): prompt-tuning's EOS pooling."""
    at = mask.sum(dim=1, dtype=torch.long) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), at]


def coop_text_features(clip: nn.Module, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unnormalised class text features (K, D) of the learned prompts: no mask, no final LayerNorm."""
    x = embeds
    for layer in clip.text_model.encoder.layers:
        x, _ = encoder_layer(layer, x)
    return clip.text_projection(last_real_token(x, mask))


def handcrafted_text_features(clip: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unnormalised text features (K, D) of plain prompts through CLIP's standard text path."""
    text = clip.text_model
    x = text.embeddings(input_ids=ids)
    n = ids.shape[1]
    bias = (
        causal_bias(n, x.device, x.dtype)[None, None]
        + torch.zeros_like(mask, dtype=x.dtype).masked_fill(mask == 0, float("-inf"))[:, None, None, :]
    )
    for layer in text.encoder.layers:
        x, _ = encoder_layer(layer, x, bias)
    x = text.final_layer_norm(x)
    eos = text.config.eos_token_id
    # transformers' rule: the legacy eos id 2 means "the highest id", else the first eos
    at = ids.argmax(-1) if eos == 2 else (ids == eos).int().argmax(-1)
    return clip.text_projection(x[torch.arange(x.shape[0], device=x.device), at])
