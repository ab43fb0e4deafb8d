"""How much memory and time a model job needs, estimated from the model's footprint (no torch).

Every model job declares ``mem_mb`` (and ``runtime``, minutes, for a
cluster) from what it will hold, so Snakemake's local scheduler never runs
more jobs at once than the machine's memory takes, and a SLURM job asks for
what it needs (``--mem``, ``-t``). The estimate is a sum of terms, each the
size of something the job holds (``docs/resources.md`` explains them):

* the interpreter with torch and the decoders (:data:`BASE_MB`), the weights
  (4 bytes a parameter; twice in an explain job that evaluates its maps: the
  sanity check randomises a copy);
* clips in flight: the decoded input of each batch (float32) and the frames
  kept for the heatmaps file, times the batches the loader's workers prefetch;
* the working set of a forward pass: one layer's activations for every
  sequence of the batch at once (:func:`forward_mb`), plus for explainers the
  attention they keep (per-frame blocks, or dense joint matrices for the demo
  tower), the dense ``(N, N)`` rollout products, and for gradient explainers
  the autograd graph of one clip (:func:`graph_mb`; of the whole batch for
  models whose logits depend on the batch, ``stt``);
* an explain job's evaluation: deletion/insertion's forward of
  :data:`DELETION_CHUNK` perturbed clips at once, and the randomised copy.

The coefficients are calibrated by ``benchmarks/resources.py``, which runs
each job kind on the demo's models and on a ViT-B/16-sized CLIP and prints the
measured peak beside the estimate; the declaration adds :data:`HEADROOM` and
:data:`SLACK_MB` on top. Times are FLOPs over a measured rate (CPU) or an
assumed one (GPU: none was lent to measure), with the same kind of headroom.

The batch of a model job is itself chosen from the memory budget: the
largest batch (up to the configured one) whose estimate fits the job's
``mem_mb`` (:func:`fitting_batch`), which by default is the estimate at the
largest batch whose forward working set stays within :data:`FORWARD_BUDGET_MB`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from videoxai.setup.footprint import Footprint, Stack

MB = 1e6
FLOAT = 4  # bytes: every model runs in float32 (precision options would halve the activations)

# ---- calibration (benchmarks/resources.py; docs/resources.md) ----
BASE_MB = 800  # python with torch, transformers, the decoders and the package imported (torch alone: 700)
EXTRACT_EXTRA_MB = 250  # an extraction job's Parquet writer and decoding state beside that
WORKER_MB = 150  # a decoding worker's own pages (a 320x240 clip's decoded frames, resize buffers)
PREFETCH = 4  # batches each decoding worker prepares ahead (videoxai.data.loader.make_loader)
FORWARD_FIXED = 0.5  # the first forward's allocator arenas and kernel workspaces, per MB of weights (ViT-B/16: 300)
# one layer's forward, floats per token: activations of the width and of the MLP; attention scores per token and head
FORWARD_WIDTH, FORWARD_MLP, FORWARD_SCORES = 8.0, 2.0, 1.2
# an autograd graph, per token and layer: saved activations of the width and the MLP; scores per token and head
GRAPH_WIDTH, GRAPH_MLP, GRAPH_SCORES = 6.0, 2.0, 2.0
DELETION_CHUNK = 17  # perturbed clips per forward in deletion/insertion (videoxai.explain.evaluate)
HEADROOM = 1.25  # declared = estimate x HEADROOM + SLACK_MB
SLACK_MB = 300
FORWARD_BUDGET_MB = 2500  # the default batch keeps a forward's working set within this
# ---- time ----
CPU_GFLOPS = 55.0  # float32 GFLOP/s of one thread of the calibration machine's CPU (2-core Xeon)
CPU_THREAD_GAIN = 0.25  # what each further thread adds (2 threads: 1.25x one)
GPU_GFLOPS = 5000.0  # assumed for a data-centre GPU in float32 (not measured: no GPU was lent)
# compile: true (videoxai.setup.device.compiled): inductor's graphs and frozen weights beside the model, per MB of
# weights (a ViT-B/16 video_coop, 600 MB of weights: +0.95 GB float32 measured), and the compilations: one per
# batch shape (the full batch, the last one), 30-70 s each for a ViT-B/16 on 2 cores
COMPILE_MEMORY = 2.0
COMPILE_SECONDS = 180.0
LOAD_SECONDS = 30.0  # start, imports, loading the model and the text features (a ViT-B/16 CLIP: 8-12 s)
TIME_HEADROOM = 2.0
EXPLICIT_ATTENTION = 1.5  # a forward with explicit attention probabilities vs the fused kernel
BACKWARD = 3.0  # a forward and a backward pass vs a forward

# the explainers by what they hold: rollouts keep attention, gradient methods an autograd graph
ROLLOUTS = frozenset({"attention-rollout", "attention-rollout-cls", "attention-rollout-cls-weighted"})
GRADIENTS = frozenset({"grad-rollout", "grad-cam", "legrad"})
# perturbation explainers: no graph, no attention; forwards of perturbation-batch masked copies, many per clip
PERTURBATIONS = frozenset({"occlusion", "rise"})

# what jobs of models without a footprint (torchvision, custom) declare, as before these estimates
FALLBACK_MB = {"extract": 6000, "explain": 6000, "resolve": 4000}


def weights_mb(fp: Footprint) -> float:
    return fp.params * FLOAT / MB


def fixed_mb(fp: Footprint) -> float:
    """What the first forward allocates whatever the batch (allocator arenas, kernel workspaces)."""
    return FORWARD_FIXED * weights_mb(fp)


def clip_mb(fp: Footprint, views: int = 1, frames_kept: bool = False) -> float:
    """One clip's model input (float32, ``views`` views), and the uint8 frames an explain job keeps."""
    pixels = fp.frames * fp.image_size * fp.image_size * 3
    return (views * pixels * FLOAT + (pixels if frames_kept else 0)) / MB


