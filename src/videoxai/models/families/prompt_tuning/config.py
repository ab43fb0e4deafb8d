"""The options of a prompt-tuning run folder's ``config.json`` that shape its model (no torch import).

Prompt-tuning (FabianScott/prompt-tuning-for-clip-based-action-recognition)
writes its whole merged configuration next to the weights. Only a few keys
decide the architecture and the input; they are read here, once, with the
prompt-tuning's defaults (``src/configs/methods/*.json``) where a key is absent, so
every other module sees typed fields instead of dashed dictionary keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

METHODS = ("video_coop", "dual_coop", "stt", "vidop", "vilt", "vita")
VISUAL_PROMPT_METHODS = ("dual_coop", "stt", "vidop", "vilt", "vita")  # learn context_vectors_vision
SUMMARY_METHODS = ("stt", "vita")  # per-layer summary tokens over the frames
POOLINGS = ("mean", "max", "attention")
DEFAULT_INIT_TEXT = "A video of a person doing"  # prompt-tuning's "regularisation-text"

# "method-name" as prompt-tuning's method configs spell it
_METHOD_NAMES = {"video-coop": "video_coop", "dual-coop": "dual_coop"}


def method_of(run_config: Mapping[str, Any]) -> str:
    """The family of a prompt-tuning run config: ``prompt-optimisation-method``, else ``method-name``."""
    raw = run_config.get("prompt-optimisation-method") or run_config.get("method-name")
    if raw is None:
        raise ValueError(
            "the run config names no method (neither 'prompt-optimisation-method' nor 'method-name'); "
            f"pass method= one of {list(METHODS)}"
        )
    method = _METHOD_NAMES.get(str(raw), str(raw).replace("-", "_"))
    if method not in METHODS:
        raise ValueError(
            f"the run config's method {raw!r} is not one of the prompt-tuning families videoxai reproduces: {list(METHODS)}"
        )
    return method


@dataclass(frozen=True)
class RunOptions:
    """The architecture- and input-relevant part of a prompt-tuning run config."""

    method: str
    clip_model: str = "openai/clip-vit-base-patch16"
    ctx_len: int = 8  # "ctx-len": learned text context vectors
    ctx_len_video: int = 8  # "ctx-len-video": dual visual prompts / stt video tokens
    temporal_pooling: str = "mean"  # "temporal-pooling": mean | max | attention
    pooling_heads: int = 1  # "num-heads-attention-pooling"
    keep_vision_prompts: bool = True  # "keep-vision-prompts-throughout" (dual)
    num_frames: int | None = None  # "num-frames": stt's and vita's frame-level token count (frames per view)
    frames_per_view: int = 8  # "num-frames-temporal": frames the loader gives per view
    temporal_views: int = 4  # "num-temporal-views"
    spatial_views: int = 3  # "num-spatial-views"
    num_frame_tokens: int = 1  # "num-frame-tokens" (stt, vita)
    summary_heads: int = 12  # "num-heads-summary-attention" (stt, vita)
    summary_to_text_layers: tuple[int, ...] = ()  # "layers-with-summary-to-text" (stt)
    discriminative_conditioning: bool = False  # "has-discriminative-conditioning" (vita; stt always conditions)
    tokens_per_layer_text: int = 4  # "num-tokens-per-layer-text" (vilt)
    tokens_per_layer_vision: int = 4  # "num-tokens-per-layer-vision" (vilt)
    # vilt, per layer: "modality-transfer-text" (text context indices, vision->text indices) and
    # "modality-transfer-vision" (vision context indices, text->vision indices)
    transfer_text: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    transfer_vision: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    init_text: str | None = DEFAULT_INIT_TEXT  # "regularisation-text": the hand-crafted prompt's prefix
    std_init: float = 0.02  # "std-init": initial scale of fresh context vectors
    remove_black_strips: bool = False  # "dataset-config.remove-black-strips"
    resize_protocol: str | None = None  # "dataset-config.resized-cache-protocol"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any], method: str | None = None) -> RunOptions:
        """Read ``run_config`` (prompt-tuning's ``config.json`` dict); ``method`` overrides the config's own."""
        if not isinstance(run_config, Mapping):
            raise TypeError(f"a prompt-tuning run config is a dict, got {type(run_config).__name__}")
        method = method_of(run_config) if method is None else method.replace("-", "_")
        if method not in METHODS:
            raise ValueError(f"unknown prompt-tuning method {method!r}; expected one of {list(METHODS)}")
        g = run_config.get
        dataset = g("dataset-config") or {}
        pooling = str(g("temporal-pooling", "mean"))
        if pooling not in POOLINGS:
            raise ValueError(f"the run config's temporal-pooling {pooling!r} is not one of {list(POOLINGS)}")
        frames_per_view = g("num-frames-temporal") or g("num-frames") or 8
        num_frames = g("num-frames")
        if method in SUMMARY_METHODS and num_frames is None:
            raise ValueError(f"a {method} run config needs 'num-frames' (its frame-level tokens are per frame)")
        return cls(
            method=method,
            clip_model=str(g("clip-model") or g("model") or cls.clip_model),
            # prompt-tuning's VidOpModel is DualModel with ctx-len forced to 0: no text context
            ctx_len=0 if method == "vidop" else int(g("ctx-len", 8)),
            ctx_len_video=int(g("ctx-len-video", 8)),
            temporal_pooling=pooling,
            pooling_heads=int(g("num-heads-attention-pooling", 1)),
            keep_vision_prompts=bool(g("keep-vision-prompts-throughout", True)),
            num_frames=None if num_frames is None else int(num_frames),
            frames_per_view=int(frames_per_view),
            temporal_views=int(g("num-temporal-views", 4)),
            spatial_views=int(g("num-spatial-views", 3)),
            num_frame_tokens=int(g("num-frame-tokens", 1)),
            summary_heads=int(g("num-heads-summary-attention", 12)),
            summary_to_text_layers=tuple(int(i) for i in (g("layers-with-summary-to-text") or ())),
            discriminative_conditioning=bool(g("has-discriminative-conditioning", method == "vita")),
            tokens_per_layer_text=int(g("num-tokens-per-layer-text", 4)),
            tokens_per_layer_vision=int(g("num-tokens-per-layer-vision", 4)),
            transfer_text=_transfer_lists(run_config, "modality-transfer-text", method),
            transfer_vision=_transfer_lists(run_config, "modality-transfer-vision", method),
            init_text=g("regularisation-text", DEFAULT_INIT_TEXT),
            std_init=float(g("std-init", 0.02)),
            remove_black_strips=bool(dataset.get("remove-black-strips", False)),
            resize_protocol=dataset.get("resized-cache-protocol"),
            raw=dict(run_config),
        )

    @property
    def prompts_in_frame_attention(self) -> bool:
        """Whether each frame's attention keeps the visual prompts after its patches in every layer (dual_coop and
        vidop with ``keep-vision-prompts-throughout``): then its tokens are no square patch grid."""
        return self.method in ("dual_coop", "vidop") and self.keep_vision_prompts and self.ctx_len_video > 0

    @property
    def handcrafted_template(self) -> str:
        """Prompt-tuning's hand-crafted prompt, ``f"{regularisation-text} {class}"``, as a ``{}`` template."""
        return f"{self.init_text if self.init_text is not None else DEFAULT_INIT_TEXT} {{}}"


