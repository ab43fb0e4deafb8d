"""Footprints read from the files a model job loads, and the estimates built on them, behave as documented.

The numbers themselves (estimate vs measured peak) are checked on real runs: the demo workflow and the
ViT-B/16-sized workflow test (tests/workflow/test_real_size.py) compare every job's logged peak with its
declared mem_mb, and benchmarks/resources.py prints both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.unit.test_models_clip import RUN, TINY, VARIANTS, make
from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.demo.real_size import write_backbone, write_run
from videoxai.io import read_json
from videoxai.setup import resources as R
from videoxai.setup.footprint import (
    Footprint,
    footprint_of_checkpoint,
    footprint_of_resolved,
    prompt_tuning_footprint,
    safetensors_parameters,
)

SMALL_CLIP = {  # the ViT-B/16 layout at a small size: 64 px, patch 16 (4 x 4 patches), width 32
    "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 2},
    "vision_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "image_size": 64,
        "patch_size": 16,
    },
    "projection_dim": 16,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A small CLIP in a Hugging Face cache and one run folder per prompt-tuning family, written by the project."""
    root = tmp_path_factory.mktemp("real-size-layout")
    snapshot = write_backbone(root / "hub", config=SMALL_CLIP)
    small = {"stt": {"num-heads-summary-attention": 4, "layers-with-summary-to-text": [0, 1]}}  # width 32
    return {
        m: write_run(root / "runs" / m, m, snapshot, ["a", "b", "c"], small.get(m))
        for m in ("video_coop", "dual_coop", "stt")
    }