def forward_mb(stack: Stack, copies: float) -> float:
    """The working set of one layer's forward over ``copies`` times the stack's sequences (the largest layer)."""
    tokens = copies * stack.sequences * stack.tokens
    scores = copies * stack.sequences * stack.heads * stack.tokens**2
    return (tokens * (FORWARD_WIDTH * stack.width + FORWARD_MLP * stack.mlp) + FORWARD_SCORES * scores) * FLOAT / MB


def graph_mb(stack: Stack, copies: float) -> float:
    """The autograd graph of every layer of ``copies`` times the stack's sequences (what backward needs)."""
    tokens = copies * stack.sequences * stack.tokens
    scores = copies * stack.sequences * stack.heads * stack.tokens**2
    per_layer = tokens * (GRAPH_WIDTH * stack.width + GRAPH_MLP * stack.mlp) + GRAPH_SCORES * scores
    return stack.layers * per_layer * FLOAT / MB


def attention_mb(fp: Footprint) -> float:
    """One layer's attention of one clip as an explainer keeps it: per-frame blocks, or the dense joint matrix."""
    s = fp.vision
    per_layer = s.heads * fp.joint_tokens**2 if fp.dense_attention else s.sequences * s.heads * s.tokens**2
    return per_layer * FLOAT / MB


def joint_mb(fp: Footprint) -> float:
    """One dense ``(N, N)`` matrix of one clip (a fused layer, a rollout product)."""
    return fp.joint_tokens**2 * FLOAT / MB


def text_stack(fp: Footprint, classes: int) -> Stack | None:
    """The text stack over every class prompt."""
    if fp.text is None:
        return None
    t = fp.text
    return Stack(t.layers, t.width, t.mlp, t.heads, t.tokens, sequences=max(1, classes))


def declared(estimate_mb: float) -> int:
    """What a job declares for an estimate: with headroom, rounded up to 100 MB."""
    return int(math.ceil((estimate_mb * HEADROOM + SLACK_MB) / 100.0) * 100)


# ----------------------------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class ExtractJob:
    """An extraction job's settings that set its memory: clips per batch, views, decoding workers, classes."""

    batch: int
    temporal_views: int
    spatial_views: int
    workers: int
    classes: int
    augmentations: int = 1  # test-time augmentation: one forward of batch x augmentations clips
    low_precision: bool = False  # precision bfloat16/float16: a 16-bit copy of the weights beside the float32 ones
    compiled: bool = False  # compile: true


def extract_estimate_mb(fp: Footprint, job: ExtractJob) -> float:
    """Peak memory of an extraction job, MB (before headroom)."""
    views = job.temporal_views * job.spatial_views
    batch_in = job.batch * clip_mb(fp, views) * job.augmentations
    in_flight = (job.workers * PREFETCH + 2) * batch_in
    # augmentations run as one forward (extract.run), except stt's, whose logits depend on its batch
    together = 1 if fp.text_per_clip else job.augmentations
    working = forward_mb(fp.vision, job.batch * views * together)
    text = text_stack(fp, job.classes)
    if text is not None:
        working = max(working, forward_mb(text, job.batch * views if fp.text_per_clip else 1))
    weights = weights_mb(fp) * (1.5 if job.low_precision else 1.0)  # videoxai.setup.device.precision_weights
    weights += weights_mb(fp) * COMPILE_MEMORY if job.compiled else 0.0
    return BASE_MB + EXTRACT_EXTRA_MB + weights + in_flight + fixed_mb(fp) + working + job.workers * WORKER_MB