@dataclass(frozen=True)
class LayerTransfer:
    """What one ViLT layer appends to each modality (ViLT.py's ``layer_forward``), as layer indices ``j``.

    The text gets ``text_attention_context[j]`` for ``j`` in ``text_context``
    and the translated ``vision_to_text_translations[j](vision_attention_context[j])``
    for ``j`` in ``vision_to_text``; the vision side likewise. ``joint``: the
    layer goes through that path at all (any of its four lists non-empty):
    it drops every appended token afterwards, the initial visual prompts
    included, and it is the only kind of layer whose attention prompt-tuning
    records.
    """

    text_context: tuple[int, ...]
    vision_to_text: tuple[int, ...]
    vision_context: tuple[int, ...]
    text_to_vision: tuple[int, ...]
    joint: bool


def vilt_layers(options: RunOptions, layers: int) -> list[LayerTransfer]:
    """The first ``layers`` entries of ``modality-transfer-text``/``-vision``, checked (prompt-tuning ignores the rest).

    A translation is appended only where the same layer also appends that
    modality's own context (prompt-tuning's ``if v_text and v_vision``), and
    every layer index used must be one whose own lists create the entry.
    """
    text, vision = options.transfer_text, options.transfer_vision
    if len(text) < layers or len(vision) < layers:
        raise ValueError(
            f"vilt's modality-transfer-text and modality-transfer-vision need an entry for each of the CLIP's "
            f"{layers} layers, got {len(text)} and {len(vision)}"
        )
    text, vision = text[:layers], vision[:layers]
    made = {
        "text_attention_context": {j for j, (t, _) in enumerate(text) if t},
        "vision_attention_context": {j for j, (v, _) in enumerate(vision) if v},
        "vision_to_text_translations": {j for j, (_, v2t) in enumerate(text) if v2t and vision[j][0]},
        "text_to_vision_translations": {j for j, (_, t2v) in enumerate(vision) if t2v and text[j][0]},
    }
    out = []
    for i, ((t_ctx, v2t), (v_ctx, t2v)) in enumerate(zip(text, vision)):
        layer = LayerTransfer(
            text_context=t_ctx,
            vision_to_text=v2t if v_ctx else (),
            vision_context=v_ctx,
            text_to_vision=t2v if t_ctx else (),
            joint=bool(t_ctx or v2t or v_ctx or t2v),
        )
        for name, used in (
            ("text_attention_context", layer.text_context),
            ("vision_attention_context", layer.vision_context),
            ("vision_to_text_translations", layer.vision_to_text),
            ("text_to_vision_translations", layer.text_to_vision),
        ):
            missing = sorted(set(used) - made[name])
            if missing:
                raise ValueError(
                    f"vilt layer {i}'s modality-transfer lists use {name} of layer(s) {missing}, which those "
                    "layers' own lists do not create (a layer's entry exists where its list is non-empty; a "
                    "translation also needs that layer's context)"
                )
        out.append(layer)
    return out