@pytest.fixture
def hub(runs, monkeypatch):
    """That cache, offline (huggingface_hub read its environment at import)."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(next(iter(runs.values())).parents[1] / "hub"))


def test_a_prompt_tuning_run_s_footprint_comes_from_its_config_and_its_backbone(runs, hub):
    fps = {m: footprint_of_checkpoint(folder / "best.pt") for m, folder in runs.items()}
    weights = next((runs["stt"].parents[1] / "hub").rglob("model.safetensors"))
    for method, fp in fps.items():
        assert fp.kind == "prompt-tuning" and fp.method == method
        assert fp.params == safetensors_parameters(weights) > 0
        assert (fp.frames, fp.image_size, fp.temporal_views, fp.spatial_views) == (8, 64, 4, 3)  # the upstream's views
        assert (fp.vision.layers, fp.vision.width, fp.vision.heads, fp.vision.sequences) == (3, 32, 4, 8)
        assert fp.text.layers == 3 and fp.text.width == 32
    # CLS + 16 patches per frame, plus the family's per-frame tokens (dual: 8 visual prompts; stt: 1 + 1 + 8)
    assert [fps[m].vision.tokens for m in ("video_coop", "dual_coop", "stt")] == [17, 25, 27]
    assert fps["video_coop"].joint_tokens == 1 + 8 + 8 * 16
    assert fps["stt"].text_per_clip and not fps["stt"].batch_independent
    assert fps["video_coop"].batch_independent and not fps["video_coop"].dense_attention
    assert fps["video_coop"].with_views(1, 1).views == 1 and fps["video_coop"].views == 12


def test_the_resolved_record_gives_the_same_footprint(runs, hub):
    from videoxai.models.checkpoints.resolve import resolve_model

    root = next(iter(runs.values())).parent
    resolved = resolve_model("video_coop/x/y", root, {"video_coop/x/y": str(runs["video_coop"] / "best.pt")})
    assert footprint_of_resolved(resolved) == footprint_of_checkpoint(runs["video_coop"] / "best.pt")


@pytest.mark.parametrize("key", BUNDLED_KEYS)
def test_the_demo_checkpoints_footprints(key):
    weights = bundled_checkpoints_root() / key / "model.safetensors"
    fp = footprint_of_checkpoint(weights)
    config = read_json(weights.parent / "config.json")
    assert fp.kind == "demo" and fp.dense_attention and fp.batch_independent
    assert fp.params >= config["extra"]["train_report"]["parameters"]
    assert (fp.frames, fp.image_size, fp.views) == (8, 64, 1)
    assert fp.joint_tokens == 1 + 8 * config["model"]["tower"]["frame_tokens"] + 8 * 64


def test_a_checkpoint_without_config_has_no_footprint(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    assert footprint_of_checkpoint(tmp_path / "model.pt") is None


def _vit_b16(method: str = "video_coop") -> Footprint:
    from videoxai.demo.real_size import COMMON_RUN, RUNS, VIT_B16_CLIP

    run = {**COMMON_RUN, **RUNS[method], "prompt-optimisation-method": method}
    return dataclasses.replace(prompt_tuning_footprint(run, VIT_B16_CLIP), params=149_620_737)


def test_estimates_grow_with_what_the_job_holds():
    fp = _vit_b16()
    one = R.ExtractJob(1, 1, 1, 0, 101)
    assert R.extract_estimate_mb(fp, one) < R.extract_estimate_mb(fp, dataclasses.replace(one, batch=4))
    assert R.extract_estimate_mb(fp, one) < R.extract_estimate_mb(fp, dataclasses.replace(one, spatial_views=3))
    assert R.extract_estimate_mb(fp, one) < R.extract_estimate_mb(fp, dataclasses.replace(one, workers=2))
    # bfloat16 / float16 extraction holds a 16-bit copy of the weights beside the float32 ones (precision_weights)
    low = R.extract_estimate_mb(fp, dataclasses.replace(one, low_precision=True))
    assert low - R.extract_estimate_mb(fp, one) == pytest.approx(R.weights_mb(fp) / 2)
    for explainer in ("attention-rollout", "grad-rollout", "grad-cam"):
        job = R.ExplainJob(explainer, 1, 101, evaluate=False)
        assert R.explain_estimate_mb(fp, job) < R.explain_estimate_mb(fp, dataclasses.replace(job, evaluate=True))
        assert R.explain_estimate_mb(fp, job) <= R.explain_estimate_mb(fp, dataclasses.replace(job, batch=8))
    # gradient explainers hold one clip's graph whatever the batch; stt (logits depend on the batch) every clip's
    g1, g8 = (R.ExplainJob("grad-rollout", b, 101, evaluate=False) for b in (1, 8))
    assert R.explain_estimate_mb(fp, g8) - R.explain_estimate_mb(fp, g1) < 300
    stt = _vit_b16("stt")
    assert R.explain_estimate_mb(stt, g8) - R.explain_estimate_mb(stt, g1) > 7 * R.graph_mb(stt.vision, 1)


def test_batches_are_chosen_to_fit_the_budget():
    fp = _vit_b16()
    job = R.ExplainJob("attention-rollout", 8, 101)
    for budget in (3000, 6000, 8000, 20000):
        b = R.explain_batch(fp, job, budget)
        assert 1 <= b <= 8
        assert b == 1 or R.declared(R.explain_estimate_mb(fp, dataclasses.replace(job, batch=b))) <= budget
        assert b == 8 or R.declared(R.explain_estimate_mb(fp, dataclasses.replace(job, batch=b + 1))) > budget
    default = R.default_explain_batch(fp, job)
    mem = R.declared(R.explain_estimate_mb(fp, dataclasses.replace(job, batch=default)))
    assert R.explain_batch(fp, job, mem) == default  # the job takes the batch the rule declared its memory for
    views = R.ExtractJob(16, 4, 3, 2, 101)
    assert R.default_extract_batch(fp, views) < 16  # the upstream's 4 x 3 views: a few clips per forward
    assert R.default_extract_batch(fp, dataclasses.replace(views, temporal_views=1, spatial_views=1)) == 16
    assert R.default_extract_batch(_vit_b16("stt"), views) == 16  # its logits depend on the batch: never split
    assert R.extract_batch(_vit_b16("stt"), views, 1000) == 16


def test_declared_adds_headroom_and_rounds_up():
    for mb in (0, 999.9, 1000, 1001, 12345):
        assert R.declared(mb) % 100 == 0
        assert mb * R.HEADROOM + R.SLACK_MB <= R.declared(mb) < mb * R.HEADROOM + R.SLACK_MB + 100


def test_times_grow_with_the_work_and_a_gpu_is_faster():
    fp = _vit_b16()
    job = R.ExtractJob(16, 4, 3, 2, 101)
    cpu = R.extract_minutes(fp, job, 3783, threads=2, gpu=False)
    assert cpu > R.extract_minutes(fp, dataclasses.replace(job, temporal_views=1, spatial_views=1), 3783, 2, False)
    assert R.extract_minutes(fp, job, 3783, threads=2, gpu=True) < cpu
    # the runtime follows the split: 5.3x the clips (Kinetics-400 val, 19,881; UCF101 test, 3783), about 5x the time
    assert R.extract_minutes(fp, job, 19_881, threads=2, gpu=True) >= 5 * R.extract_minutes(fp, job, 3783, 2, True)
    ex = R.ExplainJob("grad-rollout", 1, 101)
    assert R.explain_seconds_per_clip(fp, ex, 1, False) > R.explain_seconds_per_clip(
        fp, dataclasses.replace(ex, evaluate=False), 1, False
    )
    assert R.explain_minutes(fp, ex, 1, 1, False) >= 10


def test_machine_memory():
    assert 100 < R.machine_memory_mb() < 10**8


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_prompt_tuning_family_s_tokens_are_the_model_s(name):
    """The estimate reads a family's tokens from its run config alone (no model built while planning); they are
    the ones the built model lays out: per-frame prefix tokens (visual prompts, vilt's appended contexts, the
    summary and frame tokens of stt and vita) and the joint layout."""
    model = make(name)
    method, opts = VARIANTS[name]
    fp = prompt_tuning_footprint({**RUN, **opts, "prompt-optimisation-method": method}, TINY)
    assert fp.method == method
    assert fp.vision.tokens == 1 + model.grid * model.grid + model.extra_tokens_per_frame
    assert fp.joint_tokens == model.token_layout.num_tokens
    assert fp.batch_independent == model.batch_independent