# ----------------------------------------------------------------------------------------------- explanation


@dataclass(frozen=True)
class ExplainJob:
    """An explain job's settings that set its memory: explainer, clips per batch, classes, evaluation."""

    explainer: str
    batch: int
    classes: int
    evaluate: bool = True
    deletion_steps: int = 16  # deletion/insertion runs min(steps + 1, DELETION_CHUNK) perturbed clips at once
    perturbation_batch: int = 16  # occlusion / RISE: masked copies per forward
    perturbation_forwards: int = 256  # occlusion / RISE: masked forwards per clip (boxes or rise-masks)


def explain_estimate_mb(fp: Footprint, job: ExplainJob) -> float:
    """Peak memory of an explain job, MB (before headroom)."""
    b = job.batch
    graph_clips = 1 if fp.batch_independent else b
    text = text_stack(fp, job.classes)
    inputs = 2 * b * clip_mb(fp, 1, frames_kept=True)  # the decoded batch and its copy on the device
    if job.explainer in PERTURBATIONS:  # the copies, their masks and the fill, and one forward of the copies
        copies = job.perturbation_batch
        explaining = forward_mb(fp.vision, copies) + 3 * copies * clip_mb(fp) + b * clip_mb(fp)
        if text is not None and fp.text_per_clip:
            explaining += forward_mb(text, copies)
    elif job.explainer in GRADIENTS:
        explaining = graph_mb(fp.vision, graph_clips) + forward_mb(fp.vision, graph_clips)
        if text is not None and fp.text_per_clip:
            explaining += graph_mb(text, graph_clips)
        if job.explainer in ("grad-rollout", "legrad"):  # every layer's attention and its gradient, then the products
            explaining += graph_clips * fp.vision.layers * 2 * attention_mb(fp) + b * 3 * joint_mb(fp)
    else:  # one forward with explicit attention over the batch (scores and probabilities of one layer at a time),
        # every layer's attention kept until folded in, the fused layer, its normalised copy and the product
        layer = (fp.vision.layers + 2) * attention_mb(fp)
        explaining = forward_mb(fp.vision, b) + b * (layer + 3 * joint_mb(fp))
        if text is not None and fp.text_per_clip:
            explaining += forward_mb(text, b)
    if text is not None and not fp.text_per_clip:
        explaining = max(explaining, forward_mb(text, 1))  # the text features, computed once
    peak = BASE_MB + weights_mb(fp) + inputs + fixed_mb(fp) + explaining
    if job.evaluate:
        clips = min(DELETION_CHUNK, job.deletion_steps + 1)
        deletion = forward_mb(fp.vision, clips) + 4 * clips * clip_mb(fp)
        if text is not None and fp.text_per_clip:
            deletion = max(deletion, forward_mb(text, clips))
        # the sanity check explains again with a randomised copy of the model
        peak = max(peak, BASE_MB + weights_mb(fp) + inputs + fixed_mb(fp) + deletion) + weights_mb(fp)
    return peak


# ----------------------------------------------------------------------------------------------- batches


def fitting_batch(estimate, most: int, budget_mb: float) -> int:
    """The largest batch ``b <= most`` with ``estimate(b) <= budget_mb`` (1 when even one does not fit)."""
    best = 1
    for b in range(1, max(1, most) + 1):
        if estimate(b) <= budget_mb:
            best = b
        else:
            break
    return best


def default_extract_batch(fp: Footprint, job: ExtractJob) -> int:
    """The clips per batch an extraction job takes by default: the configured ``batch-size``, fewer where a
    forward of that many would pass :data:`FORWARD_BUDGET_MB` (never for a model whose logits depend on the batch)."""
    if not fp.batch_independent:
        return job.batch
    views = job.temporal_views * job.spatial_views
    return fitting_batch(lambda b: forward_mb(fp.vision, b * views), job.batch, FORWARD_BUDGET_MB)


def extract_batch(fp: Footprint, job: ExtractJob, mem_mb: float) -> int:
    """The clips per batch that fit the job's ``mem_mb`` (up to ``job.batch``; all of it for batch-dependent models)."""
    if not fp.batch_independent:
        return job.batch
    return fitting_batch(lambda b: declared(extract_estimate_mb(fp, _with_batch(job, b))), job.batch, mem_mb)


