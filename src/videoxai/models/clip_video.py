"""The seed families on a Hugging Face ``transformers.CLIPModel`` backbone (per-frame CLIP image tower).

Selected by ``model.backbone = "clip"`` in a ``video_coop`` / ``dual_coop`` /
``stt`` config. The backbone is either a real CLIP (``clip_model``: a Hub id
or a local folder, loaded offline only) or a tiny random configuration
(``clip_config``) that exercises the same code on the demo.

The CLIP layers are driven here, with their own weights, rather than through
``CLIPModel.forward``: that keeps the fused-attention fast path for
extraction, gives exact attention probabilities when asked (transformers'
SDPA path silently returns none), and lets prompt and summary tokens join
the sequence.

* ``video_coop``: per-frame CLIP image features, temporal pooling ``mean`` or
  ``attention`` (a learned query over frame features);
* ``dual_coop``: plus ``n_vpt`` learned visual prompt tokens appended to every
  frame's token sequence (all layers, or dropped after the first);
* ``stt``: a learned video token that, after every vision layer, attends over
  itself and the frames' CLS tokens (summary attention), and is the readout.

Text side (all families): CoOp learned context (or a handcrafted template)
before the class-name tokens, through CLIP's text encoder, EOS feature →
text projection. Tokens come from open_clip's bundled BPE tokenizer for a
real CLIP (works offline) or the word tokenizer for a tiny one.

Attention layout (for rollout): ``[video token, T frame CLS tokens, T*P
prompt tokens, T*h*w patches]``. Each CLIP layer is embedded block-diagonally
per frame; the temporal pooling (or each summary attention) is its own entry
whose row for the video token holds the frame weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .base import GradCamTarget, InputSpec, TokenLayout, VideoClassifier
from .frozen_cache import FrozenCache
from .prompt_text import (
    DEFAULT_TEMPLATE,
    HandcraftedPrompts,
    embed_tokens,
    fallback_vectors,
)
from .spacetime import (
    Attention,
    Embedding,
    embed_subset,
    frames_embedding,
    subset_embedding,
)
from .tokenizer import EOS, PAD, SOS, WordTokenizer

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def load_clip(clip_model: str | None, clip_config: dict | None):
    """A ``CLIPModel``: from a local folder / cached Hub id (offline only), or built from a small config."""
    from transformers import CLIPConfig, CLIPModel

    if clip_config is not None:
        return CLIPModel(CLIPConfig(**clip_config))
    if not clip_model:
        raise ValueError(
            "a CLIP-backbone model needs model.clip_model (Hub id or folder) or model.clip_config"
        )
    try:
        return CLIPModel.from_pretrained(clip_model, local_files_only=True)
    except (OSError, ValueError) as e:
        where = (
            f"the folder {clip_model} (it must hold config.json and model.safetensors / pytorch_model.bin)"
            if Path(clip_model).exists()
            else f"the Hugging Face cache (~/.cache/huggingface/hub, or $HF_HOME/hub): run "
            f"`huggingface-cli download {clip_model}` on a machine with internet and copy the cache here, "
            f"or save the model to a folder and set clip-model to that folder"
        )
        raise FileNotFoundError(
            f"CLIP backbone {clip_model!r} is not available offline; expected it in {where}. ({e})"
        ) from e


class BPETokenizer:
    """open_clip's bundled CLIP BPE vocabulary (no download), with the word tokenizer's small interface."""

    def __init__(self) -> None:
        from open_clip.tokenizer import SimpleTokenizer

        self._tok = SimpleTokenizer()
        self.sos, self.eos, self.pad = self._tok.sot_token_id, self._tok.eot_token_id, 0

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text)

    def unknown_words(self, texts) -> list[str]:
        return []  # BPE covers any text

    def to_dict(self) -> dict:
        return {"type": "clip-bpe"}


def _attend(
    attn,
    x: torch.Tensor,
    need: bool,
    mask: torch.Tensor | None = None,
    embed: Embedding | None = None,
):
    """CLIP attention (q/k/v/out_proj) with SDPA, or with explicit probabilities when ``need``.

    With ``embed`` the returned probabilities are the joint matrix and the
    output is computed from it (so it is in the autograd graph).
    """
    b, n, d = x.shape
    h = attn.num_heads
    q, k, v = (
        proj(x).reshape(b, n, h, d // h).transpose(1, 2)
        for proj in (attn.q_proj, attn.k_proj, attn.v_proj)
    )
    if need:
        scores = (q @ k.transpose(-2, -1)) * attn.scale
        if mask is not None:
            scores = scores + mask
        probs = scores.softmax(-1)
        used = probs
        if embed is not None:
            probs, used = embed(probs)
        out = used @ v
    else:
        probs = None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return attn.out_proj(out.transpose(1, 2).reshape(b, n, d)), probs


def _layer(
    layer,
    x: torch.Tensor,
    need: bool,
    mask: torch.Tensor | None = None,
    embed: Embedding | None = None,
):
    """One CLIPEncoderLayer (pre-norm attention + MLP) with our attention."""
    a, probs = _attend(layer.self_attn, layer.layer_norm1(x), need, mask, embed)
    x = x + a
    x = x + layer.mlp(layer.layer_norm2(x))
    return x, probs


class ClipPromptVideo(HandcraftedPrompts, VideoClassifier):
    """A seed family (``video_coop`` | ``dual_coop`` | ``stt``) on a CLIP backbone."""

    def __init__(
        self,
        method: str,
        class_names: Sequence[str],
        model: dict,
        tokenizer: dict | None = None,
    ):
        super().__init__()
        self._text_cache = FrozenCache()  # text features, reused across inference batches
        if method not in ("video_coop", "dual_coop", "stt"):
            raise ValueError(f"unknown CLIP family {method!r}")
        self.method = method
        self.model_config = dict(model)
        self.template = model.get("template", DEFAULT_TEMPLATE)
        # tokenizer: a small word vocabulary for a tiny config, else CLIP's BPE
        kind = (tokenizer or {}).get("type") or (
            "word" if model.get("clip_config") is not None else "clip-bpe"
        )
        if kind == "word":
            self.tokenizer: Any = (
                WordTokenizer.from_dict(tokenizer)
                if tokenizer
                else WordTokenizer.from_texts(list(class_names) + [self.template])
            )
        elif kind == "clip-bpe":
            self.tokenizer = BPETokenizer()
        else:
            raise ValueError(
                f"unknown tokenizer type {kind!r} (expected 'word' or 'clip-bpe')"
            )
        clip_config = model.get("clip_config")
        if (
            clip_config is not None and kind == "word"
        ):  # the tiny text tower's vocabulary is the word tokenizer's
            text = {
                **clip_config.get("text_config", {}),
                "vocab_size": self.tokenizer.vocab_size,
            }
            clip_config = {
                **clip_config,
                "text_config": {
                    **text,
                    "bos_token_id": SOS,
                    "eos_token_id": EOS,
                    "pad_token_id": PAD,
                },
            }
        self.clip = load_clip(model.get("clip_model"), clip_config)
        self.clip.requires_grad_(not model.get("freeze_backbone", True))
        vc, tc = self.clip.config.vision_config, self.clip.config.text_config
        self.num_frames = int(model.get("num_frames", 8))
        self.size = int(model.get("size", vc.image_size))
        if self.size % vc.patch_size:
            raise ValueError(
                f"input size {self.size} is not a multiple of CLIP's patch size {vc.patch_size}"
            )
        self.grid = self.size // vc.patch_size
        width, embed = vc.hidden_size, self.clip.config.projection_dim
        # CoOp context (or a handcrafted template) in CLIP's text embedding space
        self.n_ctx = int(model.get("n_ctx", 4))
        self.handcrafted = bool(model.get("use_handcrafted_prompts", False))
        self.context = nn.Parameter(torch.randn(self.n_ctx, tc.hidden_size) * 0.02)
        # family parts
        self.pooling = model.get("temporal_pooling", "mean")
        if self.pooling not in ("mean", "attention"):
            raise ValueError(
                f"temporal_pooling must be 'mean' or 'attention', got {self.pooling!r}"
            )
        if self.pooling == "attention":
            self.pool_norm = nn.LayerNorm(embed)
            self.pool_query = nn.Linear(embed, 1)
        self.n_vpt = int(model.get("n_vpt", 2)) if method == "dual_coop" else 0
        self.vpt_layers = model.get(
            "vpt_layers"
        )  # None: all layers; 1: dropped after the first
        if self.n_vpt:
            self.visual_prompts = nn.Parameter(torch.randn(self.n_vpt, width) * 0.02)
        if method == "stt":
            self.video_token = nn.Parameter(torch.randn(1, 1, width) * 0.02)
            self.summary_norm = nn.ModuleList(
                nn.LayerNorm(width) for _ in range(vc.num_hidden_layers)
            )
            self.summary_attn = nn.ModuleList(
                Attention(width, vc.num_attention_heads)
                for _ in range(vc.num_hidden_layers)
            )
        self.embed_norm = (
            nn.BatchNorm1d(embed, affine=False)
            if model.get("embed_bn", False)
            else nn.Identity()
        )
        self.input_spec = InputSpec(
            num_frames=self.num_frames,
            size=self.size,
            mean=tuple(model.get("mean", CLIP_MEAN)),
            std=tuple(model.get("std", CLIP_STD)),
        )
        self.set_class_names(class_names)

    # ---- configuration ----
    def get_config(self) -> dict:
        return {
            "class_names": list(self.class_names),
            "model": {**self.model_config, "backbone": "clip"},
            "tokenizer": self.tokenizer.to_dict(),
            "input_spec": self.input_spec.to_dict(),
        }

    @classmethod
    def from_config(cls, method: str, config: dict) -> ClipPromptVideo:
        return cls(
            method,
            config["class_names"],
            config.get("model", {}),
            config.get("tokenizer"),
        )

    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Tokenize the class prompts (any class list works with BPE: dataset transfer)."""
        unknown = self.tokenizer.unknown_words(class_names)
        if unknown:
            raise ValueError(
                f"class names contain words the tiny word tokenizer has never seen: {unknown}"
            )
        tc = self.clip.config.text_config
        is_bpe = isinstance(self.tokenizer, BPETokenizer)
        sos, eos, pad = (
            (self.tokenizer.sos, self.tokenizer.eos, self.tokenizer.pad)
            if is_bpe
            else (SOS, EOS, PAD)
        )
        rows, ctx_at = [], []
        # template words outside a word vocabulary (BPE covers any text)
        extra: dict[str, int] = {}
        for name in class_names:
            words = name.replace("_", " ")
            if self.handcrafted:
                text = self.template.format(words)
                body = (
                    self.tokenizer.encode(text)
                    if is_bpe
                    else self.tokenizer.encode_open(text, extra)
                )
                row, at = [sos] + body + [eos], None
            else:
                row = (
                    [sos]
                    + [pad] * self.n_ctx
                    + self.tokenizer.encode(words + ".")
                    + [eos]
                )
                at = 1
            rows.append(
                row[: tc.max_position_embeddings - 1]
                + ([eos] if len(row) >= tc.max_position_embeddings else [])
            )
            ctx_at.append(at)
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), pad, dtype=torch.long)
        for k, r in enumerate(rows):
            ids[k, : len(r)] = torch.tensor(r)
        self.register_buffer("token_ids", ids, persistent=False)
        self.register_buffer(
            "eos_at", torch.tensor([len(r) - 1 for r in rows]), persistent=False
        )
        # fallback vectors at the scale CLIP initialises its token embedding with
        oov = fallback_vectors(
            list(extra), tc.hidden_size, 0.02 * self.clip.config.initializer_factor
        )
        self.register_buffer("oov_embedding", oov, persistent=False)
        self.class_names = list(class_names)

    # ---- text ----
    def text_features(self) -> torch.Tensor:
        text = self.clip.text_model
        x = embed_tokens(
            text.embeddings.token_embedding, self.token_ids, self.oov_embedding
        )
        if not self.handcrafted:
            k = x.shape[0]
            x = torch.cat(
                [x[:, :1], self.context.expand(k, -1, -1), x[:, 1 + self.n_ctx :]], 1
            )
        x = text.embeddings(inputs_embeds=x)
        n = x.shape[1]
        mask = torch.full((n, n), float("-inf"), device=x.device).triu(1)
        for layer in text.encoder.layers:
            x, _ = _layer(layer, x, False, mask)
        x = text.final_layer_norm(
            x[torch.arange(x.shape[0], device=x.device), self.eos_at]
        )
        return self.clip.text_projection(x)

    # ---- video ----
    @property
    def token_layout(self) -> TokenLayout:
        t = self.num_frames
        return TokenLayout(
            num_prefix=1 + t + t * self.n_vpt,
            frames=t,
            height=self.grid,
            width=self.grid,
        )

    def _check(self, video: torch.Tensor) -> None:
        if video.ndim != 5 or video.shape[2] != 3:
            raise ValueError(
                f"expected a clip batch (B, T, 3, H, W), got shape {tuple(video.shape)}"
            )
        if (
            video.shape[1] != self.num_frames
            or video.shape[-1] != self.size
            or video.shape[-2] != self.size
        ):
            raise ValueError(
                f"this model takes {self.num_frames} frames of {self.size}x{self.size}, got {video.shape[1]} of "
                f"{video.shape[-2]}x{video.shape[-1]}"
            )

    def _video(
        self, video: torch.Tensor, need: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        self._check(video)
        vm = self.clip.vision_model
        b, t = video.shape[:2]
        hw = self.grid * self.grid
        x = vm.embeddings(
            video.flatten(0, 1),
            interpolate_pos_encoding=self.size != vm.config.image_size,
        )
        x = vm.pre_layrnorm(x)  # (B*T, 1+hw, D)
        if torch.is_grad_enabled() and not x.requires_grad:
            # frozen backbone, no trainable prompt yet: still build the graph so Grad-CAM gets gradients
            x = x.detach().requires_grad_(True)
        p = self.n_vpt
        keep = (
            len(vm.encoder.layers) if self.vpt_layers is None else int(self.vpt_layers)
        )
        video_tok = self.video_token.expand(b, 1, -1) if self.method == "stt" else None
        n = 1 + t + t * p + t * hw
        dev = video.device
        tt = torch.arange(t, device=dev)[:, None]
        attn: list[torch.Tensor] = []
        for i, layer in enumerate(vm.encoder.layers):
            used = p if i < keep else 0
            seq = (
                torch.cat([x, self.visual_prompts.expand(b * t, -1, -1)], 1)
                if (used and i == 0)
                else x
            )
            if i == keep and p:
                seq = x[:, : 1 + hw]  # prompts dropped from here on
            emb = None
            if need:
                # frame t's sequence: [CLS_t, patches_t, prompts_t] -> joint indices
                index = torch.cat(
                    [
                        1 + tt,
                        1 + t + t * p + tt * hw + torch.arange(hw, device=dev),
                        1 + t + tt * p + torch.arange(used, device=dev),
                    ],
                    1,
                )
                emb = frames_embedding(b, index, n, with_global=False)
            x, probs = _layer(layer, seq, need, embed=emb)
            if need:
                attn.append(probs)
            if (
                video_tok is not None
            ):  # stt: the video token summarises the frames' CLS tokens
                cls = x[:, 0].reshape(b, t, -1)
                s = torch.cat([video_tok, cls], 1)
                emb = (
                    subset_embedding(torch.arange(1 + t, device=dev), n)
                    if need
                    else None
                )
                out, sp = self.summary_attn[i](self.summary_norm[i](s), need, emb)
                video_tok = video_tok + out[:, :1]
                x = torch.cat(
                    [x[:, :1] + out[:, 1:].reshape(b * t, 1, -1), x[:, 1:]], 1
                )
                if need:
                    attn.append(sp)
        if video_tok is not None:
            feat = self.clip.visual_projection(vm.post_layernorm(video_tok[:, 0]))
            return feat, attn
        frames = self.clip.visual_projection(vm.post_layernorm(x[:, 0])).reshape(
            b, t, -1
        )
        frames = F.normalize(frames, dim=-1)
        if self.pooling == "attention":
            w = self.pool_query(self.pool_norm(frames)).squeeze(-1).softmax(-1)
        else:
            w = frames.new_full((b, t), 1.0 / t)
        if need:
            # the pooling as a one-head attention of the video token over the frame
            # CLS tokens; the weights used are read back from it (in the graph)
            pool = torch.zeros(b, 1, 1 + t, 1 + t, device=dev, dtype=w.dtype)
            pool[:, 0, 0, 1:] = w
            pool[:, 0, 1:, 1:] = torch.eye(t, device=dev)
            if torch.is_grad_enabled() and not pool.requires_grad:
                pool.requires_grad_(True)  # mean pooling: constant, but grad-rollout asks for d/dA
            joint = embed_subset(pool, torch.arange(1 + t, device=dev), n)
            attn.append(joint)
            w = joint[:, 0, 0, 1 : 1 + t]
        return (w.unsqueeze(-1) * frames).sum(1), attn

    def _logits(self, feature: torch.Tensor) -> torch.Tensor:
        video = F.normalize(self.embed_norm(feature), dim=-1)
        text = F.normalize(self._text_cache.get(self, self.text_features), dim=-1)
        return self.clip.logit_scale.clamp(max=math.log(100.0)).exp() * video @ text.t()

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.ndim == 6:
            b, v = video.shape[:2]
            return self.forward(video.flatten(0, 1)).reshape(b, v, -1).mean(1)
        return self._logits(self._video(video, False)[0])

    def forward_with_attention(
        self, video: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and per-layer attention ``(B, H, N, N)`` over ``token_layout`` (+ the pooling/summary entries)."""
        feat, attn = self._video(video, True)
        return self._logits(feat), attn

    def gradcam_target(self) -> GradCamTarget:
        """The last vision layer's first LayerNorm (input of the last attention); patches mapped to a grid."""
        layer = self.clip.vision_model.encoder.layers[-1]
        t, g = self.num_frames, self.grid

        def to_grid(a: torch.Tensor) -> torch.Tensor:
            bt, _, d = a.shape
            return (
                a[:, 1 : 1 + g * g].reshape(bt // t, t, g, g, d).permute(0, 4, 1, 2, 3)
            )

        return GradCamTarget(module=layer.layer_norm1, to_grid=to_grid)
