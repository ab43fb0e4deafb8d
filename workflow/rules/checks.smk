# Nothing goes missing quietly: the checks that run while planning, and the output list `verify` reads
# (its rule is in verify.smk).
#
# While planning (before any job, main process only):
#   * the config against its data and models (videoxai.preflight): dataset roots, num-frames vs the
#     checkpoints' config.json, classes-to-map vs the split's classes, class names, each checkpoint's
#     config.json against workflow/schemas/checkpoint_config.schema.yaml and its weights file's header:
#     errors naming file and field, not failed jobs;
#   * every output already under results/ and figures/, by a cheap structural check (videoxai.checks):
#     a broken one (cut short, zero-filled, not what was written) gets its mtime set to 0, so Snakemake's
#     mtime trigger sees it older than its inputs and reruns the job that makes it, and what was made from it,
#     in this very run (and `-n` shows it). Nothing is deleted. Without the mtime trigger
#     (--rerun-triggers without mtime) the warning names the command that rebuilds it. A file missing from
#     a folder output (a deleted video) dates that folder back the same way: Snakemake sees only the folder.
# `snakemake --cores 1 verify` recomputes nothing: it checks every output of the current config (decoding
# videos and images) and lists what is missing or broken, exiting non-zero when anything is.

import os
import sys

from snakemake.iocontainers import Wildcards

from videoxai.checks import broken_outputs, check_json, rebuild_command
from videoxai.preflight import ConfigError, check_data

VERIFY_FOLDERS = [f"{RESULTS}/{d}" for d in ("models", "predictions", "calibration", "explain", "wandb/records")] + [FIGURES]


def _checkpoint_files(key):
    """(config.json beside a model's checkpoint or None, the weights file or None) when they are there (yet)."""
    mk = ModelKey.parse(key)
    try:
        weights = checkpoint_file(Wildcards(fromdict={"method": mk.method, "train": mk.train, "run": mk.run}))
    except Exception:  # a missing checkpoint is reported, with every place looked, when the job graph is built
        return None, None
    if not weights.endswith((".safetensors", ".pt", ".pth", ".ckpt", ".bin")):
        return None, None  # a wandb artifact record: its files are checked when resolved
    config_json = os.path.join(os.path.dirname(weights), "config.json")
    return (config_json if os.path.isfile(config_json) else None), (weights if os.path.isfile(weights) else None)


def _folder_output(path):
    """The directory() output ``path`` lies in (Snakemake dates it by its .snakemake_timestamp), or None."""
    parent = os.path.dirname(path)
    while parent and parent not in VERIFY_FOLDERS and parent != os.path.dirname(parent):
        if os.path.isfile(os.path.join(parent, ".snakemake_timestamp")):
            return parent
        parent = os.path.dirname(parent)
    return None


def _outdate(path):
    """mtime 0 for ``path`` (if it exists) and for the folder output holding it: Snakemake then reruns its job."""
    if os.path.lexists(path):
        os.utime(path, (0, 0))
    folder = _folder_output(path)
    if folder is not None:
        os.utime(os.path.join(folder, ".snakemake_timestamp"), (0, 0))
        os.utime(folder, (0, 0))


def _outdate_broken_outputs(quiet=False):
    """Mark broken outputs, and files missing from a folder output, outdated so this run rebuilds them; say so."""
    for path, problem in broken_outputs([f for f in VERIFY_FOLDERS if os.path.isdir(f)]):
        _outdate(path)
        if not quiet:
            print(
                f"videoxai: {path} is broken ({problem}): marked outdated (mtime 0), so this run rebuilds it and what "
                f"was made from it; if it does not (--rerun-triggers without mtime): {rebuild_command(path)}",
                file=sys.stderr,
            )
    # a video or map deleted from its folder: Snakemake sees only the folder, so date the folder back
    try:
        expected = expected_outputs()
    except Exception:  # a config the job graph rejects says so itself, in its own words
        return
    for path in expected:
        if not os.path.lexists(path) and _folder_output(path) is not None:
            _outdate(path)
            if not quiet:
                print(f"videoxai: {path} is missing from its folder: the folder is rebuilt in this run", file=sys.stderr)


def expected_outputs():
    """Every output file of the current config (`rule all`'s list, common.smk's all_targets, its two clip folders
    per explainer given file by file): the rendered clips of a selection that exists (else only the selection)."""
    folders = {t.format(**w, explainer=e) for w in analyses() for e in EXPLAINERS for t in (EXPLAIN_VIDEOS, EXPLAIN_MAPS)}
    files = [f for f in all_targets() if f not in folders]
    for w in analyses():
        selection = SELECTION.format(**w)
        try:
            clips = check_json(selection)["clips"] if os.path.isfile(selection) else []
        except Exception:  # reported as broken by the check itself
            clips = []
        for e in EXPLAINERS:
            folder = EXPLAIN_FIG.format(**w, explainer=e)
            for c in clips:
                name = f"class_{c['class_index']}_sample_{c['sample_index']}"
                files += [f"{folder}/video_samples/{name}.mp4", f"{folder}/attention_maps/{name}.png"]
    return files


def _unsplittable_extractions():
    """One line per extraction that cannot fit this local run's memory: a model whose logits depend on the clips
    of its batch (stt) keeps batch-size whatever the memory, so it would be killed instead of shrinking its batch."""
    limit = workflow.global_resources.get("mem_mb").value
    if workflow.nodes is not None or not isinstance(limit, int):
        return []
    threads = min(config["num-workers"] + 1, max(1, workflow.cores // 2))  # extract_predictions' threads
    lines = []
    for w in analyses():
        fp = model_footprint(f"{w['method']}/{w['train']}/{w['run']}")
        if fp is None or fp.batch_independent:
            continue
        need = extract_mem_mb(Wildcards(fromdict=w), threads, 1)
        if need > limit:
            lines.append(
                f"model {w['method']}/{w['train']}/{w['run']}: extracting {w['test']}/{w['split']} needs about {need} MB "
                f"at batch-size {config['batch-size']}, more than the {limit} MB this run may use (--resources mem_mb); "
                f"{w['method']}'s logits depend on the other clips and views of its batch, so its batch is not split: "
                "lower batch-size or num-temporal-views / num-spatial-views, or run it with more memory (docs/resources.md)"
            )
    return lines


# Planning runs in the main process only (a cluster job re-reads this file: no checks there). The job graph's
# settings (targets, rerun triggers) are not known yet while this file is read.
if workflow.is_main_process:
    try:
        _checkpoints = {str(m): _checkpoint_files(str(m)) for m in MODELS}
        check_data(config, TESTS, {k: c for k, (c, _) in _checkpoints.items()}, {k: w for k, (_, w) in _checkpoints.items()})
    except ConfigError as e:
        _fail(str(e))
    _too_big = _unsplittable_extractions()
    if _too_big:
        _fail("this run cannot hold every job:\n" + "".join(f"  - {line}\n" for line in _too_big))
    _outdate_broken_outputs(quiet="verify" in sys.argv[1:])  # verify lists them itself