def default_explain_batch(fp: Footprint, job: ExplainJob) -> int:
    """Clips explained together by default: up to ``job.batch`` (the selection), as many as keep a forward's
    working set within :data:`FORWARD_BUDGET_MB`."""

    def working(b: int) -> float:
        return explain_estimate_mb(fp, _with_batch(job, b)) - explain_estimate_mb(fp, _with_batch(job, 1))

    return fitting_batch(lambda b: working(b) + forward_mb(fp.vision, 1), job.batch, FORWARD_BUDGET_MB)


def explain_batch(fp: Footprint, job: ExplainJob, mem_mb: float) -> int:
    """The clips per batch that fit the job's ``mem_mb`` (up to ``job.batch``)."""
    return fitting_batch(lambda b: declared(explain_estimate_mb(fp, _with_batch(job, b))), job.batch, mem_mb)


def _with_batch(job, batch: int):
    return type(job)(**{**job.__dict__, "batch": batch})


# ----------------------------------------------------------------------------------------------- time


def rate_gflops(threads: int, gpu: bool) -> float:
    """FLOP rate a job gets: the assumed GPU's, or the CPU's for ``threads`` threads."""
    if gpu:
        return GPU_GFLOPS
    return CPU_GFLOPS * (1 + CPU_THREAD_GAIN * (max(1, threads) - 1))


def forward_gflop(fp: Footprint, classes: int, views: int = 1) -> float:
    """GFLOP of a forward of one clip over ``views`` views (the text stack too where it depends on the clip)."""
    flops = fp.vision.matmul_flops() * views
    text = text_stack(fp, classes)
    if text is not None and fp.text_per_clip:
        flops += text.matmul_flops() * views
    return flops / 1e9


def extract_minutes(fp: Footprint, job: ExtractJob, clips: int, threads: int, gpu: bool) -> int:
    """A cluster ``runtime`` (minutes) for extracting ``clips`` clips."""
    views = job.temporal_views * job.spatial_views
    rate = rate_gflops(threads, gpu)
    seconds = clips * job.augmentations * forward_gflop(fp, job.classes, views) / rate
    seconds += COMPILE_SECONDS if job.compiled else 0.0
    return _minutes(seconds + _text_seconds(fp, job.classes, rate))


def explain_seconds_per_clip(
    fp: Footprint, job: ExplainJob, threads: int, gpu: bool, deletion_steps: int = 16, sanity_steps: int = 4
) -> float:
    """Seconds one clip costs an explain job: the explanation and, when evaluating, deletion/insertion
    (4 curves of ``deletion_steps + 1`` forwards) and ``sanity_steps`` explanations of randomised copies."""
    rate = rate_gflops(threads, gpu)
    forward = forward_gflop(fp, job.classes)
    products = fp.vision.layers * 2 * fp.joint_tokens**3 / 1e9 if job.explainer != "grad-cam" else 0.0
    factor = BACKWARD if job.explainer in GRADIENTS else EXPLICIT_ATTENTION
    explain = factor * forward + products
    if job.explainer in PERTURBATIONS:
        explain = (1 + job.perturbation_forwards) * forward
    total = explain
    if job.evaluate:
        total += 4 * (deletion_steps + 1) * forward + sanity_steps * explain
    return total / rate


def explain_minutes(
    fp: Footprint,
    job: ExplainJob,
    clips: int,
    threads: int,
    gpu: bool,
    deletion_steps: int = 16,
    sanity_steps: int = 4,
) -> int:
    """A cluster ``runtime`` (minutes) for explaining ``clips`` clips."""
    per_clip = explain_seconds_per_clip(fp, job, threads, gpu, deletion_steps, sanity_steps)
    return _minutes(clips * per_clip + _text_seconds(fp, job.classes, rate_gflops(threads, gpu)))


def _text_seconds(fp: Footprint, classes: int, rate: float) -> float:
    text = text_stack(fp, classes)
    return 0.0 if text is None or fp.text_per_clip else text.matmul_flops() / 1e9 / rate


def _minutes(seconds: float) -> int:
    return max(10, int(math.ceil((LOAD_SECONDS + seconds) * TIME_HEADROOM / 60.0)))


def machine_memory_mb() -> int:
    """This machine's memory, MB, or its container's limit where lower (cgroup v2 ``memory.max``, v1 ``limit_in_bytes``)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total // MB)