def per_frame_tokens(options: RunOptions, layers: int) -> int:
    """Tokens each frame's sequence holds besides CLS and patches, the most in any of the ``layers`` vision
    layers: the per-frame prefix of the joint token layout, and what a frame's attention costs (resource
    estimates read it before any model is built).

    ``dual_coop`` and ``vidop`` append their visual prompts; ``stt`` and ``vita`` a summary token, the
    frame-level tokens and the video prompts; ``vilt`` the visual prompts up to its first joint layer, then
    what each joint layer appends (its own context and translations of the text's).
    """
    o = options
    if o.method in ("dual_coop", "vidop"):
        return o.ctx_len_video
    if o.method in ("stt", "vita"):
        return 1 + o.num_frame_tokens + o.ctx_len_video
    if o.method == "vilt":
        prompts, most = o.ctx_len_video, 0
        for layer in vilt_layers(o, layers):
            appended = o.tokens_per_layer_vision * len(layer.vision_context)
            appended += o.tokens_per_layer_text * len(layer.text_to_vision)
            most = max(most, prompts + (appended if layer.joint else 0))
            prompts = 0 if layer.joint else prompts
        return most
    return 0


def _transfer_lists(run_config: Mapping[str, Any], key: str, method: str) -> tuple:
    """ViLT's ``modality-transfer-*``: per layer a pair of index lists, ``[[0], []]``; () for other methods."""
    if method != "vilt":
        return ()
    raw = run_config.get(key)
    if raw is None:
        raise ValueError(f"a vilt run config needs {key!r} (per layer, a pair of lists of layer indices)")
    try:
        layers = tuple((tuple(int(i) for i in a), tuple(int(i) for i in b)) for a, b in raw)
    except (TypeError, ValueError):
        raise ValueError(
            f"the run config's {key!r} must list, per layer, a pair of lists of layer indices "
            f"such as [[0], []], got {raw!r}"
        ) from None
    return layers
