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

METHODS = ("video_coop", "dual_coop", "stt")
POOLINGS = ("mean", "max", "attention")
DEFAULT_INIT_TEXT = "A video of a person doing"  # prompt-tuning's "regularisation-text"

# "method-name" as prompt-tuning's method configs spell it
_METHOD_NAMES = {"video-coop": "video_coop", "dual-coop": "dual_coop", "stt": "stt"}


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
    num_frames: int | None = None  # "num-frames": stt's frame-level token count (frames per view)
    frames_per_view: int = 8  # "num-frames-temporal": frames the loader gives per view
    temporal_views: int = 4  # "num-temporal-views"
    spatial_views: int = 3  # "num-spatial-views"
    num_frame_tokens: int = 1  # "num-frame-tokens" (stt)
    summary_heads: int = 12  # "num-heads-summary-attention" (stt)
    summary_to_text_layers: tuple[int, ...] = ()  # "layers-with-summary-to-text" (stt)
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
        if method == "stt" and num_frames is None:
            raise ValueError("an stt run config needs 'num-frames' (its frame-level tokens are per frame)")
        return cls(
            method=method,
            clip_model=str(g("clip-model") or g("model") or cls.clip_model),
            ctx_len=int(g("ctx-len", 8)),
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
            init_text=g("regularisation-text", DEFAULT_INIT_TEXT),
            std_init=float(g("std-init", 0.02)),
            remove_black_strips=bool(dataset.get("remove-black-strips", False)),
            resize_protocol=dataset.get("resized-cache-protocol"),
            raw=dict(run_config),
        )

    @property
    def handcrafted_template(self) -> str:
        """Prompt-tuning's hand-crafted prompt, ``f"{regularisation-text} {class}"``, as a ``{}`` template."""
        return f"{self.init_text if self.init_text is not None else DEFAULT_INIT_TEXT} {{}}"
