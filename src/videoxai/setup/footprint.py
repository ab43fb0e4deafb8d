"""What a model will hold while it runs, read from its files' configs (no torch): the input of resource estimates.

A job's memory and time follow from a few sizes: parameters, the attention
stack (layers, width, MLP width, heads, tokens per sequence, sequences per
view), the frames and views of a clip, the text prompts. They are known
while planning, before any model is loaded:

* a prompt-tuning run folder: its ``config.json`` (frames, views, visual
  prompts, method) and its CLIP backbone's ``config.json`` and weights header,
  found in the Hugging Face cache as resolution finds them;
* a videoxai checkpoint (the demo's models): its ``config.json`` (the
  space-time tower's sizes) and its ``model.safetensors`` header.

Other models (torchvision, custom, a wandb artifact not fetched yet) have
no footprint here; their jobs declare the fixed defaults of
:mod:`videoxai.setup.resources`.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from videoxai.models.checkpoints.config import is_run_folder_config
from videoxai.models.checkpoints.hf_cache import locate_backbone
from videoxai.models.families.prompt_tuning.config import RunOptions, per_frame_tokens
from videoxai.models.families.prompt_tuning.run_folder import RUN_FOLDER_FORMAT, backbone_name


@dataclass(frozen=True)
class Stack:
    """A transformer stack as a job runs it: ``sequences`` sequences of ``tokens`` tokens per view (or per prompt set)."""

    layers: int
    width: int
    mlp: int
    heads: int
    tokens: int
    sequences: int = 1

    def matmul_flops(self) -> float:
        """Multiply-add FLOPs of one pass over ``sequences`` sequences: projections, MLP and attention."""
        per_token = 2 * (4 * self.width * self.width + 2 * self.width * self.mlp)
        attention = 4 * self.tokens * self.tokens * self.width
        return float(self.layers * self.sequences * (self.tokens * per_token + attention))


@dataclass(frozen=True)
class Footprint:
    """The sizes of one model that set a job's memory and time (see the module docstring)."""

    kind: str  # "prompt-tuning" | "demo"
    method: str
    params: int  # every parameter, backbone included
    frames: int  # frames per view
    image_size: int
    temporal_views: int  # the model's own views (the run config's; 1 for the demo)
    spatial_views: int
    vision: Stack  # per view
    joint_tokens: int  # tokens of the joint layout rollout works on (TokenLayout.num_tokens)
    text: Stack | None  # per class prompt (sequences: 1), or None
    text_per_clip: bool = False  # text features depend on the clip (stt): the text stack runs in every forward
    batch_independent: bool = True  # a clip's logits do not depend on its batch mates (stt's do)
    dense_attention: bool = False  # explainers get every layer as a dense joint matrix (no per-frame blocks)

    def with_views(self, temporal: int | None, spatial: int | None) -> Footprint:
        """The footprint under the config's views (None: the model's own)."""
        return replace(
            self,
            temporal_views=self.temporal_views if temporal is None else int(temporal),
            spatial_views=self.spatial_views if spatial is None else int(spatial),
        )

    def with_frames(self, frames: int | None) -> Footprint:
        """The footprint on ``frames`` frames per view (None: the model's own). Only a prompt-tuning model takes
        other counts (videoxai.setup.frames); its frames are encoded one by one, so each is one more sequence."""
        if frames is None or int(frames) == self.frames or self.kind != "prompt-tuning":
            return self
        f = int(frames)
        return replace(
            self, frames=f, vision=replace(self.vision, sequences=f), joint_tokens=1 + f * self.vision.tokens
        )

    @property
    def views(self) -> int:
        return self.temporal_views * self.spatial_views


