"""A real-size stand-in for a researcher's setup: a ViT-B/16-shaped CLIP, prompt-tuning run folders, UCF101-sized clips.

Everything the workflow reads, at the sizes it meets in practice, made here
without a download: the real-size test (``tests/workflow/test_real_size.py``)
and ``benchmarks/resources.py`` run the workflow on it to measure and check
memory and time per job.

* :func:`write_backbone`: a randomly initialised ``transformers`` CLIP with
  ``openai/clip-vit-base-patch16``'s shapes (149.6 M parameters; vision width
  768, 12 layers, 12 heads, patch 16 at 224 px; text width 512, 12 layers, 8
  heads) in a Hugging Face cache, with CLIP's BPE tokenizer files (built from
  open_clip's bundled vocabulary, the same ids);
* :func:`write_run`: a run folder of the upstream's training code
  (``config.json`` with the upstream's keys, ``best.pt`` holding
  ``context_state_dict``), written from a model built by videoxai's own
  prompt-tuning builder on that backbone;
* :func:`write_clips`: a UCF101-layout dataset of 320 x 240 H.264 clips
  (the demo's moving shapes, padded to UCF101's frame size).

Random weights: the numbers mean nothing; the memory and time do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.io import atomic_path, write_json, write_text

BACKBONE = "openai/clip-vit-base-patch16"
VIT_B16_CLIP: dict[str, Any] = {  # openai/clip-vit-base-patch16's shapes (transformers.CLIPConfig keywords)
    "text_config": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12, "num_attention_heads": 8},
    "vision_config": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "image_size": 224,
        "patch_size": 16,
    },
    "projection_dim": 512,
}
# the architecture keys of the upstream's published run configs (models/configs/{method}/*best*.json), its views
RUNS: dict[str, dict[str, Any]] = {
    "video_coop": {"ctx-len": 8, "ctx-len-video": 0, "temporal-pooling": "attention"},
    "dual_coop": {
        "ctx-len": 8,
        "ctx-len-video": 8,
        "keep-vision-prompts-throughout": False,
        "temporal-pooling": "mean",
    },
    "stt": {
        "ctx-len": 8,
        "ctx-len-video": 8,
        "num-frames": 8,
        "num-frame-tokens": 1,
        "num-heads-summary-attention": 12,
        "layers-with-summary-to-text": list(range(10)),
    },
    "vidop": {"ctx-len-video": 8, "keep-vision-prompts-throughout": False, "temporal-pooling": "attention"},
    "vilt": {  # layers 0-4: text prompts translated to vision; 5-9: vision prompts translated to text; 10-11 plain
        "ctx-len": 8,
        "ctx-len-video": 8,
        "num-tokens-per-layer-text": 4,
        "num-tokens-per-layer-vision": 4,
        "modality-transfer-text": [[[i], []] if i < 5 else [[], [i]] if i < 10 else [[], []] for i in range(12)],
        "modality-transfer-vision": [[[], [i]] if i < 5 else [[i], []] if i < 10 else [[], []] for i in range(12)],
    },
    "vita": {
        "ctx-len": 8,
        "ctx-len-video": 8,
        "num-frames": 8,
        "num-frame-tokens": 1,
        "num-heads-summary-attention": 12,
        "has-discriminative-conditioning": True,
    },
}
COMMON_RUN: dict[str, Any] = {
    "clip-model": BACKBONE,
    "num-frames-temporal": 8,
    "num-temporal-views": 4,
    "num-spatial-views": 3,
    "regularisation-text": "A video of a person doing",
    "num-heads-attention-pooling": 1,
    "std-init": 0.02,
    "dataset-config": {"remove-black-strips": False, "resized-cache-protocol": None},
    "dataset": "ucf101",
}
UCF101_SIZE = (240, 320)  # height, width of UCF101's clips


def write_backbone(
    hub_cache: str | os.PathLike[str],
    name: str = BACKBONE,
    config: Mapping[str, Any] = VIT_B16_CLIP,
    seed: int = 0,
    revision: str = "0" * 39 + "1",
) -> Path:
    """A random CLIP of ``config``'s shapes as the snapshot of ``name`` in the hub cache ``hub_cache``.

    Laid out as huggingface_hub caches a download (``models--{org}--{name}/snapshots/{revision}``,
    ``refs/main``), so ``HF_HUB_CACHE=hub_cache`` (or ``HF_HOME`` one folder up) finds it offline.
    Returns the snapshot folder.
    """
    import torch
    from transformers import CLIPConfig, CLIPModel

    snapshot = Path(hub_cache) / f"models--{name.replace('/', '--')}" / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    CLIPModel(CLIPConfig(**config)).save_pretrained(snapshot)
    write_tokenizer(snapshot)
    write_text(snapshot.parents[1] / "refs" / "main", revision)
    return snapshot


def write_tokenizer(folder: str | os.PathLike[str]) -> None:
    """CLIP's BPE tokenizer files in ``folder``, from open_clip's bundled vocabulary (CLIP's own ids)."""
    import tempfile

    from open_clip.tokenizer import SimpleTokenizer
    from transformers import CLIPTokenizer

    st = SimpleTokenizer()
    names = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}  # Hugging Face's spelling
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = Path(tmp) / "vocab.json", Path(tmp) / "merges.txt"
        vocab.write_text(json.dumps({names.get(k, k): v for k, v in st.encoder.items()}))
        ranked = sorted(st.bpe_ranks, key=st.bpe_ranks.get)
        merges.write_text("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in ranked))
        CLIPTokenizer(str(vocab), str(merges), pad_token="<|endoftext|>", model_max_length=77).save_pretrained(folder)


def write_run(
    folder: str | os.PathLike[str],
    method: str,
    backbone: str | os.PathLike[str],
    class_names: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """A prompt-tuning run folder (``config.json``, ``best.pt``) of ``method`` on the CLIP in folder ``backbone``.

    The model is built by videoxai's prompt-tuning builder with a freshly initialised context (seeded), and
    ``best.pt`` holds its ``context_state_dict`` as the upstream's training code saves it. ``config.json``
    names the backbone as ``clip-model`` (the Hub id :func:`write_backbone` cached).
    """
    import torch

    from videoxai.models.families.prompt_tuning import build_prompt_tuning_model
    from videoxai.models.families.prompt_tuning.run_folder import load_backbone

    run = {**COMMON_RUN, **RUNS[method], "prompt-optimisation-method": method, **dict(overrides or {})}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = build_prompt_tuning_model(run, list(class_names), load_backbone(backbone), method=method)
    with atomic_path(folder / "best.pt") as tmp:
        torch.save({"context_state_dict": {k: v.detach().clone() for k, v in model.context_state_dict().items()}}, tmp)
    write_json(folder / "config.json", run)
    return folder


def write_clips(
    root: str | os.PathLike[str],
    classes: Sequence[str],
    clips_per_class: int,
    frames: int = 100,
    fps: int = 25,
    seed: int = 0,
) -> list[str]:
    """A UCF101-layout test split under ``root``: ``clips_per_class`` 320 x 240 H.264 clips of each class.

    Each clip is the demo's moving shape (:func:`videoxai.demo.dataset.make_clip`, the class index taken
    modulo the demo's classes) at 240 x 240, padded at the sides to UCF101's 320 x 240. Writes
    ``classInd.txt``, ``testlist01.txt`` and ``trainlist01.txt`` (the same clips, for the reader's sake);
    returns the clips' paths relative to ``root``.
    """
    from videoxai.data.encode import Codec, write_frames
    from videoxai.demo.dataset import DEMO_CLASSES, make_clip

    root = Path(root)
    height, width = UCF101_SIZE
    pad = (width - height) // 2
    codec = Codec("libx264", "yuv420p", {"crf": "23", "preset": "veryfast"})
    rels = []
    for k, name in enumerate(classes):
        for c in range(clips_per_class):
            rel = f"{name}/v_{name}_g{c + 1:02d}_c01.mp4"
            rng = np.random.default_rng([seed, k, c])
            clip, _ = make_clip(k % len(DEMO_CLASSES), rng, frames, height)
            clip = np.pad(clip, ((0, 0), (0, 0), (pad, width - height - pad), (0, 0)), mode="edge")
            (root / name).mkdir(parents=True, exist_ok=True)
            write_frames(root / rel, clip, codec, fps, threads=1)
            rels.append(rel)
    write_text(root / "classInd.txt", "".join(f"{i + 1} {c}\n" for i, c in enumerate(classes)))
    write_text(root / "testlist01.txt", "".join(f"{r}\n" for r in rels))
    labels = {c: i + 1 for i, c in enumerate(classes)}
    write_text(root / "trainlist01.txt", "".join(f"{r} {labels[r.split('/')[0]]}\n" for r in rels))
    return rels