def safetensors_parameters(path: str | os.PathLike[str]) -> int:
    """The number of parameters a ``.safetensors`` file holds, from its header alone."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def read_run_json(path: str | os.PathLike[str]) -> dict:
    """A ``config.json`` as a dict (an estimate reads what resolution checks; nothing is validated here)."""
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return config


def footprint_of_checkpoint(weights: str | os.PathLike[str]) -> Footprint | None:
    """The footprint of the model whose weights file is ``weights`` (its ``config.json`` beside it), or None."""
    config_path = Path(weights).parent / "config.json"
    if not config_path.is_file():
        return None
    config = read_run_json(config_path)
    if is_run_folder_config(config):
        backbone = locate_backbone(backbone_name(config, config_path))
        return prompt_tuning_footprint(config, read_run_json(backbone.path / "config.json"), backbone.weights())
    if config.get("format") == "videoxai-checkpoint" and str(weights).endswith(".safetensors"):
        return demo_footprint(config, safetensors_parameters(weights))
    return None


def footprint_of_resolved(resolved: Mapping[str, Any]) -> Footprint | None:
    """The footprint of a resolved model (``resolved.json``), as :func:`footprint_of_checkpoint` reads it."""
    if resolved.get("format") == RUN_FOLDER_FORMAT:
        folder = Path(resolved["backbone"]["path"])
        weights = [folder / f for f in resolved["backbone"]["files"] if f.endswith((".safetensors", ".bin"))]
        return prompt_tuning_footprint(resolved["model_config"], read_run_json(folder / "config.json"), weights)
    checkpoint = resolved.get("checkpoint")
    if checkpoint and str(checkpoint).endswith(".safetensors") and Path(checkpoint).is_file():
        return footprint_of_checkpoint(checkpoint)
    return None


def prompt_tuning_footprint(
    run_config: Mapping[str, Any], clip_config: Mapping[str, Any], weights: list[Path] | None = None
) -> Footprint:
    """A prompt-tuning run (its ``config.json``) on the CLIP of ``clip_config`` (the backbone's ``config.json``).

    Vision: every frame is a sequence of CLS + patches + the method's per-frame
    tokens (``dual_coop``'s visual prompts, ``stt``'s summary, frame and video
    tokens). Text: one sequence per class of at most 77 tokens.
    """
    opts = RunOptions.from_run_config(run_config)
    v, t = clip_config.get("vision_config", {}), clip_config.get("text_config", {})
    image, patch = int(v.get("image_size", 224)), int(v.get("patch_size", 16))
    grid = image // patch
    per_frame = per_frame_tokens(opts, int(v.get("num_hidden_layers", 12)))
    frames = opts.frames_per_view
    vision = Stack(
        layers=int(v.get("num_hidden_layers", 12)),
        width=int(v.get("hidden_size", 768)),
        mlp=int(v.get("intermediate_size", 3072)),
        heads=int(v.get("num_attention_heads", 12)),
        tokens=1 + grid * grid + per_frame,
        sequences=frames,
    )
    text = Stack(
        layers=int(t.get("num_hidden_layers", 12)),
        width=int(t.get("hidden_size", 512)),
        mlp=int(t.get("intermediate_size", 2048)),
        heads=int(t.get("num_attention_heads", 8)),
        tokens=int(t.get("max_position_embeddings", 77)),
    )
    params = sum(safetensors_parameters(w) for w in weights if str(w).endswith(".safetensors")) if weights else 0
    if not params:  # a .bin backbone, or none given: the stacks' own weights
        params = (
            sum(s.layers * (4 * s.width * s.width + 2 * s.width * s.mlp) for s in (vision, text)) + 49408 * text.width
        )
    return Footprint(
        kind="prompt-tuning",
        method=opts.method,
        params=int(params),
        frames=frames,
        image_size=image,
        temporal_views=opts.temporal_views,
        spatial_views=opts.spatial_views,
        vision=vision,
        joint_tokens=1 + frames * (1 + per_frame) + frames * grid * grid,
        text=text,
        text_per_clip=opts.method == "stt",  # stt's text depends on the clip; vita's, vilt's and the rest's not
        batch_independent=opts.method != "stt",
    )


def demo_footprint(config: Mapping[str, Any], params: int) -> Footprint:
    """A videoxai checkpoint of the demo's families (a divided space-time tower): one joint sequence per view."""
    model = config.get("model", {})
    tower, text = model.get("tower", {}), model.get("text", {})
    spec = config.get("input_spec", {})
    frames, image = int(tower.get("num_frames", spec.get("num_frames", 8))), int(tower.get("image_size", 64))
    grid = image // int(tower.get("patch_size", 8))
    width = int(tower.get("width", 64))
    prefix = 1 + frames * int(tower.get("frame_tokens", 0))
    joint = prefix + frames * grid * grid
    return Footprint(
        kind="demo",
        method=str(config.get("method", "")),
        params=int(params),
        frames=frames,
        image_size=image,
        temporal_views=int(spec.get("num_views", 1)),
        spatial_views=1,
        # temporal, spatial (and summary) factors per block, each over (part of) the joint token set
        vision=Stack(
            layers=int(tower.get("layers", 2)) * 3,
            width=width,
            mlp=int(width * float(tower.get("mlp_ratio", 2.0))),
            heads=int(tower.get("heads", 4)),
            tokens=joint,
        ),
        joint_tokens=joint,
        dense_attention=True,
        text=Stack(
            layers=int(text.get("layers", 1)),
            width=int(text.get("width", 64)),
            mlp=4 * int(text.get("width", 64)),
            heads=int(text.get("heads", 4)),
            tokens=int(text.get("n_ctx", 4)) + int(text.get("max_words", 12)) + 2,
        )
        if text
        else None,
    )
